"""Flask decorators and the EdgeCache extension through the real test client and apig-wsgi."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from apig_wsgi import make_lambda_handler
from flask import Flask
from flask.testing import FlaskClient

from serverless_cache.errors import ConfigurationError
from serverless_cache.flask import EdgeCache, edge_cache
from serverless_cache.http.policy import CachePolicy
from serverless_cache.http.safety import forget_logged
from tests.fixtures.lambda_events import LambdaContext, http_event, rest_event
from tests.flask.edge_app import create_app

SHARED = "public, max-age=60, s-maxage=600"
DOWNGRADED = "private, max-age=60"


@pytest.fixture(autouse=True)
def fresh_log() -> Iterator[None]:
    forget_logged()
    yield
    forget_logged()


@pytest.fixture
def app() -> Flask:
    return create_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def session_cookie(app: Flask) -> str:
    """A real signed session cookie for a logged-in user."""
    client = app.test_client()
    client.get("/login")
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_view_gets_its_policy_and_vary(client: FlaskClient) -> None:
    response = client.get("/public")
    assert response.headers["Cache-Control"] == SHARED
    assert response.headers["Vary"] == "Accept-Language"


def test_async_class_based_and_blueprint_views(client: FlaskClient) -> None:
    assert client.get("/async").headers["Cache-Control"] == "public, max-age=30"
    assert client.get("/items/3").headers["Cache-Control"] == "public, s-maxage=75"
    assert client.get("/docs/a/b").headers["Cache-Control"] == "public, s-maxage=45"
    # a view policy inside a decorated blueprint merges with the blueprint's
    assert client.get("/docs/short/x").headers["Cache-Control"] == "public, max-age=10, s-maxage=20"


def test_only_get_and_head_get_a_policy(client: FlaskClient) -> None:
    assert "Cache-Control" not in client.post("/form").headers
    assert client.head("/form").headers["Cache-Control"] == SHARED


def test_setting_cookies_downgrades_and_logs_once(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "serverless_cache.http"):
        for _ in range(3):
            response = client.get("/cookie")
            assert response.headers["Cache-Control"] == DOWNGRADED
    assert response.headers.getlist("Set-Cookie") == ["theme=dark", "lang=fr"]
    downgrades = [r.getMessage() for r in caplog.records if "downgraded" in r.getMessage()]
    assert len(downgrades) == 1 and "endpoint sets_cookie" in downgrades[0]


def test_session_write_is_caught_after_the_session_is_saved(client: FlaskClient) -> None:
    response = client.get("/writes-session")
    assert response.headers["Cache-Control"] == DOWNGRADED
    assert "session=" in response.headers["Set-Cookie"]


def test_force_shared(client: FlaskClient) -> None:
    response = client.get("/forced")
    assert response.headers["Cache-Control"] == SHARED
    assert response.headers["Set-Cookie"] == "theme=dark"


def test_authorization_downgrades(client: FlaskClient) -> None:
    assert client.get("/api").headers["Cache-Control"] == SHARED
    auth = client.get("/api", headers={"Authorization": "Bearer x"})
    assert auth.headers["Cache-Control"] == DOWNGRADED


def test_session_cookie_downgrades_when_the_response_varies_on_it(app: Flask) -> None:
    anonymous = app.test_client().get("/session")
    assert anonymous.headers["Cache-Control"] == SHARED
    assert anonymous.headers["Vary"] == "Cookie"
    client = app.test_client()
    client.set_cookie("session", session_cookie(app))
    response = client.get("/session")
    assert response.headers["Cache-Control"] == DOWNGRADED
    assert response.text == "hello ann"
    assert "Set-Cookie" not in response.headers
    assert client.get("/public").headers["Cache-Control"] == SHARED


def test_server_errors_get_no_shared_lifetime(client: FlaskClient) -> None:
    assert client.get("/outage").headers["Cache-Control"] == "no-store"
    assert client.get("/plain-error").headers["Cache-Control"] == "no-store"


def test_no_edge_cache_default_policy_and_hand_written_headers(client: FlaskClient) -> None:
    assert client.get("/never").headers["Cache-Control"] == "private, no-store"
    assert client.get("/plain").headers["Cache-Control"] == "public, max-age=5"
    assert client.get("/hand-written").headers["Cache-Control"] == "private"


def test_decorator_alone_without_the_extension() -> None:
    client = create_app(extension=False).test_client()
    assert client.get("/plain").headers.get("Cache-Control") is None
    assert client.get("/cookie").headers["Cache-Control"] == DOWNGRADED
    # without the extension the session write is still seen through session.modified
    assert client.get("/writes-session").headers["Cache-Control"] == DOWNGRADED


def test_configuration_errors() -> None:
    app = Flask(__name__)
    app.config["EDGE_CACHE_DEFAULT"] = {"max_age": -1}
    with pytest.raises(ConfigurationError, match=r"EDGE_CACHE_DEFAULT.*max_age"):
        EdgeCache(app)
    with pytest.raises(ConfigurationError, match="no_store forbids"):
        edge_cache(no_store=True, max_age=5)
    explicit = EdgeCache(Flask(__name__), default=CachePolicy(private=True, max_age=9))
    assert explicit.default == CachePolicy(private=True, max_age=9)


# -- through the real Lambda adapter -------------------------------------------------------------
def _headers(result: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        found.setdefault(name.lower(), []).extend(values)
    for name, value in (result.get("headers") or {}).items():
        found.setdefault(name.lower(), [value])
    return found


def test_apig_wsgi_rest_api_event(app: Flask) -> None:
    handler = make_lambda_handler(app)
    assert _headers(handler(rest_event("/public"), LambdaContext()))["cache-control"] == [SHARED]
    cookie = _headers(handler(rest_event("/cookie"), LambdaContext()))
    assert cookie["cache-control"] == [DOWNGRADED]
    assert cookie["set-cookie"] == ["theme=dark", "lang=fr"]
    auth = handler(rest_event("/api", {"Authorization": ["Bearer x"]}), LambdaContext())
    assert _headers(auth)["cache-control"] == [DOWNGRADED]
    cookies = {"Cookie": [f"session={session_cookie(app)}; theme=dark"]}
    session = handler(rest_event("/session", cookies), LambdaContext())
    assert _headers(session)["cache-control"] == [DOWNGRADED]
    outage = handler(rest_event("/outage"), LambdaContext())
    assert outage["statusCode"] == 503
    assert _headers(outage)["cache-control"] == ["no-store"]


def test_apig_wsgi_http_api_event(app: Flask) -> None:
    handler = make_lambda_handler(app)
    result = handler(http_event("/public"), LambdaContext())
    assert result["headers"]["cache-control"] == SHARED
    cookie = handler(http_event("/cookie"), LambdaContext())
    assert cookie["headers"]["cache-control"] == DOWNGRADED
    assert cookie["cookies"] == ["theme=dark", "lang=fr"]
    forced = handler(http_event("/forced"), LambdaContext())
    assert forced["headers"]["cache-control"] == SHARED
    auth = handler(http_event("/api", {"authorization": "Bearer x"}), LambdaContext())
    assert auth["headers"]["cache-control"] == DOWNGRADED
    session = http_event("/session", cookies=[f"session={session_cookie(app)}", "theme=dark"])
    assert handler(session, LambdaContext())["headers"]["cache-control"] == DOWNGRADED
    outage = handler(http_event("/outage"), LambdaContext())
    assert outage["headers"]["cache-control"] == "no-store"
