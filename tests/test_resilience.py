"""The fail-open Guard and the circuit breaker, driven by real exceptions (no store needed)."""

from __future__ import annotations

import logging
import time

import pytest

from serverless_cache.errors import CacheUnavailableError
from serverless_cache.metrics import TierStats
from serverless_cache.resilience import CircuitBreaker, Guard, ResilienceSettings


class StoreDown(Exception):
    """Stands in for a client's connection error."""


def guard(**settings: object) -> Guard:
    options = ResilienceSettings(**{"breaker_threshold": 2, "breaker_cooldown": 0.05, **settings})
    breaker = CircuitBreaker(options.breaker_threshold, options.breaker_cooldown)
    return Guard("test store", options, breaker, TierStats(), (StoreDown,))


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
    assert calls == []
    time.sleep(0.06)
    assert g.call("get", works, -1) == 42  # the probe
    assert g.call("get", works, -1) == 42
    assert g.stats.errors == 3


def test_a_probe_that_raises_a_callers_error_closes_the_breaker() -> None:
    g = guard()
    g.call("get", fail, None)
    g.call("get", fail, None)
    time.sleep(0.06)

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


def test_views_sharing_a_breaker_share_the_log_throttle(caplog: pytest.LogCaptureFixture) -> None:
    options = ResilienceSettings(breaker_threshold=100)
    breaker = CircuitBreaker(options.breaker_threshold, options.breaker_cooldown)
    with caplog.at_level(logging.WARNING, logger="serverless_cache"):
        for _ in range(20):  # Django builds a backend, so a Guard, per async context
            view = Guard("test store", options, breaker, TierStats(), (StoreDown,))
            view.call("get", fail, None)
    assert len(caplog.records) == 1


class WrongType(Exception):
    """Stands in for an error reply from a healthy server."""


def test_errors_the_store_answers_with_fall_back_without_opening_the_breaker() -> None:
    options = ResilienceSettings(breaker_threshold=1)
    breaker = CircuitBreaker(options.breaker_threshold, options.breaker_cooldown)
    g = Guard("test store", options, breaker, TierStats(), (StoreDown, WrongType), (WrongType,))

    def wrong_type() -> int:
        raise WrongType("WRONGTYPE")

    assert g.call("get", wrong_type, -1) == -1
    assert g.call("get", lambda: 7, -1) == 7
    assert g.call("get", fail, -1) == -1
    assert g.call("get", lambda: 7, -1) == -1  # a real failure does open it
