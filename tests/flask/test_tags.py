"""Tags through Flask-Caching: the backend's API, and the tagged ``cached`` and ``memoize``."""

from __future__ import annotations

from flask import Flask
from flask_caching import Cache

from serverless_cache.flask import TierCache, tags


def make_app(redis_url: str) -> tuple[Flask, Cache]:
    app = Flask(__name__)
    app.config.update(CACHE_TYPE="serverless_cache.flask.RedisCache", CACHE_REDIS_URL=redis_url)
    return app, Cache(app)


def backend_of(cache: Cache) -> TierCache:
    backend = cache.cache
    assert isinstance(backend, TierCache)
    return backend


def test_the_backend_takes_tags(redis_url: str) -> None:
    app, cache = make_app(redis_url)
    with app.app_context():
        backend = backend_of(cache)
        assert backend.set("a", 1, tags=["t"]) is True
        assert backend.set_many({"b": 2}, tags=["t"]) == ["b"]
        assert backend.add("c", 3, tags=["u"]) is True
        assert backend.get_or_set("d", lambda: 4, tags=["t"]) == 4
        assert backend.invalidate_tags("t") is True
        assert cache.get_many("a", "b", "c", "d") == [None, None, 3, None]


def test_tagged_cached_view(redis_url: str) -> None:
    app, cache = make_app(redis_url)
    renders: list[int] = []

    @app.route("/product/<int:pk>")
    @tags.cached(cache, tags=["product"], timeout=60)
    def product(pk: int) -> str:
        renders.append(pk)
        return f"product {pk}, render {len(renders)}"

    client = app.test_client()
    assert client.get("/product/1").data == client.get("/product/1").data
    with app.app_context():
        assert backend_of(cache).invalidate_tags("product") is True
    assert client.get("/product/1").data == b"product 1, render 2"
    assert renders == [1, 1]


def test_tagged_memoize(redis_url: str) -> None:
    app, cache = make_app(redis_url)
    calls: list[int] = []

    @tags.memoize(cache, tags=["prices"], timeout=60)
    def price(pk: int) -> int:
        calls.append(pk)
        return pk * 10

    with app.app_context():
        assert (price(1), price(1), price(2)) == (10, 10, 20)
        assert backend_of(cache).invalidate_tags("prices") is True
        assert price(1) == 10
    assert calls == [1, 2, 1]


def test_writes_outside_a_tagged_call_carry_no_tags(redis_url: str) -> None:
    app, cache = make_app(redis_url)
    with app.app_context():
        with tags.writing_tags(["t"]):
            cache.set("inside", 1)
        cache.set("outside", 2)
        backend_of(cache).invalidate_tags("t")
        assert cache.get_many("inside", "outside") == [None, 2]
