"""Flask-Caching on the layered tier (two in-process tiers standing in for L1 and L2)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask
from flask_caching import Cache

from serverless_cache.errors import ConfigurationError
from serverless_cache.flask import LayeredCache
from serverless_cache.tiers.layered import LayeredTier
from tests.tiers.build import SHARED

TIERS = [{"TIER": "memory", "CAP": 5}, {"TIER": SHARED, "LOCATION": "flask-layered-shared"}]


def make_cache(**options: Any) -> tuple[Flask, Cache]:
    app = Flask(__name__)
    app.config.update(
        CACHE_TYPE="serverless_cache.flask.LayeredCache",
        CACHE_KEY_PREFIX="f_",
        CACHE_OPTIONS={"TIERS": TIERS, **options},
    )
    return app, Cache(app)


def test_cachelib_semantics_over_the_layers() -> None:
    app, cache = make_cache()
    with app.app_context():
        backend = cache.cache
        assert isinstance(backend, LayeredCache) and isinstance(backend.tier, LayeredTier)
        assert cache.set("k", [1]) is True
        assert cache.get("k") == [1]
        assert backend.tier.last.get("f_k") == [1]
        assert cache.add("k", 2) is False
        assert backend.inc("n") == 1
        assert backend.dec("n", 3) == -2
        assert cache.get_many("k", "n", "x") == [[1], -2, None]
        assert cache.delete("k") is True
        assert cache.clear() is True
        assert cache.get("n") is None


def test_get_or_set_computes_once_across_threads() -> None:
    _, cache = make_cache()
    backend = cache.cache
    assert isinstance(backend, LayeredCache)
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        time.sleep(0.2)
        return "computed"

    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(backend.get_or_set("k", compute, 60)))
        for _ in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["computed"] * 10
    assert len(calls) == 1
    assert backend.invalidate_all() is True
    assert backend.get("k") == "computed"


def test_bad_tiers_are_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="TIERS must be a list"):
        make_cache(TIERS=[])


def test_two_apps_with_the_default_name_and_other_prefixes_keep_their_own_l1() -> None:
    caches: list[tuple[LayeredCache, LayeredTier]] = []
    for prefix in ("one_", "two_"):
        app = Flask(__name__)
        app.config.update(
            CACHE_TYPE="serverless_cache.flask.LayeredCache",
            CACHE_KEY_PREFIX=prefix,
            CACHE_OPTIONS={"TIERS": TIERS, "EPOCH_CHECK_INTERVAL": 0},
        )
        backend = Cache(app).cache
        assert isinstance(backend, LayeredCache) and isinstance(backend.tier, LayeredTier)
        caches.append((backend, backend.tier))
    (one, one_tier), (two, _) = caches
    one.get("warm-up")  # the first read of the epoch empties L1
    two.get("warm-up")
    assert one.set("k", "v") is True
    two.get("other")
    one.get("other")
    assert one_tier.first.get("one_k") == "v"
