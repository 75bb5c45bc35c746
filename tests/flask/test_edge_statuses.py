"""Statuses that shared caches do not keep by default never leave Flask with a shared lifetime:
through the decorator, a decorated blueprint and the extension's default policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Blueprint, Flask, redirect
from werkzeug.wrappers import Response

from serverless_cache.flask import EdgeCache, edge_cache
from serverless_cache.http.safety import forget_logged

SHARED = "public, max-age=60, s-maxage=600"
DOWNGRADED = "private, max-age=60"


@pytest.fixture(autouse=True)
def fresh_log() -> Iterator[None]:
    forget_logged()
    yield
    forget_logged()


def create_app(extension: bool) -> Flask:
    app = Flask(__name__)
    app.config["EDGE_CACHE_DEFAULT"] = {"public": True, "max_age": 60, "s_maxage": 600}

    @app.get("/login-redirect")
    @edge_cache(public=True, max_age=60, s_maxage=600)
    def login_redirect() -> Response:
        return redirect("/login")

    @app.get("/limited")
    @edge_cache(public=True, max_age=60, s_maxage=600, force_shared=True)
    def limited() -> tuple[str, int]:
        return "slow down", 429

    @app.get("/gone")
    @edge_cache(public=True, max_age=60, s_maxage=600)
    def gone() -> tuple[str, int]:
        return "gone", 410

    @app.get("/default-redirect")
    def default_redirect() -> Response:
        return redirect("/elsewhere")

    @app.get("/default-ok")
    def default_ok() -> str:
        return "ok"

    section = edge_cache(public=True, max_age=60, s_maxage=600)(Blueprint("section", __name__))

    @section.get("/section/redirect")
    def section_redirect() -> Response:
        return redirect("/login", code=307)

    @section.get("/section/page")
    def section_page() -> str:
        return "page"

    app.register_blueprint(section)
    if extension:
        EdgeCache(app)
    return app


@pytest.mark.parametrize("extension", [True, False])
def test_decorated_and_blueprint_views(extension: bool) -> None:
    client = create_app(extension).test_client()
    assert client.get("/login-redirect").headers["Cache-Control"] == DOWNGRADED
    assert client.get("/limited").headers["Cache-Control"] == DOWNGRADED  # even forced
    assert client.get("/gone").headers["Cache-Control"] == SHARED
    assert client.get("/section/redirect").headers["Cache-Control"] == DOWNGRADED
    assert client.get("/section/page").headers["Cache-Control"] == SHARED


def test_default_policy() -> None:
    client = create_app(extension=True).test_client()
    assert client.get("/default-redirect").headers["Cache-Control"] == DOWNGRADED
    assert client.get("/default-ok").headers["Cache-Control"] == SHARED
    assert client.get("/missing").headers["Cache-Control"] == SHARED  # 404 is cached by default
