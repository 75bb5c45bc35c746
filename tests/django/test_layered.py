"""Django's cache API on the layered tier (two in-process tiers standing in for L1 and L2)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings

from serverless_cache.django import LayeredCache
from serverless_cache.errors import ConfigurationError
from serverless_cache.tiers.layered import EPOCH_SUFFIX, LayeredTier
from serverless_cache.tiers.memory import MemoryTier
from tests.tiers.build import SHARED

TIERS = [
    {"TIER": "memory", "CAP": 5},
    {"TIER": SHARED, "LOCATION": "django-layered-shared"},
]


def make_cache(location: str = "django-layered", **params: Any) -> LayeredCache:
    options = {"TIERS": TIERS, **params.pop("OPTIONS", {})}
    config = {
        "BACKEND": "serverless_cache.django.LayeredCache",
        "LOCATION": location,
        "OPTIONS": options,
        **params,
    }
    with override_settings(CACHES={"default": config}):
        cache = caches["default"]
    assert isinstance(cache, LayeredCache)
    return cache


def shared_tier(cache: LayeredCache) -> MemoryTier:
    assert isinstance(cache.tier, LayeredTier)
    last = cache.tier.last
    assert isinstance(last, MemoryTier)
    return last


def test_django_api_over_the_layers() -> None:
    cache = make_cache()
    cache.set("k", {"a": 1})
    assert cache.get("k") == {"a": 1}
    assert shared_tier(cache).get(":1:k") == {"a": 1}
    assert cache.add("k", 2) is False
    assert cache.add("n", 1) is True
    assert cache.incr("n", 4) == 5
    assert cache.decr("n") == 4
    assert cache.get_many(["k", "n", "x"]) == {"k": {"a": 1}, "n": 4}
    assert cache.touch("k", 100) is True
    assert cache.delete("k") is True
    assert cache.get("k") is None
    cache.clear()
    assert cache.get("n") is None


def test_max_entries_of_the_layered_cache_itself_is_refused_with_where_it_belongs() -> None:
    with pytest.raises(ConfigurationError, match=r"MAX_ENTRIES .* TIERS\[0\]\['OPTIONS'\]"):
        make_cache(OPTIONS={"MAX_ENTRIES": 50, "LEASE": True})
    cache = make_cache(OPTIONS={"LEASE": True})
    assert isinstance(cache.tier, LayeredTier) and cache.tier.stampede.lease


def test_get_or_set_computes_once_across_threads() -> None:
    cache = make_cache()
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        time.sleep(0.2)
        return "computed"

    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_set("k", compute, 60)))
        for _ in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["computed"] * 10
    assert len(calls) == 1
    assert cache.get_or_set("k", "other") == "computed"
    assert cache.get_or_set("plain", "value") == "value"
    assert cache.get_or_set("zero", "value", timeout=0) == "value"
    assert cache.get("zero") is None


def test_stored_none_is_a_value_for_get_or_set() -> None:
    cache = make_cache()
    cache.set("none", None)
    assert cache.get_or_set("none", "computed") is None


def test_aget_or_set() -> None:
    cache = make_cache()
    assert asyncio.run(cache.aget_or_set("k", lambda: 3)) == 3
    assert cache.get("k") == 3


def test_epoch_key_uses_the_key_prefix_and_invalidate_all_reaches_other_instances() -> None:
    a = make_cache("django-a", KEY_PREFIX="site", OPTIONS={"EPOCH_CHECK_INTERVAL": 0.2})
    b = make_cache("django-b", KEY_PREFIX="site", OPTIONS={"EPOCH_CHECK_INTERVAL": 0.2})
    a.set("k", "v")
    assert b.get("k") == "v"
    assert a.invalidate_all() is True
    assert shared_tier(a).get("site:" + EPOCH_SUFFIX) is not None
    time.sleep(0.25)
    b.get("other")
    assert isinstance(b.tier, LayeredTier)
    assert b.tier.first.get("site:1:k") is None
    assert b.get("k") == "v"


def test_memoize_uses_django_keys() -> None:
    cache = make_cache(KEY_PREFIX="p")
    calls: list[int] = []

    @cache.memoize(60)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert square(3) == 9 and square(3) == 9
    assert calls == [3]
    assert any(key.startswith("p:1:memoize:") for key in shared_tier(cache).store.data)


def test_two_caches_without_location_keep_their_own_l1() -> None:
    """Neither is named; their prefixes differ, so must their names, L1 stores and state."""
    one = make_cache("", KEY_PREFIX="one", OPTIONS={"EPOCH_CHECK_INTERVAL": 0})
    two = make_cache("", KEY_PREFIX="two", OPTIONS={"EPOCH_CHECK_INTERVAL": 0})
    assert isinstance(one.tier, LayeredTier) and isinstance(two.tier, LayeredTier)
    one.get("warm-up")  # the first read of the epoch empties L1
    two.get("warm-up")
    one.set("k", "v")
    two.get("other")  # reads two's epoch
    one.get("other")  # reads one's epoch
    assert one.tier.first.get("one:1:k") == "v"
    assert one.tier.state is not two.tier.state
