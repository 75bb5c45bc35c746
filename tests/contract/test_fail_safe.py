"""Fail-safe, factory timeouts, eager refresh and jitter on every stack, through get_or_set."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from serverless_cache import clock, metrics
from serverless_cache.errors import FactoryTimeoutError
from serverless_cache.stampede import LEASE_SUFFIX
from serverless_cache.tiers.base import Tier
from tests.contract.conftest import LOST, Stack, make_stack
from tests.contract.test_get_or_set import Computation

MAX_AGE = 600.0


class Failing:
    """A factory that raises, counting its calls (the database is down)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        raise ConnectionError("the database is down")


def counter(tier: Tier, name: str) -> int:
    inner: list[Tier] = getattr(tier, "tiers", [])
    return int(getattr(tier.stats, name)) + sum(int(getattr(t.stats, name)) for t in inner)


def join_factories() -> None:
    """Wait for every factory still running in a thread (their late results are stored)."""
    for thread in threading.enumerate():
        if thread.name == "serverless-cache-factory":
            thread.join(5)


def expired_with_fallback(stack: Stack, tier: Tier, value: Any) -> None:
    """``value`` computed and stored, then its entry expired; its fallback copy remains."""
    assert tier.get_or_set("k", lambda: value, stack.short_ttl) == value
    stack.expire()
    assert tier.get("k", "expired") == "expired"


# -- fail-safe ---------------------------------------------------------------------------------
def test_a_failing_factory_is_answered_with_the_last_known_value(stack: Stack) -> None:
    tier = stack.make(FAIL_SAFE_MAX_AGE=MAX_AGE)
    expired_with_fallback(stack, tier, {"v": 1})
    failing = Failing()
    assert tier.get_or_set("k", failing, 100) == {"v": 1}
    assert failing.calls == 1
    assert counter(tier, "fail_safe") == 1


def test_without_fail_safe_the_factory_error_reaches_the_caller(stack: Stack) -> None:
    tier = stack.make(STALE_TTL=MAX_AGE)
    expired_with_fallback(stack, tier, {"v": 1})
    with pytest.raises(ConnectionError):
        tier.get_or_set("k", Failing(), 100)


def test_the_fallback_is_the_last_value_set_not_an_older_computed_one(stack: Stack) -> None:
    tier = stack.make(FAIL_SAFE_MAX_AGE=MAX_AGE)
    assert tier.get_or_set("k", lambda: "computed", 100) == "computed"
    assert tier.set("k", "set later", stack.short_ttl)
    stack.expire()
    assert tier.get_or_set("k", Failing(), 100) == "set later"


def test_a_deleted_key_has_no_fallback(stack: Stack) -> None:
    tier = stack.make(FAIL_SAFE_MAX_AGE=MAX_AGE)
    assert tier.get_or_set("k", lambda: "computed", 100) == "computed"
    assert tier.delete("k")
    with pytest.raises(ConnectionError):
        tier.get_or_set("k", Failing(), 100)


def test_an_unreachable_store_is_answered_without_the_factory_or_an_error(
    lost_stack: Stack,
) -> None:
    """A layered cache answers from its L1 fallback past the CAP; a shared tier alone has no
    copy it can reach, so it computes (and never raises)."""
    assert lost_stack.proxy is not None
    tier = lost_stack.make(FAIL_SAFE_MAX_AGE=MAX_AGE, BREAKER_THRESHOLD=1000)
    assert tier.get_or_set("k", lambda: "known", 100) == "known"
    lost_stack.proxy.down()
    clock.advance(11)  # past the layered stacks' CAP of 10 s: the L1 copy lapsed
    compute = Computation("computed")
    answer = tier.get_or_set("k", compute, 100)
    if lost_stack.id.startswith("layered"):
        assert (answer, compute.calls) == ("known", 0)
        assert counter(tier, "fail_safe") == 1
    else:
        assert (answer, compute.calls) == ("computed", 1)


# -- factory timeouts --------------------------------------------------------------------------
def test_a_slow_factory_is_answered_with_the_fallback_and_stored_when_done(stack: Stack) -> None:
    tier = stack.make(FAIL_SAFE_MAX_AGE=MAX_AGE, FACTORY_SOFT_TIMEOUT=0.05)
    expired_with_fallback(stack, tier, "old")
    slow = Computation("new", hold=True)
    assert tier.get_or_set("k", slow, 100) == "old"
    assert counter(tier, "factory_timeouts") == 1
    slow.release.set()
    join_factories()
    assert tier.get("k") == "new"


