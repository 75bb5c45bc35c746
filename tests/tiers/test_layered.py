"""The layered tier's rules, proved with two in-process tiers standing in for L1 and L2.

Each "instance" is a LayeredTier with its own L1 store and its own process-wide state name;
instances of one test share the L2 store, as Lambda instances share Redis. The real-server
version (separate processes, Redis, DynamoDB) is in test_layered_servers.py.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from serverless_cache.codec import Codec, CodecSettings
from serverless_cache.errors import ConfigurationError
from serverless_cache.metrics import stats_for
from serverless_cache.tiers.base import MISSING
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.layered import (
    DEFAULT_LOCAL_CAP,
    DEFAULT_SHARED_CAP,
    LEASE_SUFFIX,
    STALE_SUFFIX,
    LayeredSettings,
    LayeredTier,
    TierSpec,
)
from serverless_cache.tiers.memory import MemorySettings, MemoryTier
from tests.tiers.build import SHARED, layered_tier, split_settings


class RecordingTier(MemoryTier):
    """A real memory tier that also records which keys each batch read asked for."""

    def __init__(self, store_name: str, max_bytes: int = 1 << 20) -> None:
        super().__init__(
            TierConfig(store_name, store_name), MemorySettings(max_bytes=max_bytes), Codec()
        )
        self.reads: list[list[str]] = []

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        self.reads.append(list(keys))
        return super().get_many(keys)

    def get_entries(
        self, keys: Sequence[str], **kwargs: Any
    ) -> dict[str, tuple[Any, float | None]]:
        self.reads.append(list(keys))
        return super().get_entries(keys, **kwargs)


class RacingTier(RecordingTier):
    """Runs ``hook`` once, at the chosen moment: another thread's write landing there."""

    def __init__(self, store_name: str) -> None:
        super().__init__(store_name)
        self.hook: Callable[[], Any] | None = None
        self.hook_after_read = True  # else just before the next set or set_many (a promotion)

    def _fire(self) -> None:
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()

    def get_entries(
        self, keys: Sequence[str], **kwargs: Any
    ) -> dict[str, tuple[Any, float | None]]:
        entries = super().get_entries(keys, **kwargs)
        if self.hook_after_read:
            self._fire()
        return entries

    def set(self, key: str, value: Any, ttl: float | None, **kwargs: Any) -> bool:
        if not self.hook_after_read:
            self._fire()
        return super().set(key, value, ttl, **kwargs)

    def set_many(self, items: Mapping[str, Any], ttl: float | None, **kwargs: Any) -> list[str]:
        if not self.hook_after_read:
            self._fire()
        return super().set_many(items, ttl, **kwargs)


class CountingTier(MemoryTier):
    """A real memory tier that records each call a caller makes (not its inner calls)."""

    def __init__(self, store_name: str) -> None:
        super().__init__(TierConfig(store_name, store_name), MemorySettings(), Codec())
        self.calls: list[str] = []
        self._inside = False

    def _count(self, name: str, *args: Any, **kwargs: Any) -> Any:
        outer = not self._inside
        if outer:
            self.calls.append(name)
            self._inside = True
        try:
            return getattr(MemoryTier, name)(self, *args, **kwargs)
        finally:
            if outer:
                self._inside = False

    def get(self, key: str, default: Any = None) -> Any:
        return self._count("get", key, default)

    def get_entries(
        self, keys: Sequence[str], **kwargs: Any
    ) -> dict[str, tuple[Any, float | None]]:
        return self._count("get_entries", keys, **kwargs)  # type: ignore[no-any-return]

    def set(self, key: str, value: Any, ttl: float | None, **kwargs: Any) -> bool:
        return self._count("set", key, value, ttl, **kwargs)  # type: ignore[no-any-return]

    def set_many(self, items: Mapping[str, Any], ttl: float | None, **kwargs: Any) -> list[str]:
        return self._count("set_many", items, ttl, **kwargs)  # type: ignore[no-any-return]

    def add(self, key: str, value: Any, ttl: float | None, **kwargs: Any) -> bool:
        return self._count("add", key, value, ttl, **kwargs)  # type: ignore[no-any-return]

    def delete(self, key: str) -> bool:
        return self._count("delete", key)  # type: ignore[no-any-return]

    def delete_many(self, keys: Sequence[str]) -> bool:
        return self._count("delete_many", keys)  # type: ignore[no-any-return]


