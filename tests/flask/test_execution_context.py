"""Flask-Caching on the execution-context tier, through flask_caching.Cache."""

from __future__ import annotations

import time
from typing import Any, cast

import pytest
from flask import Flask
from flask_caching import Cache

from serverless_cache.tiers.memory import MemoryTier
from tests.flask.backend import backend_of
from tests.tiers.build import memory

BACKEND = "serverless_cache.flask.ExecutionContextCache"


def make_cache(**config: Any) -> tuple[Flask, Cache]:
    app = Flask(__name__)
    app.config.update({"CACHE_TYPE": BACKEND, **config})
    return app, Cache(app)


def memory_tier(cache: Cache) -> MemoryTier:
    """The tier of an ExecutionContextCache (``TierCache.tier`` is typed as any Tier)."""
    return cast(MemoryTier, backend_of(cache).tier)


def test_backend_is_created_through_the_factory() -> None:
    from serverless_cache.flask import ExecutionContextCache

    app, cache = make_cache(CACHE_KEY_PREFIX="p_", CACHE_DEFAULT_TIMEOUT=60)
    with app.app_context():
        assert isinstance(cache.cache, ExecutionContextCache)
        assert cache.cache.key_prefix == "p_"
        assert cache.cache.default_timeout == 60


def test_timeout_expires() -> None:
    app, cache = make_cache()
    with app.app_context():
        cache.set("k", 1, timeout=1)
        data, key = memory_tier(cache).store.data, backend_of(cache).key_prefix + "k"
        entry = data[key]
        data[key] = entry._replace(expires_at=time.time() - 0.001)
        assert cache.get("k") is None


def test_threshold_bounds_the_store() -> None:
    app, cache = make_cache(CACHE_THRESHOLD=10, CACHE_OPTIONS={"name": "small"})
    with app.app_context():
        for i in range(30):
            cache.set(f"k{i}", i)
        assert len(memory_tier(cache).store.data) <= 10
        assert cache.get("k29") == 29


def test_cache_options_reach_the_tier() -> None:
    from serverless_cache.errors import ConfigurationError

    app, cache = make_cache(CACHE_OPTIONS={"name": "opts", "max_bytes": 5_000, "SIGNING_KEY": "s"})
    with app.app_context():
        assert memory_tier(cache).limits.max_bytes == 5_000
        assert memory_tier(cache).codec.settings.signing_key == "s"
    with pytest.raises(ConfigurationError, match=r"max_byts.*max_bytes"):
        make_cache(CACHE_OPTIONS={"max_byts": 1})


def test_django_and_flask_share_a_store_by_name() -> None:

    app, cache = make_cache(CACHE_OPTIONS={"name": "together"}, CACHE_KEY_PREFIX="")
    with app.app_context():
        cache.set("k", "flask wrote it")
    assert memory("together", {}).get("k") == "flask wrote it"
