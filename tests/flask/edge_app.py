"""A Flask app for the edge caching tests (one view per behaviour)."""

from __future__ import annotations

from flask import Blueprint, Flask, session
from flask.views import MethodView

from serverless_cache.flask import EdgeCache, edge_cache, no_edge_cache

SHARED = {"public": True, "max_age": 60, "s_maxage": 600}
blueprint = edge_cache(public=True, s_maxage=45)(Blueprint("docs", __name__, url_prefix="/docs"))


@blueprint.get("/<path:page>")
def doc(page: str) -> str:
    return page


@blueprint.get("/short/<name>")
@edge_cache(max_age=10, s_maxage=20)
def short_doc(name: str) -> str:
    return name


@edge_cache(public=True, s_maxage=75, stage_cache=True)
class ItemView(MethodView):
    def get(self, pk: int) -> str:
        return f"item {pk}"


def create_app(extension: bool = True) -> Flask:
    app = Flask(__name__)
    app.secret_key = "tests-only"
    app.config["EDGE_CACHE_DEFAULT"] = {"public": True, "max_age": 5}

    @app.get("/public")
    @edge_cache(**SHARED, vary=["Accept-Language"], query_strings=["page"], stage_cache=True)
    def public() -> str:
        return "public"

    @app.get("/cookie")
    @edge_cache(**SHARED)
    def sets_cookie() -> tuple[str, int, list[tuple[str, str]]]:
        return "cookie", 200, [("Set-Cookie", "theme=dark"), ("Set-Cookie", "lang=fr")]

    @app.get("/forced")
    @edge_cache(**SHARED, force_shared=True)
    def forced() -> tuple[str, int, dict[str, str]]:
        return "forced", 200, {"Set-Cookie": "theme=dark"}

    @app.get("/login")
    def login() -> str:
        session["user"] = "ann"
        return "logged in"

    @app.get("/session")
    @edge_cache(**SHARED)
    def reads_session() -> str:
        return f"hello {session.get('user', 'anonymous')}"

    @app.get("/writes-session")
    @edge_cache(**SHARED)
    def writes_session() -> str:
        session["visits"] = session.get("visits", 0) + 1
        return "counted"

    @app.get("/api")
    @edge_cache(**SHARED)
    def api() -> str:
        return "data"

    @app.get("/async")
    @edge_cache(public=True, max_age=30)
    async def async_view() -> str:
        return "async"

    @app.get("/outage")
    @edge_cache(**SHARED)
    def outage() -> tuple[str, int]:
        return "down", 503

    @app.get("/never")
    @no_edge_cache
    def never() -> str:
        return "never"

    @app.route("/form", methods=["GET", "POST"])
    @edge_cache(**SHARED)
    def form() -> str:
        return "form"

    @app.get("/plain")
    def plain() -> str:
        return "plain"

    @app.get("/plain-error")
    def plain_error() -> tuple[str, int]:
        return "boom", 500

    @app.get("/hand-written")
    def hand_written() -> tuple[str, int, dict[str, str]]:
        return "hand", 200, {"Cache-Control": "public, s-maxage=600", "Set-Cookie": "t=1"}

    @app.get("/articles/<int:pk>")
    @edge_cache(public=True, s_maxage=7200, vary=["Accept"], cookies=["currency"], stage_cache=True)
    def article(pk: int) -> str:
        return f"article {pk}"

    app.add_url_rule("/items/<int:pk>", view_func=ItemView.as_view("item"))
    app.register_blueprint(blueprint)
    if extension:
        EdgeCache(app)
    return app
