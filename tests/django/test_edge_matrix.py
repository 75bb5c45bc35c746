"""Django edge safety, case x caller x method x transport: no per-user response leaves with a
shared lifetime, through the test client and the real Mangum handler (API Gateway v1 and v2),
with EdgeCacheMiddleware first and with the decorators alone. The URLconf is this module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.core.asgi import get_asgi_application
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date
from mangum import Mangum
from pytest_django import Settings as SettingsWrapper

from serverless_cache.django import edge_cache
from serverless_cache.http.safety import forget_logged
from tests.fixtures.edge_callers import (
    CALLERS,
    METHODS,
    TOKEN_COOKIE,
    TRANSPORTS,
    Answer,
    assert_not_shared,
    caller_headers,
    lambda_answer,
)

SHARED = "public, max-age=60, s-maxage=600"
EDGE = "serverless_cache.django.middleware.EdgeCacheMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
pytestmark = pytest.mark.urls(__name__)


@edge_cache(public=True, max_age=60, s_maxage=600)
def header_cookie(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("session started")
    response["Set-Cookie"] = "sid=secret-of-ann; HttpOnly"
    return response


@edge_cache(public=True, max_age=60, s_maxage=600)
def headers_cookie(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("session started")
    response.headers["Set-Cookie"] = "sid=secret-of-ann; HttpOnly"
    return response


def expires_cookie(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("remembered")
    response["Expires"] = http_date(4_102_444_800)  # 2100: shared caches keep it till then
    response.set_cookie("remember", "ann")
    return response


def expires_anonymous(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("the same for everybody")
    response["Expires"] = http_date(4_102_444_800)
    return response


@edge_cache(public=True, max_age=60, s_maxage=600)
def token_page(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(f"hello {request.COOKIES.get(TOKEN_COOKIE, 'anonymous')}")
    patch_vary_headers(response, ["Cookie"])
    return response


@edge_cache(public=True, max_age=60, s_maxage=600)
def vary_star(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("depends on everything")
    response["Vary"] = "*"
    return response


@edge_cache(public=True, max_age=60, s_maxage=600)
def session_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello {request.session.get('user', 'anonymous')}")


urlpatterns = [
    path("header-cookie/", header_cookie),
    path("headers-cookie/", headers_cookie),
    path("expires-cookie/", expires_cookie),
    path("expires-anonymous/", expires_anonymous),
    path("token-page/", token_page),
    path("vary-star/", vary_star),
    path("session-page/", session_page),
]

#: case -> (path, callers whose answer is personal, whether the decorators alone see it)
CASES: dict[str, tuple[str, frozenset[str], bool]] = {
    "set-cookie-header": ("/header-cookie/", frozenset(CALLERS), True),
    "set-cookie-headers": ("/headers-cookie/", frozenset(CALLERS), True),
    "expires-and-cookie": ("/expires-cookie/", frozenset(CALLERS), False),
    "token-cookie-vary": ("/token-page/", frozenset(CALLERS) - {"anonymous"}, True),
    "vary-star": ("/vary-star/", frozenset(CALLERS), True),
    "session-vary": ("/session-page/", frozenset(CALLERS) - {"anonymous"}, True),
}
STACKS = {"middleware": [EDGE, SESSION], "decorators": [SESSION]}


@pytest.fixture(autouse=True)
def edge_settings(settings: SettingsWrapper) -> Iterator[SettingsWrapper]:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.SERVERLESS_CACHE_EDGE_DEFAULT = None
    forget_logged()
    yield settings
    forget_logged()


def session_cookie() -> str:
    session = SessionStore()
    session["user"] = "ann"
    session.save()
    return f"sessionid={session.session_key}"


def send(transport: str, path: str, method: str, headers: dict[str, str]) -> Answer:
    if transport == "client":
        meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
        response = Client().generic(method, path, **meta)
        found: dict[str, list[str]] = {}
        for name, value in response.items():
            found.setdefault(name.lower(), []).append(value)
        for morsel in response.cookies.values():
            found.setdefault("set-cookie", []).append(morsel.OutputString())
        return Answer(response.status_code, found)
    handler = Mangum(get_asgi_application(), lifespan="off")
    return lambda_answer(handler, transport, path, method, headers)


#: Every cell of the matrix; an undecorated view is covered by EdgeCacheMiddleware only
#: (system check W002 asks for it).
MATRIX = [
    pytest.param(case, stack, caller, method, transport, id="-".join(cell))
    for case, (_, _, decorator_sees_it) in CASES.items()
    for stack in STACKS
    if stack == "middleware" or decorator_sees_it
    for caller in CALLERS
    for method in METHODS
    for transport in TRANSPORTS
    for cell in [(case, stack, caller, method, transport)]
]


@pytest.mark.parametrize(("case", "stack", "caller", "method", "transport"), MATRIX)
def test_no_personal_answer_leaves_with_a_shared_lifetime(
    settings: SettingsWrapper, case: str, stack: str, caller: str, method: str, transport: str
) -> None:
    path_, personal, _ = CASES[case]
    settings.MIDDLEWARE = STACKS[stack]
    answer = send(transport, path_, method, caller_headers(caller, session_cookie))
    assert answer.status == 200
    if caller in personal:
        assert_not_shared(answer)
    else:
        assert answer.one("Cache-Control") == SHARED


def test_the_answers_really_differ_per_caller(settings: SettingsWrapper) -> None:
    """The cases are personal for real: the body depends on the caller."""
    settings.MIDDLEWARE = [EDGE, SESSION]
    client = Client()
    assert client.get("/token-page/").content == b"hello anonymous"
    client.cookies[TOKEN_COOKIE] = "ann"
    assert client.get("/token-page/").content == b"hello ann"
    logged_in = Client()
    logged_in.cookies["sessionid"] = session_cookie().partition("=")[2]
    assert logged_in.get("/session-page/").content == b"hello ann"


def test_expires_without_a_cookie_keeps_its_lifetime(settings: SettingsWrapper) -> None:
    settings.MIDDLEWARE = [EDGE, SESSION]
    response = Client().get("/expires-anonymous/")
    assert "Cache-Control" not in response
    assert response.has_header("Expires")
