from __future__ import annotations

import sys
import threading
import time
from typing import Any

import pytest

from serverless_cache.codec import CodecSettings
from serverless_cache.errors import ConfigurationError
from serverless_cache.tiers.base import MISSING
from serverless_cache.tiers.memory import ENTRY_OVERHEAD, MemoryTier
from tests.tiers.build import memory


def tier(name: str = "t", **options: Any) -> MemoryTier:
    return memory(name, options)


def test_get_set_delete_and_stored_none() -> None:
    t = tier()
    assert t.get("k", "default") == "default"
    assert t.set("k", None, None)
    assert t.get("k", "default") is None
    assert t.has("k")
    assert t.delete("k") is True
    assert t.delete("k") is False
    assert t.get("k", MISSING) is MISSING


def test_views_with_the_same_name_share_one_store() -> None:
    tier("shared").set("k", 1, None)
    assert tier("shared").get("k") == 1
    assert tier("other").get("k") is None


def test_ttl_expiry_and_do_not_keep() -> None:
    t = tier()
    t.set("short", "v", 0.05)
    t.set("gone", "v", 0)
    t.set("forever", "v", None)
    assert t.get("short") == "v"
    assert t.get("gone") is None
    assert t.ttl("forever") is None
    assert 0 < (t.ttl("short") or 0) <= 0.05
    time.sleep(0.06)
    assert t.get("short") is None
    assert t.ttl("short") == 0.0
    assert not t.has("short")


def test_mutating_a_returned_value_does_not_change_the_cache() -> None:
    t = tier()
    value = {"list": [1]}
    t.set("k", value, None)
    value["list"].append(2)
    got = t.get("k")
    got["list"].append(3)
    assert t.get("k") == {"list": [1]}


def test_lru_eviction_by_count_culls_a_third_least_recently_used_first() -> None:
    t = tier(max_entries=6, cull_frequency=3)
    for i in range(6):
        t.set(f"k{i}", i, None)
    t.get("k0")  # k0 becomes the most recently used
    t.set("new", 1, None)
    assert t.get("k1") is None and t.get("k2") is None
    assert [t.get(k) for k in ("k0", "k3", "k4", "k5", "new")] == [0, 3, 4, 5, 1]


def test_cull_frequency_zero_clears_everything() -> None:
    t = tier(max_entries=3, cull_frequency=0)
    for i in range(3):
        t.set(f"k{i}", i, None)
    t.set("new", 1, None)
    assert t.get_many(["k0", "k1", "k2", "new"]) == {"new": 1}


def test_eviction_by_bytes() -> None:
    t = tier(max_bytes=10_000)
    for i in range(10):
        t.set(f"k{i}", b"x" * 2_000, None)
    assert t.store.total_bytes <= 10_000
    assert t.get("k9") == b"x" * 2_000
    assert t.get("k0") is None
    assert sum(e.size for e in t.store.data.values()) == t.store.total_bytes


def test_value_larger_than_the_byte_budget_is_refused_not_stored() -> None:
    t = tier(max_bytes=1_000)
    t.set("k", "small", None)
    assert t.set("big", b"x" * 2_000, None) is False
    assert t.set_many({"big": b"x" * 2_000, "ok": 1}, None) == ["big"]
    assert t.get("big") is None and t.get("k") == "small"


def test_replacing_a_key_keeps_the_byte_count_and_an_oversized_value_removes_it() -> None:
    t = tier(max_bytes=5_000)
    t.set("other", "kept", None)
    for value in (b"x" * 100, b"x" * 3_000, b"x" * 10):  # larger, then smaller
        assert t.set("k", value, None)
        assert t.store.total_bytes == sum(e.size for e in t.store.data.values())
        assert list(t.store.data) == ["other", "k"]  # replaced in place, most recent last
    assert t.set("k", b"x" * 6_000, None) is False
    assert t.get("k") is None and t.get("other") == "kept"  # no older value left behind
    assert t.store.total_bytes == t.store.data["other"].size


def test_add_only_when_absent_or_expired() -> None:
    t = tier()
    assert t.add("k", 1, 0.01)
    assert not t.add("k", 2, None)
    time.sleep(0.02)
    assert t.add("k", 3, None)
    assert t.get("k") == 3


def test_incr_keeps_expiry_and_rejects_missing_and_non_integers() -> None:
    t = tier()
    t.set("n", 1, 100)
    assert t.incr("n", 5) == 6
    assert 99 < (t.ttl("n") or 0) <= 100
    with pytest.raises(KeyError):
        t.incr("missing")
    assert t.incr("created", 2, create=True) == 2
    t.set("s", "text", None)
    with pytest.raises(TypeError):
        t.incr("s")


