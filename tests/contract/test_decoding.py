"""Contract rule 7 on every stack: an undecodable stored value is a counted, throttled miss."""

from __future__ import annotations

import logging

import pytest

from serverless_cache import clock
from serverless_cache.resilience import DEFAULT_LOG_INTERVAL
from serverless_cache.tiers.base import Tier
from tests.contract.conftest import Stack

VALUE = {"secret": [1, 2, 3]}


def _foreign(stack: Stack) -> tuple[Tier, Tier]:
    """A writer signing with one key and a reader of the same store signing with another."""
    writer = stack.make(name=f"{stack.name}-writer", SIGNING_KEY="writer-key")
    reader = stack.make(name=f"{stack.name}-reader", SIGNING_KEY="reader-key")
    assert writer.set("k", VALUE, None) is True
    assert writer.get("k") == VALUE
    return writer, reader


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name.startswith("serverless_cache") and record.levelno == logging.WARNING
    ]


def test_a_value_signed_with_another_key_is_a_counted_miss(stack: Stack) -> None:
    _, reader = _foreign(stack)
    assert reader.get("k", "miss") == "miss"
    assert Stack.errors(reader) == 1
    assert reader.stats.misses == 1 and reader.stats.hits == 0
    assert reader.get_many(["k"]) == {}
    assert reader.get_entries(["k"]) == {}
    assert Stack.errors(reader) == 3


def test_an_undecodable_value_does_not_hide_the_others(stack: Stack) -> None:
    writer, reader = _foreign(stack)
    assert reader.set("mine", VALUE, None) is True
    assert reader.get_many(["k", "mine"]) == {"mine": VALUE}
    assert reader.stats.hits == 1 and reader.stats.misses == 1
    assert writer.get("k") == VALUE  # the reader's miss did not destroy the writer's value


def test_undecodable_reads_are_logged_once_per_log_interval(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    _, reader = _foreign(stack)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="serverless_cache"):
        for _ in range(100):
            assert reader.get("k", "miss") == "miss"
        assert len(_warnings(caplog)) == 1
        assert Stack.errors(reader) == 100
        clock.advance(DEFAULT_LOG_INTERVAL + 1)
        assert reader.get("k", "miss") == "miss"
    assert len(_warnings(caplog)) == 2