def instance(
    name: str, shared: str = "shared", *, cap: float = 5.0, **settings: Any
) -> tuple[LayeredTier, RecordingTier, RecordingTier]:
    """One simulated Lambda instance: its own L1 and state, the L2 store ``shared``."""
    l1, l2 = RecordingTier(f"{name}-l1"), RecordingTier(shared)
    layered = LayeredTier(TierConfig(name), [l1, l2], [cap, None], *split_settings(settings))
    return layered, l1, l2


# -- reads and promotion ---------------------------------------------------------------------
def test_hit_below_is_promoted_with_the_cap() -> None:
    layered, l1, l2 = instance("a", cap=5.0)
    l2.set("k", "v", 100)
    assert layered.get("k") == "v"
    assert l1.get("k") == "v"
    remaining = l1.ttl("k")
    assert remaining is not None and 4 < remaining <= 5


def test_promotion_never_outlives_the_source_entry() -> None:
    layered, l1, l2 = instance("a", cap=5.0)
    l2.set("short", "v", 0.5)
    l2.set("forever", "w", None)
    assert layered.get_many(["short", "forever"]) == {"short": "v", "forever": "w"}
    assert l1.store.data["short"].expires_at <= l2.store.data["short"].expires_at
    forever_l1 = l1.ttl("forever")
    assert forever_l1 is not None and forever_l1 <= 5
    time.sleep(0.6)
    assert layered.get("short", "gone") == "gone"
    assert l1.get("short", "gone") == "gone"


def test_get_many_asks_each_tier_only_for_missing_keys_in_one_batch() -> None:
    layered, l1, l2 = instance("a")
    layered.get("warm-up")  # the first read also reads the epoch
    l1.reads.clear()
    l2.reads.clear()
    l1.set("a", 1, None)
    l2.set("b", 2, None)
    assert layered.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}
    assert l1.reads == [["a", "b", "c"]]
    assert l2.reads == [["b", "c"]]


def test_promotion_counts_and_per_tier_hits() -> None:
    layered, l1, l2 = instance("a")
    l2.set("k", "v", None)
    layered.get("k")
    layered.get("k")
    assert l1.stats.promotions == 1
    assert l1.stats.hits == 1
    assert l2.stats.hits >= 1
    assert layered.stats.hits == 2
    assert layered.stats_by_tier() == {"1:memory": l1.stats, "2:memory": l2.stats}


def test_a_miss_everywhere_is_a_miss() -> None:
    layered, _, _ = instance("a")
    assert layered.get("nope", "default") == "default"
    assert layered.stats.misses == 1


WRITES_RACING_A_READ: dict[str, tuple[Callable[[LayeredTier], Any], Any]] = {
    "set": (lambda t: t.set("k", 2, None), 2),
    "set_many": (lambda t: t.set_many({"k": 2}, None), 2),
    "add": (lambda t: (t.last.delete("k"), t.add("k", 2, None)), 2),
    "incr": (lambda t: t.incr("k", 1), 2),
    "delete": (lambda t: t.delete("k"), MISSING),
    "delete_many": (lambda t: t.delete_many(["k"]), MISSING),
    "clear": (lambda t: t.clear(), MISSING),
}


@pytest.mark.parametrize("write", list(WRITES_RACING_A_READ))
@pytest.mark.parametrize("moment", ["after the shared read", "just before the promotion"])
def test_a_read_racing_a_local_write_never_leaves_the_older_value_above(
    write: str, moment: str
) -> None:
    """Thread A reads 1 from L2, thread B writes; A's promotion must not bring 1 back to L1."""
    l2 = RacingTier("shared")
    l1 = RacingTier("a-l1")
    layered = LayeredTier(TierConfig("a"), [l1, l2], [5.0, None])
    layered.get("warm-up")  # reads the epoch
    l2.set("k", 1, None)
    racing_write, expected = WRITES_RACING_A_READ[write]
    if moment == "after the shared read":
        l2.hook = lambda: racing_write(layered)
    else:
        l1.hook_after_read = False
        l1.hook = lambda: racing_write(layered)
    assert layered.get("k", MISSING) == 1  # read before the write finished: may be old
    assert l1.get("k", MISSING) in (expected, MISSING)
    assert layered.get("k", MISSING) == expected


