"""The fail-open Guard, its retries and the circuit breaker, driven by real exceptions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypedDict

import pytest

from serverless_cache import clock
from serverless_cache.errors import CacheUnavailableError
from serverless_cache.metrics import TierStats
from serverless_cache.resilience import CircuitBreaker, Fault, Guard, ResilienceSettings

if TYPE_CHECKING:
    from typing_extensions import Unpack


class StoreDown(Exception):
    """Stands in for a client's timeout: a failure, never retried."""


class Dropped(Exception):
    """Stands in for a connection that broke after the request was sent."""


class WrongType(Exception):
    """Stands in for an error reply from a healthy server."""


FAULTS: dict[type[BaseException], Fault] = {
    StoreDown: Fault.FAILED,
    Dropped: Fault.DROPPED,
    WrongType: Fault.ANSWERED,
}


def classify(exc: BaseException) -> Fault | None:
    return FAULTS.get(type(exc))


class Settings(TypedDict, total=False):
    """The ResilienceSettings a test may override."""

    fail_open: bool
    breaker_threshold: int
    breaker_cooldown: float
    log_interval: float


@pytest.fixture(autouse=True)
def real_clock() -> Iterator[None]:
    yield
    clock.reset()


def guard(breaker: CircuitBreaker | None = None, **settings: Unpack[Settings]) -> Guard:
    settings.setdefault("breaker_threshold", 2)
    settings.setdefault("breaker_cooldown", 5.0)
    options = ResilienceSettings(**settings)
    breaker = breaker or CircuitBreaker(options.breaker_threshold, options.breaker_cooldown)
    return Guard("test store", options, breaker, TierStats(), classify)


def fail() -> int:
    raise StoreDown("connection refused")


def test_failures_fall_back_then_open_the_breaker_then_a_probe_closes_it() -> None:
    g = guard()
    calls: list[int] = []

    def works() -> int:
        calls.append(1)
        return 42

    assert g.call("get", fail, -1) == -1
    assert g.call("get", fail, -1) == -1
    assert g.call("get", works, -1) == -1  # open: not called at all
    clock.advance(4.9)
    assert g.call("get", works, -1) == -1  # still within the cooldown
    assert calls == []
    clock.advance(0.2)
    assert g.call("get", works, -1) == 42  # the probe
    assert g.call("get", works, -1) == 42
    assert calls == [1, 1]
    assert g.stats.errors == 4


def test_a_probe_that_raises_a_callers_error_closes_the_breaker() -> None:
    g = guard()
    g.call("get", fail, None)
    g.call("get", fail, None)
    clock.advance(5.1)

    def missing_key() -> int:
        raise KeyError("k")

    with pytest.raises(KeyError):
        g.call("incr", missing_key, None)
    assert g.call("get", lambda: "served", None) == "served"


def test_fail_open_off_raises_a_clear_error() -> None:
    g = guard(fail_open=False)
    with pytest.raises(CacheUnavailableError, match="FAIL_OPEN"):
        g.call("get", fail, None)
    with pytest.raises(CacheUnavailableError):
        g.call("get", fail, None)
    with pytest.raises(CacheUnavailableError, match="circuit breaker"):
        g.call("get", lambda: 1, None)


def test_a_burst_of_failures_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    g = guard(breaker_threshold=100)
    with caplog.at_level(logging.WARNING, logger="serverless_cache"):
        for _ in range(50):
            g.call("get", fail, None)
    assert len(caplog.records) == 1
    assert "connection refused" in caplog.text


def test_the_next_burst_after_the_interval_says_how_many_were_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    g = guard(breaker_threshold=100, log_interval=60.0)
    with caplog.at_level(logging.WARNING, logger="serverless_cache"):
        for _ in range(10):
            g.call("get", fail, None)
        clock.advance(61)
        g.call("get", fail, None)
    assert len(caplog.records) == 2
    assert "9 similar not logged" in caplog.records[1].getMessage()


def test_views_sharing_a_breaker_share_the_log_throttle(caplog: pytest.LogCaptureFixture) -> None:
    breaker = CircuitBreaker(100, 5.0)
    with caplog.at_level(logging.WARNING, logger="serverless_cache"):
        for _ in range(20):  # Django builds a backend, so a Guard, per async context
            guard(breaker, breaker_threshold=100).call("get", fail, None)
    assert len(caplog.records) == 1


def test_errors_the_store_answers_with_fall_back_without_opening_the_breaker() -> None:
    g = guard(breaker_threshold=1)

    def wrong_type() -> int:
        raise WrongType("WRONGTYPE")

    for _ in range(10):
        assert g.call("get", wrong_type, -1) == -1
    assert g.call("get", lambda: 7, -1) == 7
    assert g.call("get", fail, -1) == -1
    assert g.call("get", lambda: 7, -1) == -1  # a real failure does open it


def dropped_once(calls: list[str]) -> int:
    calls.append("call")
    if len(calls) == 1:
        raise Dropped("connection reset")
    return len(calls)


def test_an_idempotent_call_is_retried_once_after_a_dropped_connection() -> None:
    calls: list[str] = []
    assert guard().call("set", lambda: dropped_once(calls), -1) == 2
    assert calls == ["call", "call"]


def test_a_call_without_retry_is_not_sent_again() -> None:
    calls: list[str] = []
    assert guard().call("incr", lambda: dropped_once(calls), -1, retry=None) == -1
    assert calls == ["call"]


def test_a_dropped_call_with_its_own_retry_runs_that_instead() -> None:
    calls: list[str] = []
    result = guard().call("add", lambda: dropped_once(calls), -1, retry=lambda: 99)
    assert (result, calls) == (99, ["call"])


def test_a_failure_that_is_not_a_drop_is_never_retried() -> None:
    calls: list[str] = []

    def times_out() -> int:
        calls.append("call")
        raise StoreDown("timeout")

    assert guard().call("get", times_out, -1) == -1
    assert calls == ["call"]


def test_a_retry_that_cannot_decide_is_a_failure_not_the_callers_error() -> None:
    from serverless_cache.errors import CacheUnavailableError as Undecided

    def cannot_tell() -> int:
        raise Undecided("add lost its reply")

    calls: list[str] = []
    assert guard().call("add", lambda: dropped_once(calls), -1, retry=cannot_tell) == -1
    strict = guard(fail_open=False)
    with pytest.raises(Undecided, match="lost its reply"):
        strict.call("add", lambda: dropped_once([]), -1, retry=cannot_tell)


def test_an_answered_error_without_fail_open_says_the_store_refused() -> None:
    def wrong_type() -> int:
        raise WrongType("WRONGTYPE")

    with pytest.raises(CacheUnavailableError, match="store refused get"):
        guard(fail_open=False).call("get", wrong_type, -1)
