"""get_or_set on every stack: compute on a miss, once at a time, with LEASE and STALE_TTL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from serverless_cache.tiers.base import Tier
from tests.contract.conftest import Stack

WAIT = 5.0  # upper bound for a thread handshake; never reached when the tier is right


class Computation:
    """A compute function that counts its calls and can be held until released."""

    def __init__(self, value: Any, *, hold: bool = False) -> None:
        self.value = value
        self.calls = 0
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def __call__(self) -> Any:
        self.calls += 1
        self.started.set()
        assert self.release.wait(WAIT), "the computation was never released"
        return self.value


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(call()), daemon=True)
    thread.start()
    return thread, results


def test_a_miss_computes_and_stores(stack: Stack) -> None:
    tier = stack.make()
    compute = Computation({"v": 1})
    assert tier.get_or_set("k", compute, 100) == {"v": 1}
    assert compute.calls == 1
    assert tier.get("k") == {"v": 1}
    left = tier.ttl("k")
    assert left is not None and 98 < left <= 101


def test_a_hit_does_not_compute(stack: Stack) -> None:
    tier = stack.make()
    assert tier.set("k", "cached", None) is True
    assert tier.set("none", None, None) is True
    compute = Computation("computed")
    assert tier.get_or_set("k", compute, 100) == "cached"
    assert tier.get_or_set("none", compute, 100) is None  # a stored None is a value
    assert compute.calls == 0


def test_a_failed_computation_raises_and_stores_nothing(stack: Stack) -> None:
    tier = stack.make()

    def fail() -> Any:
        raise RuntimeError("backend down")

    with pytest.raises(RuntimeError, match="backend down"):
        tier.get_or_set("k", fail, 100)
    assert tier.has("k") is False
    assert tier.get_or_set("k", Computation("second"), 100) == "second"


def test_ttl_zero_returns_the_value_and_keeps_nothing(stack: Stack) -> None:
    tier = stack.make()
    compute = Computation("v")
    assert tier.get_or_set("k", compute, 0) == "v"
    assert tier.has("k") is False


def test_threads_of_one_process_compute_once(stack: Stack) -> None:
    tier = stack.make()
    compute = Computation("v", hold=True)
    threads = [_in_thread(lambda: tier.get_or_set("k", compute, 100)) for _ in range(6)]
    assert compute.started.wait(WAIT)
    # The others are waiting for the leader (or have not asked yet); none may compute.
    threading.Event().wait(0.1)
    compute.release.set()
    for thread, _ in threads:
        thread.join(WAIT)
    assert [results for _, results in threads] == [["v"]] * 6
    assert compute.calls == 1


def _lease_pair(stack: Stack) -> tuple[Tier, Tier]:
    """Two instances (their own names, so their own in-process state) on one store."""
    options: dict[str, Any] = {
        "LEASE": True,
        "LEASE_TTL": 5,
        "LEASE_WAIT": 3,
        "LEASE_POLL_INTERVAL": 0.01,
    }
    return (
        stack.make(name=f"{stack.name}-a", **options),
        stack.make(name=f"{stack.name}-b", **options),
    )


def test_with_lease_instances_compute_once_in_total(stack: Stack) -> None:
    first, second = _lease_pair(stack)
    leader = Computation("from a", hold=True)
    other = Computation("from b")
    leading, led = _in_thread(lambda: first.get_or_set("k", leader, 100))
    assert leader.started.wait(WAIT)
    waiting, waited = _in_thread(lambda: second.get_or_set("k", other, 100))
    threading.Event().wait(0.1)
    assert waited == []  # the second instance waits for the lease holder's value
    leader.release.set()
    leading.join(WAIT)
    waiting.join(WAIT)
    assert led == ["from a"] and waited == ["from a"]
    assert other.calls == 0


def test_stale_ttl_serves_the_previous_value_while_one_recomputes(stack: Stack) -> None:
    tier = stack.make(STALE_TTL=100)
    assert tier.get_or_set("k", Computation("old"), stack.short_ttl) == "old"
    stack.expire()
    assert tier.get("k", "gone") == "gone"
    recompute = Computation("new", hold=True)
    leading, led = _in_thread(lambda: tier.get_or_set("k", recompute, 100))
    assert recompute.started.wait(WAIT)
    waiter = Computation("never")
    waiting, waited = _in_thread(lambda: tier.get_or_set("k", waiter, 100))
    waiting.join(WAIT)
    assert waited == ["old"]  # at once, while the leader is still computing
    assert led == []
    recompute.release.set()
    leading.join(WAIT)
    assert led == ["new"]
    assert waiter.calls == 0
    assert tier.get("k") == "new"


def test_delete_also_drops_the_stale_copy(stack: Stack) -> None:
    tier = stack.make(STALE_TTL=100)
    assert tier.get_or_set("k", Computation("old"), 100) == "old"
    assert tier.delete("k") is True
    recompute = Computation("new", hold=True)
    leading, led = _in_thread(lambda: tier.get_or_set("k", recompute, 100))
    assert recompute.started.wait(WAIT)
    waiting, waited = _in_thread(lambda: tier.get_or_set("k", Computation("never"), 100))
    threading.Event().wait(0.1)
    assert waited == []  # no stale copy to hand out: it waits for the new value
    recompute.release.set()
    leading.join(WAIT)
    waiting.join(WAIT)
    assert led == ["new"] and waited == ["new"]