def test_a_read_with_no_write_during_it_still_promotes() -> None:
    layered, l1, l2 = instance("a")
    layered.get("warm-up")
    layered.set("other", 0, None)  # a write before the read does not block its promotion
    l2.set("k", 1, None)
    assert layered.get("k") == 1
    assert l1.get("k") == 1


# -- writes ----------------------------------------------------------------------------------
def test_set_writes_through_with_the_upper_tier_capped() -> None:
    layered, l1, l2 = instance("a", cap=5.0)
    assert layered.set("k", {"x": 1}, 100)
    assert l2.get("k") == {"x": 1} and l1.get("k") == {"x": 1}
    l1_ttl, l2_ttl = l1.ttl("k"), l2.ttl("k")
    assert l1_ttl is not None and l1_ttl <= 5
    assert l2_ttl is not None and l2_ttl > 90
    assert layered.set_many({"a": 1, "b": 2}, None) == []
    assert l1.get_many(["a", "b"]) == {"a": 1, "b": 2}
    assert l2.ttl("a") is None


def test_a_set_encodes_a_mutable_value_once_and_no_tier_shares_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layered, l1, l2 = instance("a")
    dumps, pickled = pickle.dumps, []

    def counted(*args: Any) -> bytes:
        pickled.append(args[0])
        return dumps(*args)

    monkeypatch.setattr(pickle, "dumps", counted)
    value = {"list": [1]}
    assert layered.set("k", value, 100) and layered.set_many({"m": value}, 100) == []
    assert layered.add("a", value, 100)
    assert len(pickled) == 3  # one per write, for both tiers
    value["list"].append(2)
    for key in ("k", "m", "a"):
        assert l1.get(key) == {"list": [1]} and l2.get(key) == {"list": [1]}


def test_tiers_of_different_codecs_each_encode_for_themselves() -> None:
    l1 = RecordingTier("codecs-l1")
    l2 = MemoryTier(TierConfig("codecs-l2", "codecs-l2"), MemorySettings(), Codec())
    l2.set_codec(Codec(CodecSettings(signing_key="k" * 32)))
    l2.in_process = False  # type: ignore[misc]  # standing in for a shared tier
    layered = LayeredTier(TierConfig("codecs"), [l1, l2], [5.0, None])
    assert layered.shared_codec is None
    assert layered.set("k", {"x": 1}, 100)
    assert l1.get("k") == {"x": 1} and l2.get("k") == {"x": 1}
    assert l2.store.data["k"].value[0] == 0x20  # signed by its own codec


def test_a_value_the_shared_tier_refuses_is_not_kept_above() -> None:
    l1, l2 = RecordingTier("a-l1"), RecordingTier("tiny", max_bytes=400)
    layered = LayeredTier(TierConfig("a"), [l1, l2], [5.0, None])
    layered.set("k", "old", None)
    assert l1.get("k") == "old"
    big = "x" * 2000
    assert layered.set("k", big, None) is False
    assert l1.get("k", MISSING) is MISSING
    assert layered.set_many({"k": big, "small": 1}, None) == ["k"]
    assert l1.get("k", MISSING) is MISSING and l1.get("small") == 1
    assert layered.get("k", "miss") == "miss"


def test_add_is_decided_by_the_last_tier() -> None:
    a, a_l1, l2 = instance("a")
    b, b_l1, _ = instance("b")
    assert a.add("k", "from-a", None) is True
    assert a_l1.get("k") == "from-a"
    b_l1.set("k", "stale copy", None)
    assert b.add("k", "from-b", None) is False
    assert b_l1.get("k", MISSING) is MISSING
    assert b.get("k") == "from-a"
    assert l2.get("k") == "from-a"