def test_past_the_hard_timeout_without_a_fallback_the_caller_gets_an_error(stack: Stack) -> None:
    tier = stack.make(FACTORY_HARD_TIMEOUT=0.05)
    slow = Computation("new", hold=True)
    with pytest.raises(FactoryTimeoutError, match="FACTORY_HARD_TIMEOUT"):
        tier.get_or_set("k", slow, 100)
    slow.release.set()
    join_factories()
    assert tier.get("k") == "new"  # finished within the same invocation: stored


def test_a_result_that_finishes_in_a_later_invocation_is_dropped(stack: Stack) -> None:
    tier = stack.make(FACTORY_HARD_TIMEOUT=0.05)
    slow = Computation("computed before the freeze", hold=True)
    with pytest.raises(FactoryTimeoutError):
        tier.get_or_set("k", slow, 100)
    metrics.begin_invocation()  # the process was frozen and thawed for the next invocation
    slow.release.set()
    join_factories()
    assert tier.get("k", "miss") == "miss"


# -- eager refresh -----------------------------------------------------------------------------
def eager_ttl(stack: Stack) -> float:
    """A ttl that ``clock.advance(11)`` then ``stack.expire()`` takes past its half, not its end."""
    if stack.whole_seconds:
        return 4.0  # the server's clock, whole seconds: expire() waits 2.1 s
    if stack.server_clock:
        return 0.8  # expire() waits 0.5 s
    return 30.0  # our clock: 11 + 7 s


def test_past_the_eager_threshold_one_caller_refreshes_before_expiry(stack: Stack) -> None:
    ttl = eager_ttl(stack)
    tier = stack.make(EAGER_REFRESH=0.5)
    assert tier.get_or_set("k", lambda: "first", ttl) == "first"
    fresh = Computation("fresh")
    assert tier.get_or_set("k", fresh, ttl) == "first"  # before the threshold: a plain hit
    assert fresh.calls == 0
    clock.advance(11)  # a layered stack's L1 copy lapses (its CAP is 10 s)
    stack.expire()  # past half of ttl, still alive
    assert tier.get_or_set("k", fresh, ttl) == "fresh"
    assert fresh.calls == 1
    assert counter(tier, "eager_refreshes") == 1  # not a miss: refreshed before expiry


def test_while_another_holds_the_lease_the_current_value_is_answered(stack: Stack) -> None:
    ttl = eager_ttl(stack)
    tier = stack.make(EAGER_REFRESH=0.5)
    assert tier.get_or_set("k", lambda: "current", ttl) == "current"
    assert tier.authority.add("k" + LEASE_SUFFIX, "another instance", 100)
    clock.advance(11)
    stack.expire()
    fresh = Computation("fresh")
    assert tier.get_or_set("k", fresh, ttl) == "current"
    assert fresh.calls == 0


def test_a_failing_refresh_keeps_the_current_value(stack: Stack) -> None:
    ttl = eager_ttl(stack)
    tier = stack.make(EAGER_REFRESH=0.5)
    assert tier.get_or_set("k", lambda: "current", ttl) == "current"
    clock.advance(11)
    stack.expire()
    assert tier.get_or_set("k", Failing(), ttl) == "current"
    assert tier.get("k") == "current"


# -- jitter ------------------------------------------------------------------------------------
def test_jitter_spreads_the_expiry_of_keys_computed_together(stack: Stack) -> None:
    tier = stack.make(JITTER=0.5)
    left = []
    for number in range(8):
        tier.get_or_set(f"k{number}", lambda: "v", 1000)
        remaining = tier.ttl(f"k{number}")
        assert remaining is not None and 499 <= remaining <= 1000
        left.append(round(remaining))
    assert len(set(left)) > 1


@pytest.mark.parametrize("stack_id", [s for s in LOST if s.startswith("layered")])
def test_an_l1_fallback_is_never_older_than_what_the_instance_read(
    request: pytest.FixtureRequest, stack_id: str
) -> None:
    lost_stack = make_stack(request, stack_id, "lost")
    assert lost_stack.proxy is not None
    here = lost_stack.make(FAIL_SAFE_MAX_AGE=MAX_AGE, BREAKER_THRESHOLD=1000)
    elsewhere = lost_stack.make(name=lost_stack.name + "-b", FAIL_SAFE_MAX_AGE=MAX_AGE)
    assert here.get_or_set("k", lambda: "first", 100) == "first"
    assert elsewhere.set("k", "second", 100)
    clock.advance(11)  # here's L1 copy lapses
    assert here.get("k") == "second"  # promoted: its L1 fallback copy is renewed too
    lost_stack.proxy.down()
    clock.advance(11)
    assert here.get_or_set("k", Failing(), 100) == "second"
