"""How a layered cache's L1 learns of other instances' writes: tag versions refreshed with the
epoch read, and push invalidation (Redis client tracking) with its failure modes."""

from __future__ import annotations

from typing import Any

import pytest

from serverless_cache import clock
from serverless_cache.errors import ConfigurationError
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.kinds import build_tier
from serverless_cache.tiers.layered import LayeredTier
from serverless_cache.tiers.redis.tracking import Tracker
from tests.fixtures.fault_proxy import ProxyFactory
from tests.fixtures.redis_servers import RedisServer

NEVER = 1000  # a CAP and check interval longer than any test
WAIT = 5.0  # bound of a wait on a condition; never reached when the cache is right


def make(name: str, url: str, **options: Any) -> LayeredTier:
    tiers = [
        {"TIER": "memory", "CAP": NEVER},
        {"TIER": "redis", "LOCATION": url, "OPTIONS": {"SOCKET_TIMEOUT": 5}},
    ]
    config = TierConfig(name=name, options={"TIERS": tiers, **options}, key_prefix="p:")
    tier = build_tier("layered", config)
    assert isinstance(tier, LayeredTier)
    return tier


def calls(server: RedisServer, command: str) -> int:
    stats = server.client().info("commandstats").get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0))


def test_tag_versions_are_refreshed_in_the_epoch_read_never_per_hit(
    redis_server: RedisServer, redis_url: str
) -> None:
    tier = make("l", redis_url, EPOCH_CHECK_INTERVAL=1)
    for index in range(3):
        tier.set(f"p:{index}", index, 100, tags=[f"t{index}", "all"])
    tier.get_many(["p:0", "p:1", "p:2"])  # the first read starts the epoch (and refills L1)
    gets, mgets = calls(redis_server, "get"), calls(redis_server, "mget")
    for _ in range(10):
        assert tier.get_many(["p:0", "p:1", "p:2"]) == {"p:0": 0, "p:1": 1, "p:2": 2}
        assert tier.get("p:1") == 1
    assert (calls(redis_server, "get"), calls(redis_server, "mget")) == (gets, mgets)
    fetched = tier.stats.tag_fetches
    clock.advance(1.5)
    assert tier.get("p:0") == 0
    assert calls(redis_server, "mget") == mgets + 1  # the epoch and the 4 held tags at once
    assert tier.stats.tag_fetches == fetched + 4


def test_a_remote_write_reaches_the_l1_without_its_cap_or_epoch(redis_url: str) -> None:
    a = make("a", redis_url, INVALIDATION="push", EPOCH_CHECK_INTERVAL=NEVER)
    b = make("b", redis_url, INVALIDATION="push", EPOCH_CHECK_INTERVAL=NEVER)
    a.set("p:k", "old", None)
    assert b.get("p:k") == "old"
    assert b.first.has("p:k")
    a.set("p:k", "new", None)
    reads, deadline = 0, clock.monotonic() + WAIT
    while b.get("p:k") != "new" and clock.monotonic() < deadline:
        reads += 1
    assert b.get("p:k") == "new"
    assert b.first.stats.dropped == 1 and b.first.stats.invalidations >= 1
    assert reads <= 1  # the message was on b's socket when a's write returned (or just after)


def test_a_dropped_connection_empties_the_l1(
    redis_server: RedisServer, redis_url: str, fault_proxy: ProxyFactory
) -> None:
    proxy = fault_proxy(redis_server.port)
    b = make("b", f"redis://{proxy.address}/0", INVALIDATION="push", EPOCH_CHECK_INTERVAL=NEVER)
    direct = redis_server.client()
    direct.set("p:k", b"1")
    assert b.get("p:k") == 1
    tracker: Tracker = b.tracker
    assert (tracker.connects, tracker.losses) == (1, 0)
    proxy.down()  # b's connections are closed: what happens meanwhile is not heard
    direct.set("p:k", b"2")
    assert b.get("p:k") is None  # L1 emptied; the store is unreachable (a miss)
    assert not b.first.has("p:k") and tracker.losses == 1
    proxy.forward()
    clock.advance(6)  # past the reconnection delay and the breaker's cooldown
    assert b.get("p:k") == 2
    assert tracker.connects == 2


def test_a_killed_tracking_connection_empties_the_l1_and_reconnects(
    redis_server: RedisServer, redis_url: str
) -> None:
    b = make("b", redis_url, INVALIDATION="push", EPOCH_CHECK_INTERVAL=NEVER)
    direct = redis_server.client()
    direct.set("p:k", b"1")
    assert b.get("p:k") == 1
    tracking = [c for c in direct.client_list() if "t" in c["flags"]]
    assert len(tracking) == 1
    direct.client_kill_filter(_id=tracking[0]["id"])
    direct.set("p:k", b"2")  # written while b could not hear it
    assert b.get("p:k") == 2
    assert (b.tracker.connects, b.tracker.losses) == (2, 1)
    direct.set("p:k", b"3")
    assert b.get("p:k") == 3  # heard on the new connection


def test_a_flush_empties_the_l1(redis_server: RedisServer, redis_url: str) -> None:
    b = make("b", redis_url, INVALIDATION="push", EPOCH_CHECK_INTERVAL=NEVER)
    b.set("p:k", "v", None)
    b.set("p:j", "w", None, tags=["t"])
    assert b.get("p:k") == "v"
    redis_server.client().flushdb()
    assert b.get("p:k") is None
    assert b.get("p:j") is None


def test_push_needs_a_standalone_redis_last_tier() -> None:
    tiers = [{"TIER": "memory"}, {"TIER": "memcached", "LOCATION": "memcached://127.0.0.1:1"}]
    with pytest.raises(ConfigurationError, match="INVALIDATION 'push' needs the last tier"):
        build_tier("layered", TierConfig(options={"TIERS": tiers, "INVALIDATION": "push"}))
    with pytest.raises(ConfigurationError, match="INVALIDATION must be one of"):
        build_tier("layered", TierConfig(options={"TIERS": tiers, "INVALIDATION": "pubsub"}))


def test_warm_opens_the_tracking_connection(redis_url: str) -> None:
    b = make("b", redis_url, INVALIDATION="push", EPOCH_CHECK_INTERVAL=NEVER)
    assert b.tracker.connects == 0
    b.warm()
    assert b.tracker.connects == 1
    assert b.get("p:absent") is None
    assert b.tracker.connects == 1