def test_incr_is_decided_by_the_last_tier_and_drops_upper_copies() -> None:
    a, a_l1, l2 = instance("a")
    b, _, _ = instance("b")
    a.set("n", 1, None)
    assert b.incr("n", 5) == 6
    assert a.incr("n") == 7
    assert a_l1.get("n", MISSING) is MISSING
    assert a.get("n") == 7 and b.get("n") == 7
    assert l2.get("n") == 7
    with pytest.raises(KeyError):
        a.incr("missing")
    assert a.incr("created", 2, create=True) == 2


def test_delete_touch_and_ttl_reach_every_tier() -> None:
    layered, l1, l2 = instance("a", cap=5.0)
    layered.set_many({"a": 1, "b": 2, "c": 3}, 100)
    assert layered.delete("a") is True
    assert l1.get("a", MISSING) is MISSING and l2.get("a", MISSING) is MISSING
    assert layered.delete("a") is False
    assert layered.delete_many(["b"]) is True
    assert layered.get("b", MISSING) is MISSING
    assert layered.touch("c", 1000) is True
    l1_ttl, l2_ttl = l1.ttl("c"), layered.ttl("c")
    assert l1_ttl is not None and l1_ttl <= 5
    assert l2_ttl is not None and l2_ttl > 900
    assert layered.touch("nope", 10) is False
    assert layered.has("c") and not layered.has("nope")


def test_set_with_a_non_positive_ttl_removes_everywhere() -> None:
    layered, l1, l2 = instance("a")
    layered.set("k", 1, None)
    layered.set("k", 2, 0)
    assert l1.get("k", MISSING) is MISSING and l2.get("k", MISSING) is MISSING


# -- epoch -----------------------------------------------------------------------------------
def test_clear_on_one_instance_empties_the_others_l1_within_the_interval() -> None:
    a, _, l2 = instance("a", epoch_check_interval=0.3)
    b, b_l1, _ = instance("b", epoch_check_interval=0.3)
    a.set("k", "v", None)
    assert b.get("k") == "v"
    assert b_l1.get("k") == "v"
    assert a.clear() is True
    assert l2.get("k", MISSING) is MISSING
    time.sleep(0.35)
    assert b.get("k", "gone") == "gone"
    assert b_l1.get("k", MISSING) is MISSING


def test_l1_hits_do_not_read_the_epoch_each_time() -> None:
    layered, _, l2 = instance("a", epoch_check_interval=60)
    layered.set("k", "v", None)
    layered.get("k")
    l2.reads.clear()
    for _ in range(100):
        assert layered.get("k") == "v"
    assert l2.reads == []


def test_invalidate_all_keeps_the_shared_tier() -> None:
    a, a_l1, l2 = instance("a", epoch_check_interval=0.2)
    b, b_l1, _ = instance("b", epoch_check_interval=0.2)
    a.set("k", "v", None)
    b.get("k")
    assert a.invalidate_all() is True
    assert a_l1.get("k", MISSING) is MISSING
    assert l2.get("k") == "v"
    time.sleep(0.25)
    b.get("other")
    assert b_l1.get("k", MISSING) is MISSING
    assert b.get("k") == "v"