def test_touch() -> None:
    t = tier()
    assert not t.touch("missing", 10)
    t.set("k", 1, 0.01)
    assert t.touch("k", None)
    time.sleep(0.02)
    assert t.get("k") == 1
    assert t.touch("k", 0)
    assert t.get("k") is None


def test_get_entries_reports_absolute_expiry() -> None:
    t = tier()
    t.set("a", [1], 10)
    t.set("b", "x", None)
    before = time.time()
    entries = t.get_entries(["a", "b", "c"])
    assert entries["b"] == ("x", None)
    value, expires = entries["a"]
    assert value == [1] and expires is not None and before < expires <= before + 10
    assert "c" not in entries


def test_signed_codec_ignores_a_tampered_entry() -> None:
    t = tier(signing_key="secret")
    t.set("k", {"a": 1}, None)
    entry = t.store.data["k"]
    t.store.data["k"] = entry._replace(value=entry.value[:-1] + b"!")
    assert t.get("k", "miss") == "miss"
    assert t.stats.errors == 1


def test_counters() -> None:
    t = tier("counted")
    t.set("k", 1, None)
    t.get("k")
    t.get("nope")
    assert (t.stats.hits, t.stats.misses, t.stats.sets) == (1, 1, 1)


def test_unknown_or_bad_option_is_named() -> None:
    with pytest.raises(ConfigurationError, match="MAX_ENTIRES"):
        tier(MAX_ENTIRES=5)
    with pytest.raises(ConfigurationError, match="MAX_BYTES"):
        tier(max_bytes=-1)


def test_concurrent_readers_and_writers_keep_the_store_consistent() -> None:
    t = tier(max_entries=200, max_bytes=200 * (ENTRY_OVERHEAD + 300))
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        try:
            for i in range(2_000):
                key = f"k{(seed * 7919 + i) % 500}"
                if i % 3 == 0:
                    t.set(key, {"v": [seed, i]}, None)
                elif i % 3 == 1:
                    got = t.get(key)
                    assert got is None or set(got) == {"v"}
                else:
                    t.delete(key)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(t.store.data) <= 200
    assert t.store.total_bytes == sum(e.size for e in t.store.data.values())
    assert t.store.total_bytes <= t.limits.max_bytes


def test_concurrent_incr_loses_no_update() -> None:
    t = tier()
    t.set("n", 0, None)
    threads = [threading.Thread(target=lambda: [t.incr("n") for _ in range(500)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert t.get("n") == 4_000


def test_codec_options_apply_to_encoded_values() -> None:
    t = memory("z", {"COMPRESS_MIN_BYTES": 100})
    assert t.codec.settings == CodecSettings(compress_min_bytes=100)
    t.set("k", ["x" * 10_000], None)
    assert t.store.data["k"].size < 1_000


class NeedsTwoArguments(Exception):
    """Pickles fine, but cannot be unpickled: __init__ wants an argument it is not given."""

    def __init__(self, a: int, b: int) -> None:
        super().__init__(a)


def test_a_value_that_cannot_be_unpickled_is_a_miss() -> None:
    t = tier()
    t.set("k", NeedsTwoArguments(1, 2), None)
    assert t.get("k", "miss") == "miss"
    assert t.get_many(["k"]) == {}
    assert t.stats.errors == 2


def test_culling_while_readers_reorder_the_store() -> None:
    # Each insert culls while readers reorder the LRU without the lock; a short switch interval
    # makes every interleaving likely. A writer that iterated over the dict would break here.
    t = tier(max_entries=2_000, cull_frequency=2_000)
    for i in range(2_000):
        t.set(f"k{i}", i, None)
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        while not stop.is_set():
            for i in range(0, 2_000, 3):
                t.get(f"k{i}")

    def writer() -> None:
        try:
            for i in range(1_500):
                t.set(f"w{i}", i, None)
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=reader) for _ in range(2)]
        threads.append(threading.Thread(target=writer))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []


def test_a_key_being_replaced_is_never_absent_to_a_lock_free_delete() -> None:
    # delete skips the lock when the key is absent; a set that replaced a present key by
    # popping and reinserting it would make that check see it absent for a moment.
    t = tier()
    t.set("k", 0, None)
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            t.set("k", i, None)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen_absent = sum("k" not in t.store.data for _ in range(200_000))
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert seen_absent == 0
    assert t.delete("k")
