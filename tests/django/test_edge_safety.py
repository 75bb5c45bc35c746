"""Django: cookies set after the view (CSRF, sessions), statuses that are not shareable, and the
system check for the middleware order. The URLconf is this module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.core import checks
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.test import Client
from django.urls import path
from pytest_django import Settings as SettingsWrapper

from serverless_cache.django import edge_cache
from serverless_cache.django.checks import check_edge_middleware
from serverless_cache.http.safety import forget_logged

SHARED = "public, max-age=60, s-maxage=600"
DOWNGRADED = "private, max-age=60"
EDGE = "serverless_cache.django.middleware.EdgeCacheMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
pytestmark = pytest.mark.urls(__name__)


@edge_cache(public=True, max_age=60, s_maxage=600)
def form(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"<input name=csrfmiddlewaretoken value={get_token(request)}>")


@edge_cache(public=True, max_age=60, s_maxage=600)
def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("page")


@edge_cache(public=True, max_age=60, s_maxage=600)
def login_redirect(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/login/")


@edge_cache(public=True, max_age=60, s_maxage=600, force_shared=True)
def limited(request: HttpRequest) -> HttpResponse:
    return HttpResponse("slow down", status=429)


@edge_cache(public=True, max_age=60, s_maxage=600)
def gone(request: HttpRequest) -> HttpResponse:
    return HttpResponse("gone", status=410)


def plain_redirect(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/elsewhere/")


urlpatterns = [
    path("form/", form),
    path("page/", page),
    path("login-redirect/", login_redirect),
    path("limited/", limited),
    path("gone/", gone),
    path("plain-redirect/", plain_redirect),
]


@pytest.fixture(autouse=True)
def edge_settings(settings: SettingsWrapper) -> Iterator[SettingsWrapper]:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.SERVERLESS_CACHE_EDGE_DEFAULT = {"public": True, "max_age": 60, "s_maxage": 600}
    forget_logged()
    yield settings
    forget_logged()


def session_key() -> str:
    session = SessionStore()
    session["user"] = "ann"
    session.save()
    return str(session.session_key)


# -- the decorator alone sees the cookies the middleware will set after it -------------------
def test_csrf_cookie_set_after_the_view_downgrades(settings: SettingsWrapper) -> None:
    settings.MIDDLEWARE = [SESSION, CSRF]
    response = Client().get("/form/")
    assert "csrftoken" in response.cookies
    assert response["Cache-Control"] == DOWNGRADED
    assert Client().get("/page/")["Cache-Control"] == SHARED


def test_csrf_in_the_session_downgrades(settings: SettingsWrapper) -> None:
    settings.MIDDLEWARE = [SESSION, CSRF]
    settings.CSRF_USE_SESSIONS = True
    response = Client().get("/form/")
    assert "sessionid" in response.cookies
    assert response["Cache-Control"] == DOWNGRADED


def test_session_saved_on_every_request_downgrades(settings: SettingsWrapper) -> None:
    settings.MIDDLEWARE = [SESSION]
    client = Client()
    client.cookies["sessionid"] = session_key()
    assert client.get("/page/")["Cache-Control"] == SHARED
    settings.SESSION_SAVE_EVERY_REQUEST = True
    response = client.get("/page/")
    assert "sessionid" in response.cookies
    assert response["Cache-Control"] == DOWNGRADED
    # without a session there is nothing to save
    assert Client().get("/page/")["Cache-Control"] == SHARED


def test_session_cookie_the_middleware_deletes_downgrades(settings: SettingsWrapper) -> None:
    settings.MIDDLEWARE = [SESSION]
    client = Client()
    client.cookies["sessionid"] = "x"  # too short to be a session key: the session is empty
    response = client.get("/page/")
    assert response.cookies["sessionid"]["max-age"] == 0
    assert response["Cache-Control"] == DOWNGRADED


# -- statuses --------------------------------------------------------------------------------
@pytest.mark.parametrize("middleware", [[EDGE, SESSION], [SESSION]])
def test_redirects_and_rate_limits_are_not_shared(
    settings: SettingsWrapper, middleware: list[str]
) -> None:
    settings.MIDDLEWARE = middleware
    client = Client()
    assert client.get("/login-redirect/")["Cache-Control"] == DOWNGRADED
    assert client.get("/limited/")["Cache-Control"] == DOWNGRADED  # even with force_shared
    assert client.get("/gone/")["Cache-Control"] == SHARED


def test_middleware_default_policy_follows_the_status(settings: SettingsWrapper) -> None:
    settings.MIDDLEWARE = [EDGE]
    client = Client()
    assert client.get("/plain-redirect/")["Cache-Control"] == DOWNGRADED
    assert client.get("/missing/")["Cache-Control"] == SHARED  # 404 is cached by default


# -- the system check ------------------------------------------------------------------------
def test_check_is_registered() -> None:
    assert check_edge_middleware in checks.registry.registry.get_checks()


def check_ids() -> list[str]:
    return [message.id for message in check_edge_middleware(None)]


def test_check_warns_when_the_middleware_is_not_first(settings: SettingsWrapper) -> None:
    settings.MIDDLEWARE = [SESSION, EDGE, CSRF]
    [warning] = check_edge_middleware(None)
    assert warning.id == "serverless_cache.W001"
    assert warning.level == checks.WARNING
    assert "first in MIDDLEWARE" in warning.msg


def test_check_warns_when_the_middleware_is_missing(settings: SettingsWrapper) -> None:
    settings.MIDDLEWARE = [SESSION]
    assert check_ids() == ["serverless_cache.W002"]
    settings.MIDDLEWARE = [CSRF]
    [warning] = check_edge_middleware(None)
    assert warning.id == "serverless_cache.W002"
    assert "EdgeCacheMiddleware" in str(warning.hint)


def test_check_is_quiet_when_all_is_well(settings: SettingsWrapper) -> None:
    settings.MIDDLEWARE = [EDGE, SESSION, CSRF]
    assert check_ids() == []
    settings.MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
    assert check_ids() == []  # nothing sets cookies after the view
    settings.MIDDLEWARE = [SESSION, CSRF]
    settings.ROOT_URLCONF = "tests.django_urls"  # no route uses edge_cache
    assert check_ids() == []
