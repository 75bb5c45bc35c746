"""Contract rules 1, 5, 9 and 10 on every shared stack: a store that cannot be reached, the
circuit breaker that stops calling it, and errors the store answered, which never open it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from serverless_cache import clock
from serverless_cache.errors import CacheUnavailableError
from serverless_cache.tiers.base import Tier
from tests.contract.conftest import DynamoDBRaw, MemcachedRaw, RedisRaw, Stack

COOLDOWN = 5.0


def fail_open_answers(tier: Tier) -> list[tuple[str, Callable[[], Any], Any]]:
    """Each call with FAIL_OPEN, and what it must answer when the store is down."""
    return [
        ("get", lambda: tier.get("k", "default"), "default"),
        ("get_many", lambda: tier.get_many(["a", "b"]), {}),
        ("has", lambda: tier.has("k"), False),
        ("set", lambda: tier.set("k", "v", None), False),
        ("set ttl", lambda: tier.set("k", "v", 60), False),
        ("set_many", lambda: tier.set_many({"a": 1, "b": 2}, None), ["a", "b"]),
        ("add", lambda: tier.add("k", "v", None), False),
        ("delete", lambda: tier.delete("k"), False),
        ("delete_many", lambda: tier.delete_many(["a", "b"]), False),
        ("touch", lambda: tier.touch("k", 60), False),
        ("clear", lambda: tier.clear(), False),
        # ttl <= 0 is a removal, and says it did not reach the store (rule 1)
        ("set ttl 0", lambda: tier.set("k", "v", 0), False),
        ("set_many ttl 0", lambda: sorted(tier.set_many({"a": 1, "b": 2}, 0)), ["a", "b"]),
        ("add ttl 0", lambda: tier.add("k", "v", 0), False),
        ("touch ttl 0", lambda: tier.touch("k", 0), False),
    ]


def every_call(tier: Tier) -> list[tuple[str, Callable[[], Any]]]:
    """Every public call that needs the store."""
    calls = [(name, call) for name, call, _ in fail_open_answers(tier)]
    return [
        *calls,
        ("get_entries", lambda: tier.get_entries(["a"])),
        ("ttl", lambda: tier.ttl("k")),
        ("incr", lambda: tier.incr("k")),
        ("incr create", lambda: tier.incr("k", 1, create=True)),
    ]


@pytest.mark.parametrize("threshold", [1000, 1], ids=["breaker-closed", "breaker-open"])
def test_fail_open_answers_misses_and_dropped_writes(down_stack: Stack, threshold: int) -> None:
    tier = down_stack.make(BREAKER_THRESHOLD=threshold, BREAKER_COOLDOWN=COOLDOWN)
    answers = {name: call() for name, call, _ in fail_open_answers(tier)}
    assert answers == {name: expected for name, _, expected in fail_open_answers(tier)}


def test_calls_that_failed_are_counted_in_stats_errors(down_stack: Stack) -> None:
    tier = down_stack.make(BREAKER_THRESHOLD=1000)
    for call in (lambda: tier.get("k"), lambda: tier.set("k", "v", None), tier.clear):
        before = Stack.errors(tier)
        call()
        assert Stack.errors(tier) > before


@pytest.mark.parametrize("threshold", [1000, 1], ids=["breaker-closed", "breaker-open"])
def test_incr_raises_cache_unavailable_even_with_fail_open(
    down_stack: Stack, threshold: int
) -> None:
    tier = down_stack.make(BREAKER_THRESHOLD=threshold, BREAKER_COOLDOWN=COOLDOWN)
    for _ in range(3):
        with pytest.raises(CacheUnavailableError):
            tier.incr("k")
        with pytest.raises(CacheUnavailableError):
            tier.incr("k", -1, create=True)


@pytest.mark.parametrize("threshold", [1000, 1], ids=["breaker-closed", "breaker-open"])
def test_without_fail_open_every_call_raises(down_stack: Stack, threshold: int) -> None:
    tier = down_stack.make(FAIL_OPEN=False, BREAKER_THRESHOLD=threshold, BREAKER_COOLDOWN=COOLDOWN)
    raised = []
    for name, call in every_call(tier):
        try:
            call()
        except CacheUnavailableError:
            raised.append(name)
    assert raised == [name for name, _ in every_call(tier)]


def test_the_breaker_stops_calling_the_store_until_the_cooldown(down_stack: Stack) -> None:
    proxy = down_stack.proxy
    assert proxy is not None
    tier = down_stack.make_counted(BREAKER_THRESHOLD=3, BREAKER_COOLDOWN=COOLDOWN)
    for _ in range(3):
        assert tier.get("k", "default") == "default"
    reached = proxy.accepted
    assert reached >= 3  # each of the failed calls tried to connect
    for _ in range(10):
        assert tier.get("k", "default") == "default"
        assert tier.set("k", "v", None) is False
        assert tier.get_many(["a"]) == {}
        with pytest.raises(CacheUnavailableError):
            tier.incr("k")
    assert proxy.accepted == reached
    clock.advance(COOLDOWN - 1)
    assert tier.get("k", "default") == "default"
    assert proxy.accepted == reached  # still within the cooldown
    clock.advance(2)
    assert tier.get("k", "default") == "default"  # the probe: it tries, and fails
    probed = proxy.accepted
    assert probed > reached
    assert tier.get("k", "default") == "default"
    assert proxy.accepted == probed  # the failed probe opened the breaker again


def test_without_fail_open_the_open_breaker_raises_without_calling(down_stack: Stack) -> None:
    proxy = down_stack.proxy
    assert proxy is not None
    tier = down_stack.make_counted(FAIL_OPEN=False, BREAKER_THRESHOLD=2, BREAKER_COOLDOWN=COOLDOWN)
    for _ in range(2):
        with pytest.raises(CacheUnavailableError):
            tier.get("k")
    reached = proxy.accepted
    assert reached >= 2
    for name, call in every_call(tier):
        with pytest.raises(CacheUnavailableError):
            call()
        assert proxy.accepted == reached, name


def test_the_breaker_closes_once_the_store_is_back(down_stack: Stack) -> None:
    proxy, raw = down_stack.proxy, down_stack.raw
    assert proxy is not None and raw is not None
    tier = down_stack.make_counted(BREAKER_THRESHOLD=2, BREAKER_COOLDOWN=COOLDOWN)
    for _ in range(2):
        assert tier.get("k", "default") == "default"
    raw.put_int("k", 7)
    proxy.forward()
    assert tier.get("k", "default") == "default"  # still open: not asked
    clock.advance(COOLDOWN + 1)
    assert tier.get("k", "default") == 7
    assert tier.set("j", "w", None) is True
    assert tier.get("j") == "w"
    assert raw.exists("j")


def _answered(call: Callable[[], Any]) -> None:
    """Make a call the store answers with an error; what it raises is tested elsewhere."""
    try:
        call()
    except (TypeError, OverflowError, CacheUnavailableError):
        return
    raise AssertionError("a call the store refused raised nothing")


def test_errors_the_store_answered_never_open_the_breaker(shared_stack: Stack) -> None:
    raw = shared_stack.raw
    tier = shared_stack.make(BREAKER_THRESHOLD=3, BREAKER_COOLDOWN=COOLDOWN)
    if isinstance(raw, RedisRaw):
        raw.put_hash("wrong")  # INCRBY or GET on a hash: WRONGTYPE from a healthy server
        for _ in range(10):
            assert tier.get("wrong", "default") == "default"
    elif isinstance(raw, MemcachedRaw):
        raw.put_text("wrong")  # incr of text: CLIENT_ERROR from a healthy server
    else:
        assert isinstance(raw, DynamoDBRaw)
        raw.put_text_number("wrong")  # ADD on a string: ValidationException
    for _ in range(10):
        _answered(lambda: tier.incr("wrong"))
    raw.put_int("fine", 5)  # written behind the tier: a hit proves the store was asked
    assert tier.get("fine", "default") == 5
    assert tier.incr("fine") == 6
    assert raw.get_int("fine") == 6


def test_warm_and_close_on_a_down_store_do_not_raise(down_stack: Stack) -> None:
    tier = down_stack.make(BREAKER_THRESHOLD=1000)
    tier.warm()
    tier.close()
    assert tier.get("k", "default") == "default"


def test_a_store_that_goes_down_fails_open_then_serves_again(lost_stack: Stack) -> None:
    proxy, raw = lost_stack.proxy, lost_stack.raw
    assert proxy is not None and raw is not None
    tier = lost_stack.make(BREAKER_THRESHOLD=2, BREAKER_COOLDOWN=COOLDOWN)
    assert tier.set("before", 1, None) is True
    raw.put_int("k", 7)  # behind the tier: no upper tier of a layered stack holds a copy
    proxy.down()  # the pooled connections are closed too
    assert tier.get("k", "default") == "default"
    assert tier.set("during", 2, None) is False
    assert raw.exists("during") is False
    proxy.forward()
    clock.advance(COOLDOWN + 1)
    assert tier.get("k", "default") == 7
    assert tier.set("after", 3, None) is True
    assert raw.get_int("after") == 3
