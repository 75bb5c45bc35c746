"""Flask-Caching on the execution-context tier, through flask_caching.Cache."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from flask_caching import Cache

BACKEND = "serverless_cache.flask.ExecutionContextCache"


def make_cache(**config: Any) -> tuple[Flask, Cache]:
    app = Flask(__name__)
    app.config.update({"CACHE_TYPE": BACKEND, **config})
    return app, Cache(app)


def test_backend_is_created_through_the_factory() -> None:
    from serverless_cache.flask import ExecutionContextCache

    app, cache = make_cache(CACHE_KEY_PREFIX="p_", CACHE_DEFAULT_TIMEOUT=60)
    with app.app_context():
        assert isinstance(cache.cache, ExecutionContextCache)
        assert cache.cache.key_prefix == "p_"
        assert cache.cache.default_timeout == 60


def test_cachelib_semantics() -> None:
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


def test_inc_and_dec_start_missing_keys_from_zero() -> None:
    app, cache = make_cache()
    with app.app_context():
        assert cache.cache.inc("counter") == 1
        assert cache.cache.inc("counter", 5) == 6
        assert cache.cache.dec("counter", 2) == 4
        assert cache.cache.dec("fresh") == -1
        cache.set("text", "x")
        assert cache.cache.inc("text") is None


def test_timeout_zero_never_expires_and_negative_expires_now() -> None:
    app, cache = make_cache(CACHE_DEFAULT_TIMEOUT=1)
    with app.app_context():
        cache.set("forever", 1, timeout=0)
        cache.set("gone", 1, timeout=-1)
        cache.set("default", 1)
        assert cache.cache.tier.ttl(cache.cache.key_prefix + "forever") is None
        assert 0 < cache.cache.tier.ttl(cache.cache.key_prefix + "default") <= 1
        assert cache.get("gone") is None


def test_timeout_expires() -> None:
    app, cache = make_cache()
    with app.app_context():
        cache.set("k", 1, timeout=1)
        entry = cache.cache.tier.store.data[cache.cache.key_prefix + "k"]
        cache.cache.tier.store.data[cache.cache.key_prefix + "k"] = entry._replace(
            expires_at=time.time() - 0.001
        )
        assert cache.get("k") is None


def test_key_prefix_isolates_apps_on_one_store() -> None:
    app_a, a = make_cache(CACHE_KEY_PREFIX="a_")
    app_b, b = make_cache(CACHE_KEY_PREFIX="b_")
    with app_a.app_context():
        a.set("k", "from a")
    with app_b.app_context():
        assert b.get("k") is None
        assert b.cache.tier.get("a_k") == "from a"


def test_threshold_bounds_the_store() -> None:
    app, cache = make_cache(CACHE_THRESHOLD=10, CACHE_OPTIONS={"name": "small"})
    with app.app_context():
        for i in range(30):
            cache.set(f"k{i}", i)
        assert len(cache.cache.tier.store.data) <= 10
        assert cache.get("k29") == 29


def test_cache_options_reach_the_tier() -> None:
    from serverless_cache.errors import ConfigurationError

    app, cache = make_cache(CACHE_OPTIONS={"name": "opts", "max_bytes": 5_000, "SIGNING_KEY": "s"})
    with app.app_context():
        assert cache.cache.tier.store.settings.max_bytes == 5_000
        assert cache.cache.tier.codec.settings.signing_key == "s"
    with pytest.raises(ConfigurationError, match=r"max_byts.*max_bytes"):
        make_cache(CACHE_OPTIONS={"max_byts": 1})


def test_django_and_flask_share_a_store_by_name() -> None:
    from serverless_cache.tiers.memory import MemoryTier

    app, cache = make_cache(CACHE_OPTIONS={"name": "together"}, CACHE_KEY_PREFIX="")
    with app.app_context():
        cache.set("k", "flask wrote it")
    assert MemoryTier.from_options("together", {}).get("k") == "flask wrote it"


def test_cached_view_and_memoize() -> None:
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
