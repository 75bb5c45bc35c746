"""Auto-recovery on every standalone shared stack: a write that could not reach the store never
leaves the older value readable once the store is back, and the breaker lets the first call
through as soon as its cooldown allows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from serverless_cache import clock
from serverless_cache.errors import CacheUnavailableError
from serverless_cache.tiers.base import Tier
from tests.contract.conftest import Stack

COOLDOWN = 1.0


def back(stack: Stack) -> None:
    """The store answers again, and a cooldown has passed since the last replay attempt."""
    assert stack.proxy is not None
    stack.proxy.forward()
    clock.advance(COOLDOWN)


def recovered(tier: Tier) -> int:
    inner: list[Tier] = getattr(tier, "tiers", [])
    return tier.stats.recovered + sum(part.stats.recovered for part in inner)


def _incr(tier: Tier) -> None:
    with pytest.raises(CacheUnavailableError):
        tier.incr("k", 5)


WRITES: dict[str, Callable[[Tier], Any]] = {
    "set": lambda tier: tier.set("k", "new", None),
    "set_many": lambda tier: tier.set_many({"k": "new", "other": 1}, None),
    "delete": lambda tier: tier.delete("k"),
    "touch": lambda tier: tier.touch("k", 0.5),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_write_dropped_while_down_leaves_no_older_value_once_back(
    lost_stack: Stack, write: str
) -> None:
    assert lost_stack.proxy is not None and lost_stack.raw is not None
    tier = lost_stack.make(BREAKER_THRESHOLD=1000)
    assert tier.set("k", "old", None)
    lost_stack.proxy.down()
    WRITES[write](tier)
    back(lost_stack)
    assert tier.get("k", "miss") == "miss"
    assert not lost_stack.raw.exists("k")
    assert recovered(tier) >= 1


def test_an_incr_of_unknown_outcome_is_undone_once_back(lost_stack: Stack) -> None:
    assert lost_stack.proxy is not None and lost_stack.raw is not None
    tier = lost_stack.make(BREAKER_THRESHOLD=1000)
    assert tier.set("k", 10, None)
    lost_stack.proxy.down()
    _incr(tier)
    back(lost_stack)
    assert tier.get("k", "miss") == "miss"
    assert not lost_stack.raw.exists("k")


def test_writes_skipped_by_the_open_breaker_are_undone_too(lost_stack: Stack) -> None:
    assert lost_stack.proxy is not None and lost_stack.raw is not None
    tier = lost_stack.make(BREAKER_THRESHOLD=1, BREAKER_COOLDOWN=COOLDOWN)
    assert tier.set("a", "old", None) and tier.set("b", "old", None)
    lost_stack.proxy.down()
    assert not tier.set("a", "new", None)  # fails: the breaker opens
    assert not tier.set("b", "new", None)  # skipped by the breaker
    lost_stack.proxy.forward()
    assert tier.get("a", "miss") == "miss"  # the breaker is still open: a miss, not "old"
    clock.advance(COOLDOWN)
    assert tier.get_many(["a", "b"]) == {}  # the first probe replays, then reads
    assert not lost_stack.raw.exists("a") and not lost_stack.raw.exists("b")


def test_the_first_call_after_the_cooldown_reaches_a_store_that_is_back(lost_stack: Stack) -> None:
    assert lost_stack.proxy is not None and lost_stack.raw is not None
    tier = lost_stack.make(BREAKER_THRESHOLD=1, BREAKER_COOLDOWN=COOLDOWN)
    lost_stack.raw.put_int("n", 7)
    lost_stack.proxy.down()
    assert tier.get("n", "miss") == "miss"  # fails: the breaker opens
    lost_stack.proxy.forward()
    assert tier.get("n", "miss") == "miss"  # not called: the breaker is open
    clock.advance(COOLDOWN)
    assert tier.get("n") == 7


def test_while_the_store_stays_down_the_journal_keeps_its_keys(lost_stack: Stack) -> None:
    assert lost_stack.proxy is not None and lost_stack.raw is not None
    tier = lost_stack.make(BREAKER_THRESHOLD=1000)
    assert tier.set("k", "old", None) and tier.set("later", "old", None)
    lost_stack.proxy.down()
    tier.set("k", "new", None)
    assert tier.get("k", "miss") == "miss"  # the replay failed: nothing was read
    tier.set("later", "new", None)
    back(lost_stack)
    assert tier.get_many(["k", "later"]) == {}
    assert not lost_stack.raw.exists("k") and not lost_stack.raw.exists("later")


def test_an_overflowing_journal_clears_the_namespace_and_only_it(lost_stack: Stack) -> None:
    assert lost_stack.proxy is not None and lost_stack.raw is not None
    tier = lost_stack.make(key_prefix="mine:", BREAKER_THRESHOLD=1000, RECOVERY_MAX_KEYS=2)
    neighbour = lost_stack.make(key_prefix="theirs:", name=lost_stack.name + "-n")
    mine = ["mine:a", "mine:b", "mine:c"]
    assert tier.set_many({**dict.fromkeys(mine, 1), "mine:untouched": 4}, None) == []
    assert neighbour.set("theirs:a", "kept", None)
    lost_stack.proxy.down()
    assert sorted(tier.set_many(dict.fromkeys(mine, 2), None)) == mine
    back(lost_stack)
    assert tier.get_many([*mine, "mine:untouched"]) == {}
    assert neighbour.get("theirs:a") == "kept"


def test_a_clear_that_failed_is_done_once_back(lost_stack: Stack) -> None:
    assert lost_stack.proxy is not None
    tier = lost_stack.make(key_prefix="mine:", BREAKER_THRESHOLD=1000)
    assert tier.set("mine:k", "old", None)
    lost_stack.proxy.down()
    assert not tier.clear()
    back(lost_stack)
    assert tier.get("mine:k", "miss") == "miss"


def _dropped_then_back_before_a_replay(stack: Stack, tier: Tier) -> None:
    """``k`` was "old"; a write of it was dropped, and a replay failed just before the store
    came back (the next one is not due yet)."""
    assert stack.proxy is not None
    assert tier.set("k", "old", None)
    stack.proxy.down()
    assert not tier.set("k", "dropped", None)
    assert tier.get("other", "miss") == "miss"  # tries the replay, which fails
    shared: Any = getattr(tier, "last", tier)
    shared.journal.next_attempt = clock.monotonic() + 3600  # on a busy machine, too
    stack.proxy.forward()


def test_a_later_write_that_lands_replaces_the_dropped_one(lost_stack: Stack) -> None:
    tier = lost_stack.make(BREAKER_THRESHOLD=1000)
    _dropped_then_back_before_a_replay(lost_stack, tier)
    assert tier.get("k", "miss") == "miss"
    assert tier.set("k", "landed", None)
    assert tier.get("k") == "landed"


def test_a_batch_read_before_the_replay_misses_only_the_suspect_key(lost_stack: Stack) -> None:
    tier = lost_stack.make(BREAKER_THRESHOLD=1000)
    _dropped_then_back_before_a_replay(lost_stack, tier)
    assert tier.set("clean", 1, None)
    assert tier.get_many(["k", "clean"]) == {"clean": 1}


def test_an_add_that_could_not_run_leaves_the_value_it_found(lost_stack: Stack) -> None:
    """An add never replaces a value, so a failed one leaves nothing to undo: the entry that
    was there (a value a get_or_set missed during the outage) is still served after it."""
    assert lost_stack.proxy is not None
    tier = lost_stack.make(BREAKER_THRESHOLD=1000)
    assert tier.set("k", "valid", None)
    lost_stack.proxy.down()
    assert not tier.add("k", "new", None)
    back(lost_stack)
    assert tier.get("k") == "valid"
    assert recovered(tier) == 0


def test_an_add_that_finds_the_older_value_leaves_the_key_a_miss(lost_stack: Stack) -> None:
    tier = lost_stack.make(BREAKER_THRESHOLD=1000)
    _dropped_then_back_before_a_replay(lost_stack, tier)
    assert not tier.add("k", "added", None)  # "old" is still in the store
    assert tier.get("k", "miss") == "miss"