# -- stampede protection ---------------------------------------------------------------------
def run_threads(count: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = target()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def slow_counter(calls: list[int], seconds: float = 0.2, value: Any = "computed") -> Any:
    def compute() -> Any:
        calls.append(1)
        time.sleep(seconds)
        return value

    return compute


def test_get_or_set_computes_once_per_process() -> None:
    layered, _, l2 = instance("a")
    calls: list[int] = []
    results = run_threads(20, lambda: layered.get_or_set("k", slow_counter(calls), 60))
    assert results == ["computed"] * 20
    assert len(calls) == 1
    assert l2.get("k") == "computed"
    assert layered.get_or_set("k", slow_counter(calls), 60) == "computed"
    assert len(calls) == 1


def test_get_or_set_error_reaches_every_waiter_and_is_not_cached() -> None:
    layered, _, _ = instance("a")

    def fail() -> Any:
        time.sleep(0.1)
        raise RuntimeError("backend down")

    results = run_threads(5, lambda: layered.get_or_set("k", fail, 60))
    assert all(isinstance(r, RuntimeError) for r in results)
    assert layered.get("k", MISSING) is MISSING


def test_without_lease_each_instance_computes_once() -> None:
    a, _, _ = instance("a")
    b, _, _ = instance("b")
    calls: list[int] = []
    counter = iter(range(1000))
    results = run_threads(
        20, lambda: [a, b][next(counter) % 2].get_or_set("k", slow_counter(calls), 60)
    )
    assert results == ["computed"] * 20
    assert len(calls) == 2


def test_with_lease_instances_compute_once_in_total() -> None:
    a, _, _ = instance("a", lease=True, lease_poll_interval=0.01)
    b, _, l2 = instance("b", lease=True, lease_poll_interval=0.01)
    calls: list[int] = []
    counter = iter(range(1000))
    results = run_threads(
        20, lambda: [a, b][next(counter) % 2].get_or_set("k", slow_counter(calls), 60)
    )
    assert results == ["computed"] * 20
    assert len(calls) == 1
    assert l2.get("k" + LEASE_SUFFIX, MISSING) is MISSING  # released


def test_a_crashed_lease_holder_blocks_no_longer_than_the_lease() -> None:
    layered, _, l2 = instance("a", lease=True, lease_ttl=5, lease_poll_interval=0.01)
    l2.add("k" + LEASE_SUFFIX, "holder that crashed", 0.3)
    calls: list[int] = []
    started = time.monotonic()
    assert layered.get_or_set("k", slow_counter(calls, 0), 60) == "computed"
    waited = time.monotonic() - started
    assert len(calls) == 1
    assert 0.25 <= waited < 3


def test_waiters_wait_a_bounded_time_then_compute() -> None:
    layered, _, l2 = instance("a", lease=True, lease_wait=0.3, lease_poll_interval=0.01)
    l2.add("k" + LEASE_SUFFIX, "slow holder", 60)
    calls: list[int] = []
    started = time.monotonic()
    assert layered.get_or_set("k", slow_counter(calls, 0), 60) == "computed"
    assert 0.25 <= time.monotonic() - started < 3
    assert len(calls) == 1


def test_waiters_get_the_previous_value_while_one_recomputes() -> None:
    a, _, _ = instance("a", lease=True, stale_ttl=60)
    b, _, _ = instance("b", lease=True, stale_ttl=60)
    assert a.get_or_set("k", lambda: "v1", 0.2) == "v1"
    time.sleep(0.25)
    assert a.get("k", MISSING) is MISSING
    calls: list[int] = []
    holder = threading.Thread(target=a.get_or_set, args=("k", slow_counter(calls, 0.5, "v2"), 60))
    holder.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert b.get_or_set("k", slow_counter(calls, 0, "never"), 60) == "v1"
    assert time.monotonic() - started < 0.4
    holder.join()
    assert len(calls) == 1
    assert b.get("k") == "v2"


def counted_instance(**settings: Any) -> tuple[LayeredTier, CountingTier]:
    l2 = CountingTier("shared")
    layered = LayeredTier(
        TierConfig("a"), [RecordingTier("a-l1"), l2], [5.0, None], *split_settings(settings)
    )
    layered.get("warm-up")  # reads (and creates) the epoch
    l2.calls.clear()
    return layered, l2


def test_get_or_set_on_a_miss_costs_two_round_trips_without_lease() -> None:
    layered, l2 = counted_instance()
    assert layered.get_or_set("k", lambda: "v", 60) == "v"
    assert l2.calls == ["get_entries", "add"]  # stored with add: concurrent instances agree
    l2.calls.clear()
    assert layered.get_or_set("k", lambda: "other", 60) == "v"
    assert l2.calls == []


def test_get_or_set_on_a_miss_with_lease_re_reads_only_after_taking_it() -> None:
    layered, l2 = counted_instance(lease=True)
    assert layered.get_or_set("k", lambda: "v", 60) == "v"
    # was: get_entries, get_entries, add, get_entries, set_many, get, delete
    assert l2.calls == ["get_entries", "add", "get_entries", "add", "delete"]
    assert l2.get("k" + LEASE_SUFFIX, MISSING) is MISSING


def test_a_lease_held_past_half_its_lifetime_is_released_only_if_still_ours() -> None:
    layered, l2 = counted_instance(lease=True, lease_ttl=0.2)

    def slow_then_lose_the_lease() -> str:
        time.sleep(0.25)  # our lease lapsed; another instance took it
        l2.add("k" + LEASE_SUFFIX, "someone else", 60)
        return "v"

    assert layered.get_or_set("k", slow_then_lose_the_lease, 60) == "v"
    assert l2.get("k" + LEASE_SUFFIX) == "someone else"


@pytest.mark.parametrize("delete", ["delete", "delete_many"])
def test_a_deleted_value_is_not_served_as_the_stale_copy(delete: str) -> None:
    a, _, l2 = instance("a", lease=True, stale_ttl=60, lease_wait=0.1, lease_poll_interval=0.01)
    assert a.get_or_set("k", lambda: "deleted", 60) == "deleted"
    assert l2.get("k" + STALE_SUFFIX) == "deleted"
    if delete == "delete":
        assert a.delete("k") is True
    else:
        assert a.delete_many(["k"]) is True
    assert l2.get("k" + STALE_SUFFIX, MISSING) is MISSING
    l2.add("k" + LEASE_SUFFIX, "another instance computing", 60)
    assert a.get_or_set("k", lambda: "fresh", 60) == "fresh"


def test_memoize_caches_a_plain_function_per_arguments() -> None:
    layered, _, _ = instance("a")
    calls: list[tuple[int, int]] = []

    @layered.memoize(60)
    def add(x: int, y: int = 0) -> int:
        calls.append((x, y))
        return x + y

    assert add(1, y=2) == 3
    assert add(1, y=2) == 3
    assert add(2) == 2
    assert calls == [(1, 2), (2, 0)]
    assert add.__name__ == "add"


# -- configuration ---------------------------------------------------------------------------
def test_from_options_builds_each_tier_with_its_own_options() -> None:
    layered = layered_tier(
        "app",
        {
            "TIERS": [
                {"TIER": "memory", "CAP": 2, "OPTIONS": {"MAX_ENTRIES": 10}},
                {"tier": SHARED, "location": "app-shared"},
            ],
            "EPOCH_CHECK_INTERVAL": 0.5,
        },
    )
    first, last = layered.tiers
    assert isinstance(first, MemoryTier) and isinstance(last, MemoryTier)
    assert first.limits.max_entries == 10
    assert first.store is not last.store
    assert layered.caps == [2, None]
    assert layered.settings.epoch_check_interval == 0.5
    layered.set("k", "v", None)
    layered.get("k")
    assert stats_for("app", "memory") is first.stats
    assert stats_for("app", "layered").hits == 1


def test_an_in_process_upper_tier_gets_a_default_cap() -> None:
    layered = layered_tier(
        "app", {"TIERS": [{"TIER": "memory"}, {"TIER": SHARED, "LOCATION": "shared"}]}
    )
    assert layered.caps == [10.0, None]


def two_tiers(cap: float = 5) -> list[dict[str, Any]]:
    return [{"TIER": "memory", "CAP": cap}, {"TIER": SHARED, "LOCATION": "shared"}]


def test_caches_of_one_name_with_other_prefixes_or_tiers_keep_their_own_l1() -> None:
    options = {"TIERS": two_tiers(), "EPOCH_CHECK_INTERVAL": 0}
    one = layered_tier("layered", options, prefix="one:")
    two = layered_tier("layered", options, prefix="two:")
    other_cap = layered_tier("layered", {**options, "TIERS": two_tiers(cap=6)}, prefix="one:")
    assert len({id(t.state) for t in (one, two, other_cap)}) == 3
    l1_stores = {id(t.first.store) for t in (one, two, other_cap)}  # type: ignore[attr-defined]
    assert len(l1_stores) == 3
    for cache in (one, two, other_cap):
        cache.get("warm-up")  # the first read of the epoch empties L1
    one.set("one:k", "v", None)
    two.get("two:x")  # reads its own epoch, which differs from one's
    other_cap.get("one:y")
    assert one.first.get("one:k") == "v"
    assert one.get("one:k") == "v"
    assert stats_for("layered", "memory") is one.first.stats  # metrics keep the cache's name


def test_caches_with_the_same_configuration_share_their_state() -> None:
    options = {"TIERS": two_tiers(), "EPOCH_CHECK_INTERVAL": 0}
    first = layered_tier("layered", options, prefix="p:")
    again = layered_tier(
        "layered", {"tiers": [{"cap": 5, "tier": "memory"}, two_tiers()[1]]}, prefix="p:"
    )
    assert first.state is again.state
    assert first.first.store is again.first.store  # type: ignore[attr-defined]


def test_reprs_of_the_settings_hide_secrets() -> None:
    secrets = ["hunter2", "pw-secret", "sign-secret", "aws-secret"]
    raw: dict[str, Any] = {
        "TIER": "redis",
        "LOCATION": "redis://user:hunter2@cache.example:6379/0",
        "OPTIONS": {"PASSWORD": "pw-secret", "SIGNING_KEY": "sign-secret"},
    }
    dynamo: dict[str, Any] = {
        "TIER": "dynamodb",
        "OPTIONS": {"AWS_SECRET_ACCESS_KEY": "aws-secret"},
    }
    specs = [
        TierSpec(tier="redis", location=raw["LOCATION"], options=raw["OPTIONS"]),
        TierSpec(
            tier="redis",
            location="redis://:hunter2@a:6379,rediss://:hunter2@b:6380",
            options=dynamo["OPTIONS"],
        ),
        TierSpec(tier="redis", location=["redis://:hunter2@a:6379"]),
    ]
    settings = LayeredSettings(tiers=[{"TIER": "memory"}, raw, dynamo])
    for text in [*map(repr, specs), *map(str, specs), repr(settings), str(settings)]:
        assert not [secret for secret in secrets if secret in text], text
    assert "cache.example:6379" in repr(specs[0])
    assert "rediss://b:6380" in repr(specs[1])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "TIERS must be a list of at least two"),
        ({"TIERS": [{"TIER": "memory"}]}, "TIERS must be a list of at least two"),
        ({"TIERS": [{"TIER": "memory"}, {"OPTIONS": {}}]}, "needs TIER"),
        ({"TIERS": [{"TIER": "memory"}, {"TIER": "memcache"}]}, "'memcache' is not one of"),
        ({"TIERS": [{"TIER": "memory", "CAPP": 1}, {"TIER": SHARED}]}, "unknown option 'CAPP'"),
        ({"TIERS": [{"TIER": "memory", "CAP": -1}, {"TIER": SHARED}]}, "CAP must be a number"),
        ({"TIERS": ["memory", "redis"]}, "must be a dict"),
        ({"TIERS": [{"TIER": "memory"}, {"TIER": SHARED}], "LEASE": "yes"}, "LEASE must be"),
        ({"TIERS": [{"TIER": "memory"}, {"TIER": SHARED}], "LEASE_TTL": 0}, "LEASE_TTL must be"),
        ({"TIERS": [{"TIER": SHARED}, {"TIER": "memory"}]}, "the last tier decides add and incr"),
    ],
)
def test_bad_configuration_says_what_to_fix(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        layered_tier("app", options)


def test_importing_the_layered_tier_loads_no_network_client() -> None:
    code = (
        "import sys, serverless_cache.tiers.layered; "
        "print(sorted(m for m in ('redis', 'boto3', 'botocore') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


def test_every_tier_above_the_last_gets_a_finite_default_cap() -> None:
    layered = layered_tier(
        "caps",
        {
            "TIERS": [
                {"TIER": "memory"},
                {"TIER": "redis", "LOCATION": "redis://127.0.0.1:1/0"},
                {"TIER": "redis", "LOCATION": "redis://127.0.0.1:2/0"},
            ]
        },
    )
    assert layered.caps == [DEFAULT_LOCAL_CAP, DEFAULT_SHARED_CAP, None]
