"""Flask-Caching's (cachelib's) API, with cachelib's semantics, on every backend of this package."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask_caching import Cache

from tests.fixtures.dynamodb_servers import REGION, table_on
from tests.flask.backend import backend_of

CacheFactory = Callable[..., tuple[Flask, Cache]]

#: Backend name -> function of the pytest request giving the app config (servers via fixtures).
BACKENDS: dict[str, Callable[[pytest.FixtureRequest], dict[str, Any]]] = {
    "memory": lambda request: {
        "CACHE_TYPE": "serverless_cache.flask.ExecutionContextCache",
        "CACHE_OPTIONS": {"name": "flask-api"},
    },
    "layered": lambda request: {
        "CACHE_TYPE": "serverless_cache.flask.LayeredCache",
        "CACHE_OPTIONS": {
            "name": "flask-api-layered",
            "TIERS": [
                {"TIER": "memory", "CAP": 60},
                {"TIER": "redis", "LOCATION": request.getfixturevalue("redis_url")},
            ],
        },
    },
    "redis": lambda request: {
        "CACHE_TYPE": "serverless_cache.flask.RedisCache",
        "CACHE_REDIS_URL": request.getfixturevalue("redis_url"),
    },
    "memcached": lambda request: {
        "CACHE_TYPE": "serverless_cache.flask.MemcachedCache",
        "CACHE_MEMCACHED_SERVERS": [request.getfixturevalue("memcached_url")],
    },
    "layered-memcached": lambda request: {
        "CACHE_TYPE": "serverless_cache.flask.LayeredCache",
        "CACHE_OPTIONS": {
            "name": "flask-api-layered-memcached",
            "TIERS": [
                {"TIER": "memory", "CAP": 60},
                {"TIER": "memcached", "LOCATION": request.getfixturevalue("memcached_url")},
            ],
        },
    },
    "dynamodb-moto": lambda request: dynamodb_backend(request, "moto"),
    "dynamodb-dynalite": lambda request: dynamodb_backend(request, "dynalite"),
}


def dynamodb_backend(request: pytest.FixtureRequest, kind: str) -> dict[str, Any]:
    server, table = table_on(request, kind)
    options = {"table_name": table, "region_name": REGION, "endpoint_url": server.endpoint_url}
    return {"CACHE_TYPE": "serverless_cache.flask.DynamoDBCache", "CACHE_OPTIONS": options}


def _on_memcached(request: pytest.FixtureRequest) -> bool:
    """Whether this test runs on a Memcached backend (or a layered cache over one)."""
    return "memcached" in request.node.callspec.params["backend"]


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    return BACKENDS[request.param](request)


@pytest.fixture
def make_cache(backend: dict[str, Any]) -> CacheFactory:
    def make(**config: Any) -> tuple[Flask, Cache]:
        app = Flask(__name__)
        app.config.update({**backend, **config})
        cache = Cache(app)
        with app.app_context():
            cache.clear()
        return app, cache

    return make


def test_cachelib_semantics(make_cache: CacheFactory) -> None:
    app, cache = make_cache()
    with app.app_context():
        assert cache.get("k") is None
        assert cache.set("k", {"a": 1}) is True
        assert cache.get("k") == {"a": 1}
        assert cache.add("k", 2) is False
        assert cache.add("n", 1) is True
        assert cache.has("k") and not cache.has("missing")
        assert cache.delete("k") is True
        assert cache.delete("k") is False
        assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
        assert cache.get_many("a", "b", "c") == [1, 2, None]
        assert cache.get_dict("a", "c") == {"a": 1, "c": None}
        assert cache.delete_many("a", "b") == ["a", "b"]
        assert cache.get_many("a", "b") == [None, None]
        assert cache.clear() is True
        assert cache.get("n") is None


def test_inc_and_dec_start_missing_keys_from_zero(make_cache: CacheFactory) -> None:
    app, cache = make_cache()
    with app.app_context():
        assert cache.cache.inc("counter") == 1
        assert cache.cache.inc("counter", 5) == 6
        assert cache.cache.dec("counter", 2) == 4
        assert cache.cache.dec("fresh") == -1
        cache.set("text", "x")
        assert cache.cache.inc("text") is None


def test_timeout_zero_never_expires_and_negative_expires_now(make_cache: CacheFactory) -> None:
    app, cache = make_cache(CACHE_DEFAULT_TIMEOUT=100)
    with app.app_context():
        cache.set("forever", 1, timeout=0)
        cache.set("gone", 1, timeout=-1)
        cache.set("default", 1)
        tier, prefix = backend_of(cache).tier, backend_of(cache).key_prefix
        assert tier.ttl(prefix + "forever") is None
        default = tier.ttl(prefix + "default")
        assert default is not None and 98 < default <= 101
        assert cache.get("gone") is None


def test_key_prefix_isolates_apps_on_one_store(
    make_cache: CacheFactory, request: pytest.FixtureRequest
) -> None:
    app_a, a = make_cache(CACHE_KEY_PREFIX="a_")
    app_b, b = make_cache(CACHE_KEY_PREFIX="b_")
    with app_a.app_context():
        a.set("k", "from a")
    with app_b.app_context():
        assert b.get("k") is None
        if _on_memcached(request):
            # Each prefix is a namespace of its own there (clear() bumps its generation).
            assert backend_of(b).tier.get("a_k") is None
        else:
            assert backend_of(b).tier.get("a_k") == "from a"
    with app_a.app_context():
        assert backend_of(a).tier.get("a_k") == "from a"


def test_cached_view_and_memoize(make_cache: CacheFactory) -> None:
    app, cache = make_cache()
    calls: list[str] = []

    @app.route("/page")
    @cache.cached(timeout=60)
    def page() -> str:
        calls.append("page")
        return f"page {len(calls)}"

    @cache.memoize(timeout=60)
    def square(n: int) -> int:
        calls.append(f"square {n}")
        return n * n

    client = app.test_client()
    assert client.get("/page").data == client.get("/page").data == b"page 1"
    with app.app_context():
        assert square(3) == square(3) == 9
        assert square(4) == 16
        cache.delete_memoized(square, 3)
        assert square(3) == 9
    assert calls == ["page", "square 3", "square 4", "square 3"]
