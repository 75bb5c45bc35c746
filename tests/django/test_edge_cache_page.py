"""``edge_cache`` with Django's ``cache_page``: the safe order (cache_page outside) through the
test client and the real Mangum handler, and system check W003 for the other order. The
URLconf is this module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.core import checks
from django.core.asgi import get_asgi_application
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.views.decorators.cache import cache_page
from django.views.decorators.vary import vary_on_headers
from mangum import Mangum
from pytest_django import Settings as SettingsWrapper

from serverless_cache.django import edge_cache
from serverless_cache.django.checks import check_cache_page_order
from serverless_cache.django.edge import wraps_cache_page
from serverless_cache.http.safety import forget_logged
from tests.fixtures.edge_callers import Answer, assert_not_shared, lambda_answer

EDGE = "serverless_cache.django.middleware.EdgeCacheMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
pytestmark = pytest.mark.urls(__name__)


def greeting(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello {request.session.get('user', 'anonymous')}")


safe = cache_page(60)(edge_cache(public=True, max_age=60, s_maxage=600)(greeting))
unsafe = edge_cache(public=True, max_age=60, s_maxage=600)(cache_page(60)(greeting))
unsafe_deeper = edge_cache(public=True, s_maxage=600)(
    vary_on_headers("Accept")(cache_page(60)(greeting))
)

urlpatterns = [
    path("safe/", safe, name="safe"),
    path("unsafe/", unsafe, name="unsafe"),
]


@pytest.fixture(autouse=True)
def edge_settings(settings: SettingsWrapper) -> Iterator[SettingsWrapper]:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.MIDDLEWARE = [EDGE, SESSION]
    caches["default"].clear()
    forget_logged()
    yield settings
    caches["default"].clear()
    forget_logged()


def session_cookie() -> str:
    session = SessionStore()
    session["user"] = "ann"
    session.save()
    return f"sessionid={session.session_key}"


def send(transport: str, path_: str, cookie: str | None) -> tuple[Answer, bytes]:
    headers = {"Cookie": cookie} if cookie else {}
    if transport == "client":
        client = Client()
        if cookie:
            client.cookies[cookie.partition("=")[0]] = cookie.partition("=")[2]
        response = client.get(path_)
        found = {name.lower(): [value] for name, value in response.items()}
        return Answer(response.status_code, found), response.content
    handler = Mangum(get_asgi_application(), lifespan="off")
    answer = lambda_answer(handler, transport, path_, "GET", headers)
    return answer, b""


@pytest.mark.parametrize("transport", ["client", "rest", "http"])
@pytest.mark.parametrize("first", ["logged-in", "anonymous"])
def test_cache_page_outside_edge_cache_never_shares_a_session_page(
    transport: str, first: str
) -> None:
    order = ["logged-in", "anonymous"] if first == "logged-in" else ["anonymous", "logged-in"]
    for who in order + order:  # the second round is answered by cache_page where it may be
        cookie = session_cookie() if who == "logged-in" else None
        answer, body = send(transport, "/safe/", cookie)
        if who == "logged-in":
            assert_not_shared(answer)
        else:
            assert answer.one("Cache-Control") == "public, max-age=60, s-maxage=600"
            assert "Cookie" in (answer.one("Vary") or "")
        if transport == "client":
            assert body == (b"hello ann" if who == "logged-in" else b"hello anonymous")


def test_the_other_order_is_why_the_check_exists() -> None:
    """cache_page inside stores ann's page before Vary: Cookie is added, and serves it."""
    ann = Client()
    ann.cookies["sessionid"] = session_cookie().partition("=")[2]
    assert ann.get("/unsafe/").content == b"hello ann"
    assert Client().get("/unsafe/").content == b"hello ann"


def test_check_w003_names_the_views_with_edge_cache_outside() -> None:
    [warning] = check_cache_page_order(None)
    assert warning.id == "serverless_cache.W003"
    assert warning.level == checks.WARNING
    assert "unsafe at /unsafe" in warning.msg
    assert "cache_page outside (above) @edge_cache" in str(warning.hint)
    assert check_cache_page_order in checks.registry.registry.get_checks()


def test_cache_page_is_found_through_other_decorators() -> None:
    assert wraps_cache_page(cache_page(60)(greeting))
    assert wraps_cache_page(vary_on_headers("Accept")(cache_page(60)(greeting)))
    assert getattr(unsafe_deeper, "serverless_cache_wraps_cache_page", False)
    assert not wraps_cache_page(greeting)
    assert not wraps_cache_page(edge_cache(public=True, max_age=5)(greeting))
    assert not getattr(safe, "serverless_cache_wraps_cache_page", False)
