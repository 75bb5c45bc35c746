"""Django decorators and middleware through the real test client and the real Mangum handler."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.core.asgi import get_asgi_application
from django.test import AsyncClient, Client
from django.utils.cache import patch_cache_control
from mangum import Mangum
from pytest_django import Settings as SettingsWrapper

from serverless_cache.errors import ConfigurationError
from serverless_cache.http.policy import CachePolicy
from serverless_cache.http.safety import forget_logged
from tests.fixtures.lambda_events import LambdaContext, http_event, rest_event

SHARED = "public, max-age=60, s-maxage=600"
DOWNGRADED = "private, max-age=60"
pytestmark = pytest.mark.urls("tests.django.edge_urls")


@pytest.fixture(autouse=True)
def edge_settings(settings: SettingsWrapper) -> Iterator[SettingsWrapper]:
    settings.MIDDLEWARE = [
        "serverless_cache.django.middleware.EdgeCacheMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
    ]
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.SERVERLESS_CACHE_EDGE_DEFAULT = {"public": True, "max_age": 5}
    forget_logged()
    yield settings
    forget_logged()


def test_function_view_gets_its_policy_and_vary() -> None:
    response = Client().get("/public/")
    assert response["Cache-Control"] == SHARED
    assert response["Vary"] == "Accept-Language"


def test_sync_and_async_function_and_class_views() -> None:
    client = Client()
    assert client.get("/async/")["Cache-Control"] == "public, max-age=30"
    assert client.get("/class/")["Cache-Control"] == "public, s-maxage=120"
    assert client.get("/async-class/")["Cache-Control"] == "public, s-maxage=90"
    assert client.get("/async-class/").content == b"async class"
    # only GET and HEAD get a policy (the default applies to GET/HEAD only, too)
    assert "Cache-Control" not in client.post("/class/")
    assert client.head("/class/")["Cache-Control"] == "public, s-maxage=120"


def test_async_client_runs_the_async_paths() -> None:
    async def requests() -> None:
        client = AsyncClient()
        assert (await client.get("/async/"))["Cache-Control"] == "public, max-age=30"
        assert (await client.get("/async-class/"))["Cache-Control"] == "public, s-maxage=90"
        assert (await client.get("/cookie/"))["Cache-Control"] == DOWNGRADED

    async_to_sync(requests)()


def session_key() -> str:
    """A valid signed-cookie session, so that the session middleware leaves the cookie alone."""
    session = SessionStore()
    session["user"] = "ann"
    session.save()
    return str(session.session_key)


def test_response_setting_a_cookie_is_downgraded_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client()
    with caplog.at_level(logging.WARNING, "serverless_cache.http"):
        for _ in range(3):
            response = client.get("/cookie/")
            assert response["Cache-Control"] == DOWNGRADED
    assert response.cookies["theme"].value == "dark"
    downgrades = [r for r in caplog.records if "downgraded" in r.getMessage()]
    assert len(downgrades) == 1
    assert "tests.django.edge_urls.sets_cookie" in downgrades[0].getMessage()
    assert "sets a cookie" in downgrades[0].getMessage()


def test_force_shared_opts_in_even_through_the_middleware() -> None:
    response = Client().get("/forced/")
    assert response["Cache-Control"] == SHARED
    assert response.cookies["theme"].value == "dark"


def test_authorization_downgrades() -> None:
    client = Client()
    assert client.get("/api/")["Cache-Control"] == SHARED
    assert client.get("/api/", HTTP_AUTHORIZATION="Bearer x")["Cache-Control"] == DOWNGRADED


def test_session_cookie_downgrades_when_the_response_varies_on_it() -> None:
    anonymous = Client().get("/session/")
    assert anonymous["Cache-Control"] == SHARED
    assert anonymous["Vary"] == "Cookie"
    client = Client()
    client.cookies["sessionid"] = session_key()
    response = client.get("/session/")
    assert response["Cache-Control"] == DOWNGRADED
    assert response.content == b"hello ann"
    assert "sessionid" not in response.cookies
    # a session cookie on a view that does not look at the session changes nothing
    assert client.get("/public/")["Cache-Control"] == SHARED


def test_server_errors_get_no_shared_lifetime() -> None:
    client = Client()
    assert client.get("/outage/")["Cache-Control"] == "no-store"
    # the middleware's default policy is not let through on a 5xx either
    assert client.get("/plain-error/")["Cache-Control"] == "no-store"


def test_merging_keeps_what_the_view_set() -> None:
    response = Client().get("/made-private/")
    assert response["Cache-Control"] == "private, max-age=5, no-transform"


def test_no_edge_cache_and_middleware_default() -> None:
    client = Client()
    assert client.get("/never/")["Cache-Control"] == "private, no-store"
    assert client.get("/plain/")["Cache-Control"] == "public, max-age=5"
    # a hand-written header that sets a cookie is caught by the middleware
    assert client.get("/hand-written/")["Cache-Control"] == "private"


def test_bad_default_is_a_clear_error(settings: SettingsWrapper) -> None:
    settings.SERVERLESS_CACHE_EDGE_DEFAULT = {"s_max_age": 5}
    with pytest.raises(ConfigurationError, match=r"SERVERLESS_CACHE_EDGE_DEFAULT.*s_maxage"):
        Client().get("/plain/")


def test_works_with_cache_page() -> None:
    client = Client()
    for _ in range(2):  # the second answer comes from cache_page's cache
        inside = client.get("/cached-inside/")
        assert inside["Cache-Control"] == "public, max-age=30, s-maxage=600"
        outside = client.get("/cached-outside/")
        assert outside["Cache-Control"] == "public, max-age=30, s-maxage=600"
        assert outside.has_header("Expires")


def test_decoration_time_errors() -> None:
    from serverless_cache.django import edge_cache

    with pytest.raises(ConfigurationError, match="public and private"):
        edge_cache(public=True, private=True)
    with pytest.raises(ConfigurationError, match="did you mean 's_maxage'"):
        edge_cache(s_max_age=60)


def test_patch_cache_control_after_the_policy_still_merges() -> None:
    from django.http import HttpResponse
    from django.test import RequestFactory

    from serverless_cache.django.edge import apply_policy

    response = HttpResponse()
    patch_cache_control(response, max_age=10)
    request = RequestFactory().get("/")
    apply_policy(request, response, CachePolicy(public=True, max_age=60), where="t")
    assert response["Cache-Control"] == "public, max-age=10"


# -- through the real Lambda adapter -------------------------------------------------------------
@pytest.fixture
def handler() -> Mangum:
    return Mangum(get_asgi_application(), lifespan="off")


def _headers(result: dict[str, Any]) -> dict[str, list[str]]:
    """All response headers, lower-cased, from either payload version."""
    found: dict[str, list[str]] = {}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        found.setdefault(name.lower(), []).extend(values)
    for name, value in (result.get("headers") or {}).items():
        found.setdefault(name.lower(), [value])
    return found


def test_mangum_rest_api_event(handler: Mangum) -> None:
    result = handler(rest_event("/public/"), LambdaContext())
    assert _headers(result)["cache-control"] == [SHARED]
    cookie = handler(rest_event("/cookie/"), LambdaContext())
    headers = _headers(cookie)
    assert headers["cache-control"] == [DOWNGRADED]
    assert sorted(v.split(";")[0] for v in headers["set-cookie"]) == ["lang=fr", "theme=dark"]
    auth = handler(rest_event("/api/", {"Authorization": ["Bearer x"]}), LambdaContext())
    assert _headers(auth)["cache-control"] == [DOWNGRADED]
    session = rest_event("/session/", {"Cookie": [f"sessionid={session_key()}; theme=dark"]})
    assert _headers(handler(session, LambdaContext()))["cache-control"] == [DOWNGRADED]
    outage = handler(rest_event("/outage/"), LambdaContext())
    assert outage["statusCode"] == 503
    assert _headers(outage)["cache-control"] == ["no-store"]


def test_mangum_http_api_event(handler: Mangum) -> None:
    result = handler(http_event("/public/"), LambdaContext())
    assert result["headers"]["cache-control"] == SHARED
    assert result["headers"]["vary"] == "Accept-Language"
    cookie = handler(http_event("/cookie/"), LambdaContext())
    assert cookie["headers"]["cache-control"] == DOWNGRADED
    assert sorted(v.split(";")[0] for v in cookie["cookies"]) == ["lang=fr", "theme=dark"]
    forced = handler(http_event("/forced/"), LambdaContext())
    assert forced["headers"]["cache-control"] == SHARED
    auth = handler(http_event("/api/", {"authorization": "Bearer x"}), LambdaContext())
    assert auth["headers"]["cache-control"] == DOWNGRADED
    session = http_event("/session/", cookies=[f"sessionid={session_key()}", "theme=dark"])
    assert handler(session, LambdaContext())["headers"]["cache-control"] == DOWNGRADED
    assert handler(http_event("/outage/"), LambdaContext())["headers"]["cache-control"] == (
        "no-store"
    )
