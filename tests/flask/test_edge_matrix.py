"""Flask edge safety, case x caller x method x transport: no per-user response leaves with a
shared lifetime, through the test client and the real apig-wsgi handler (API Gateway v1 and
v2), with the EdgeCache extension and with the decorators alone."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from apig_wsgi import make_lambda_handler
from flask import Flask, make_response, request, session
from werkzeug.wrappers import Response

from serverless_cache.flask import EdgeCache, edge_cache
from serverless_cache.flask.routes import edge_routes
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
FAR_FUTURE = 4_102_444_800  # 2100: shared caches keep an Expires response till then


@pytest.fixture(autouse=True)
def fresh_log() -> Iterator[None]:
    forget_logged()
    yield
    forget_logged()


def create_app(extension: bool) -> Flask:
    app = Flask(__name__)
    app.secret_key = "tests-only"

    @app.get("/login")
    def login() -> str:
        session["user"] = "ann"
        return "logged in"

    @app.get("/header-cookie")
    @edge_cache(public=True, max_age=60, s_maxage=600)
    def header_cookie() -> Response:
        response = make_response("session started")
        response.headers["Set-Cookie"] = "sid=secret-of-ann; HttpOnly"
        return response

    @app.get("/expires-cookie")
    def expires_cookie() -> Response:
        response = make_response("remembered")
        response.expires = FAR_FUTURE  # type: ignore[assignment]
        response.set_cookie("remember", "ann")
        return response

    @app.get("/token-page")
    @edge_cache(public=True, max_age=60, s_maxage=600)
    def token_page() -> Response:
        response = make_response(f"hello {request.cookies.get(TOKEN_COOKIE, 'anonymous')}")
        response.vary.add("Cookie")
        return response

    @app.get("/vary-star")
    @edge_cache(public=True, max_age=60, s_maxage=600)
    def vary_star() -> Response:
        response = make_response("depends on everything")
        response.headers["Vary"] = "*"
        return response

    @app.get("/session-page")
    @edge_cache(public=True, max_age=60, s_maxage=600)
    def session_page() -> str:
        return f"hello {session.get('user', 'anonymous')}"

    @app.get("/hooked")
    @edge_cache(public=True, max_age=60, s_maxage=600)
    def hooked() -> str:
        return "a hook sets a cookie after me"

    @app.after_request
    def tracking_cookie(response: Response) -> Response:
        if request.endpoint == "hooked":
            response.set_cookie("tracking", "ann")
        return response

    if extension:
        EdgeCache(app)
    return app


#: case -> (path, callers whose answer is personal, whether the decorators alone see it)
CASES: dict[str, tuple[str, frozenset[str], bool]] = {
    "set-cookie-header": ("/header-cookie", frozenset(CALLERS), True),
    "expires-and-cookie": ("/expires-cookie", frozenset(CALLERS), False),
    "token-cookie-vary": ("/token-page", frozenset(CALLERS) - {"anonymous"}, True),
    "vary-star": ("/vary-star", frozenset(CALLERS), True),
    "session-vary": ("/session-page", frozenset(CALLERS) - {"anonymous"}, True),
    "after-request-cookie": ("/hooked", frozenset(CALLERS), False),
}
STACKS = ("extension", "decorators")
#: Every cell; the cases the decorators cannot see are covered by the extension only (without
#: it the decorators log a warning, tested below).
MATRIX = [
    pytest.param(case, stack, caller, method, transport, id="-".join(cell))
    for case, (_, _, decorator_sees_it) in CASES.items()
    for stack in STACKS
    if stack == "extension" or decorator_sees_it
    for caller in CALLERS
    for method in METHODS
    for transport in TRANSPORTS
    for cell in [(case, stack, caller, method, transport)]
]


def session_cookie(app: Flask) -> str:
    client = app.test_client()
    client.get("/login")
    cookie = client.get_cookie("session")
    assert cookie is not None
    return f"session={cookie.value}"


def send(app: Flask, transport: str, path: str, method: str, headers: dict[str, str]) -> Answer:
    if transport == "client":
        client = app.test_client()
        for pair in headers.pop("Cookie", "").split(";"):  # the client sends its cookie jar
            if pair.strip():
                client.set_cookie(*pair.strip().split("=", 1))
        response = client.open(path, method=method, headers=headers)
        found: dict[str, list[str]] = {}
        for name, value in response.headers.items():
            found.setdefault(name.lower(), []).append(value)
        return Answer(response.status_code, found)
    return lambda_answer(make_lambda_handler(app), transport, path, method, headers)


@pytest.mark.parametrize(("case", "stack", "caller", "method", "transport"), MATRIX)
def test_no_personal_answer_leaves_with_a_shared_lifetime(
    case: str, stack: str, caller: str, method: str, transport: str
) -> None:
    path, personal, _ = CASES[case]
    app = create_app(extension=stack == "extension")
    answer = send(app, transport, path, method, caller_headers(caller, lambda: session_cookie(app)))
    assert answer.status == 200
    if caller in personal:
        assert_not_shared(answer)
    else:
        assert answer.one("Cache-Control") == SHARED


def test_the_answers_really_differ_per_caller() -> None:
    app = create_app(extension=True)
    assert app.test_client().get("/token-page").text == "hello anonymous"
    token = app.test_client()
    token.set_cookie(TOKEN_COOKIE, "ann")
    assert token.get("/token-page").text == "hello ann"
    logged_in = app.test_client()
    logged_in.set_cookie("session", session_cookie(app).partition("=")[2])
    assert logged_in.get("/session-page").text == "hello ann"


def test_decorators_without_the_extension_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    """The hook's cookie is set after the decorator ran: only EdgeCache(app) can see it."""
    app = create_app(extension=False)
    with caplog.at_level(logging.WARNING, "serverless_cache.http"):
        for _ in range(2):
            app.test_client().get("/hooked")
            app.test_client().get("/header-cookie")
    warnings = [
        r.getMessage() for r in caplog.records if "without EdgeCache(app)" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert "after_request" in warnings[0] and repr(app.name) in warnings[0]
    with caplog.at_level(logging.WARNING, "serverless_cache.http"):
        caplog.clear()
        create_app(extension=True).test_client().get("/hooked")
    assert not [r for r in caplog.records if "without EdgeCache(app)" in r.getMessage()]


def test_route_finder_warns_without_the_extension() -> None:
    from serverless_cache.flask.routes import EdgeRouteWarning

    with pytest.warns(EdgeRouteWarning, match=r"EdgeCache\(app\)"):
        assert edge_routes(create_app(extension=False))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert edge_routes(create_app(extension=True))


def test_expires_without_a_cookie_keeps_its_lifetime() -> None:
    app = create_app(extension=True)

    @app.get("/expires-anonymous")
    def expires_anonymous() -> Response:
        response = make_response("the same for everybody")
        response.expires = FAR_FUTURE  # type: ignore[assignment]
        return response

    response = app.test_client().get("/expires-anonymous")
    assert "Cache-Control" not in response.headers
    assert "Expires" in response.headers
