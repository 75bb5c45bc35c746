"""Auto-recovery against real servers that are frozen, killed and restarted (the fault-proxy
variants of every stack are in tests/contract/test_recovery.py)."""

from __future__ import annotations

import pytest

from serverless_cache import clock
from serverless_cache.errors import CacheUnavailableError
from serverless_cache.recovery import REPLAY_RETRY_INTERVAL, WriteJournal
from tests.fixtures.redis_servers import RedisServer
from tests.tiers.build import redis_tier

FAST = {"SOCKET_TIMEOUT": 0.2, "CONNECT_TIMEOUT": 0.2, "BREAKER_THRESHOLD": 2}


def test_a_write_lost_to_a_frozen_redis_is_undone_once_it_is_thawed(
    fresh_redis_server: RedisServer,
) -> None:
    tier = redis_tier(fresh_redis_server.url, FAST)
    assert tier.set("k", "old", None)
    fresh_redis_server.freeze()
    try:
        assert not tier.set("k", "new", None)  # one socket timeout
        assert tier.get("k", "miss") == "miss"
    finally:
        fresh_redis_server.thaw()
    clock.advance(1.0)  # the breaker's cooldown
    assert tier.get("k", "miss") == "miss"  # not "old"
    assert fresh_redis_server.client().get("k") is None
    assert tier.stats.recovered == 1
    assert tier.set("k", "newer", None) and tier.get("k") == "newer"


def test_after_a_restart_the_tier_recovers_and_serves_again(
    fresh_redis_server: RedisServer,
) -> None:
    tier = redis_tier(fresh_redis_server.url, FAST)
    assert tier.set("k", "old", None)
    fresh_redis_server.kill()
    assert not tier.set("k", "new", None)
    with pytest.raises(CacheUnavailableError):
        tier.incr("n")
    fresh_redis_server.start()
    fresh_redis_server.client().set("k", b"not ours")  # an older value the restart left
    clock.advance(1.0)
    assert tier.get("k", "miss") == "miss"
    assert tier.stats.recovered == 2
    assert tier.set("k", "fresh", None) and tier.get("k") == "fresh"


def test_a_write_that_lands_takes_its_key_out_of_the_journal() -> None:
    journal = WriteJournal(max_keys=10)
    journal.record(["a", "b"])
    journal.landed(["a"])
    assert journal.snapshot()[0] == ["b"] and journal.suspects(["b"])
    assert not journal.suspects(["a"])
    journal.landed(["b"])
    assert not journal.pending


def test_an_overflow_recorded_during_a_replay_is_kept() -> None:
    journal = WriteJournal(max_keys=1)
    journal.record(["a", "b"])
    keys, overflowed, generation = journal.snapshot()
    assert overflowed and keys == []
    journal.record(["c"])  # while the replay runs
    journal.forget(keys, overflowed, generation)
    assert journal.overflowed and journal.pending


def test_a_failed_replay_waits_before_it_is_tried_again() -> None:
    journal = WriteJournal(max_keys=10)
    journal.next_attempt = 5.0
    assert not journal.due(5.0 - REPLAY_RETRY_INTERVAL / 2)
    assert journal.due(5.0)
