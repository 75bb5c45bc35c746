"""The Memcached tier against real memcached processes: the tier contract, several nodes,
auto-discovery, dead and frozen servers, lost replies."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from serverless_cache import clock, registry
from serverless_cache.errors import CacheUnavailableError, ConfigurationError, ValueTooLargeError
from serverless_cache.tiers.memcached import MemcachedClient, MemcachedTier
from serverless_cache.tiers.memcached.discovery import DiscoveryError, parse
from serverless_cache.tiers.memcached.keys import (
    RELATIVE_LIMIT,
    expire_time,
    generation_key,
    wire_key,
)
from tests.fixtures.fault_proxy import FaultProxy, ProxyFactory
from tests.fixtures.memcached_servers import (
    ConfigEndpoint,
    CountingProxy,
    MemcachedServer,
    round_trips,
)
from tests.tiers.build import memcached_tier

FAST = {"socket_timeout": 0.3, "connect_timeout": 0.3}
Options = dict[str, Any]


def wire(tier: MemcachedTier, key: str) -> bytes:
    """The key memcached holds for ``key`` (the tier's generation read first)."""
    tier.warm()
    pool = tier.client.pool_for(key)
    return wire_key(tier.client.generations[(tier.prefix, pool.address)], key)


@pytest.fixture
def tier(memcached_url: str) -> MemcachedTier:
    return memcached_tier(memcached_url, prefix="t:")


@pytest.fixture
def counted(
    memcached_pair: tuple[MemcachedServer, MemcachedServer],
) -> Iterator[list[CountingProxy]]:
    """Counting relays in front of two emptied servers."""
    for server in memcached_pair:
        server.flush()
    proxies = [CountingProxy(("127.0.0.1", server.port)) for server in memcached_pair]
    yield proxies
    for proxy in proxies:
        proxy.close()


# -- rule 1: ttl ------------------------------------------------------------------------------
def test_ttl_zero_or_negative_removes(tier: MemcachedTier) -> None:
    tier.set_many({"t:a": 1, "t:b": 2, "t:c": 3}, None)
    assert tier.set("t:a", "x", 0) is True
    assert tier.set_many({"t:b": 1, "t:c": 1}, -1) == []
    assert tier.get_many(["t:a", "t:b", "t:c"]) == {}
    assert tier.add("t:a", 1, 0) is True  # it was absent; nothing kept
    assert not tier.has("t:a")
    tier.set("t:a", 1, None)
    assert tier.add("t:a", 2, 0) is False
    assert tier.touch("t:a", 0) is True
    assert tier.touch("t:a", 0) is False
    assert not tier.has("t:a")


def test_huge_ttl_is_forever_and_bad_ttls_raise(tier: MemcachedTier) -> None:
    assert tier.set("t:k", 1, 10**20) is True
    assert tier.ttl("t:k") is None
    with pytest.raises(TypeError):
        tier.set("t:k", 1, "10")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tier.set("t:k", 1, math.nan)


def test_ttl_over_30_days_is_sent_as_an_epoch_time(tier: MemcachedTier) -> None:
    forty_days = 40 * 24 * 3600.0
    assert expire_time(forty_days) == math.ceil(clock.time() + forty_days)
    assert tier.set("t:far", "v", forty_days)
    assert tier.get("t:far") == "v"  # a relative 40 days would be an epoch in 1970: expired
    remaining = tier.ttl("t:far")
    # memcached counts from its own clock, ticked once a second: on a busy machine it lags ours
    assert remaining is not None and forty_days - 5 <= remaining <= forty_days + 5
    assert tier.set("t:month", "v", float(RELATIVE_LIMIT))
    assert tier.get("t:month") == "v"


def test_sub_second_ttl_is_one_second_not_forever(tier: MemcachedTier) -> None:
    assert expire_time(0.2) == 1
    assert tier.set("t:brief", 1, 0.2)
    assert tier.ttl("t:brief") == 1.0


def test_expiry_reaches_the_server(tier: MemcachedTier, memcached_server: MemcachedServer) -> None:
    tier.set("t:k", 1, 100)
    tier.touch("t:k", 50)
    assert tier.ttl("t:k") == 50.0
    assert tier.touch("t:k", None)
    assert tier.ttl("t:k") is None
    assert tier.ttl("t:absent") == 0.0


# -- rules 2, 3, 4 ---------------------------------------------------------------------------
def test_stored_none_is_a_value(tier: MemcachedTier) -> None:
    tier.set("t:none", None, None)
    assert tier.get("t:none", "d") is None
    assert tier.get("t:missing", "d") == "d"
    assert tier.get_many(["t:none", "t:missing"]) == {"t:none": None}


def test_duplicated_keys_are_asked_and_counted_once(
    tier: MemcachedTier, memcached_server: MemcachedServer
) -> None:
    tier.set("t:a", 1, None)
    tier.warm()
    before = memcached_server.stats()[b"cmd_get"]
    assert tier.get_many(["t:a", "t:a", "t:b", "t:b"]) == {"t:a": 1}
    assert memcached_server.stats()[b"cmd_get"] - before == 3  # two keys and the generation
    assert (tier.stats.hits, tier.stats.misses) == (1, 1)
    before_deletes = memcached_server.stats()[b"delete_hits"]
    assert tier.delete_many(["t:a", "t:a"])
    assert memcached_server.stats()[b"delete_hits"] - before_deletes == 1


def test_set_many_encodes_everything_before_writing(tier: MemcachedTier) -> None:
    with pytest.raises((TypeError, AttributeError, Exception)):
        tier.set_many({"t:ok": 1, "t:bad": threading.Lock()}, None)
    assert tier.get_many(["t:ok", "t:bad"]) == {}


def test_value_over_the_item_limit_is_refused_before_anything_is_written(
    memcached_url: str,
) -> None:
    tier = memcached_tier(memcached_url, {"max_value_bytes": 1000})
    with pytest.raises(ValueTooLargeError, match="MAX_VALUE_BYTES"):
        tier.set_many({"small": 1, "big": b"x" * 2000}, None)
    assert tier.get_many(["small", "big"]) == {}
    with pytest.raises(ValueTooLargeError):
        tier.add("big", b"x" * 2000, None)


def test_default_value_limit_fits_the_default_server_item_size(tier: MemcachedTier) -> None:
    limit = tier.settings.max_value_bytes
    payload = b"x" * (limit - 64)  # the codec frames bytes with a few header bytes
    assert tier.set("t:" + "k" * 240, payload, None)
    assert tier.get("t:" + "k" * 240) == payload


# -- rule 5: incr -------------------------------------------------------------------------------
def test_incr_rules(tier: MemcachedTier, memcached_server: MemcachedServer) -> None:
    with pytest.raises(KeyError):
        tier.incr("t:missing")
    assert tier.incr("t:created", 2, create=True) == 2
    assert tier.ttl("t:created") is None
    tier.set("t:text", "abc", None)
    with pytest.raises(TypeError):
        tier.incr("t:text")
    tier.set("t:n", 10, 100)
    for delta in (1.5, "1"):
        with pytest.raises(TypeError):
            tier.incr("t:n", delta)  # type: ignore[arg-type]
    assert tier.get("t:n") == 10
    assert tier.incr("t:n", 5) == 15
    assert tier.incr("t:n", -6) == 9
    assert tier.get("t:n") == 9
    assert tier.ttl("t:n") == 100.0  # expiry unchanged
    assert memcached_server.client().get(wire(tier, "t:n")).strip() == b"9"  # plain digits


def test_counters_go_below_zero_by_compare_and_swap(
    tier: MemcachedTier, memcached_server: MemcachedServer
) -> None:
    tier.set("t:n", 3, 100)
    assert tier.incr("t:n", -10) == -7
    assert tier.incr("t:n", 2) == -5  # memcached's incr refuses "-7": swapped as well
    assert tier.get("t:n") == -5
    assert 99 <= (tier.ttl("t:n") or 0) <= 100  # the expiry is kept (to memcached's second)
    assert tier.incr("t:fresh", -1, create=True) == -1
    assert memcached_server.client().get(wire(tier, "t:n")) == b"-5"


def test_decrements_from_many_threads_lose_nothing(tier: MemcachedTier) -> None:
    tier.set("t:c", 0, None)

    def work() -> None:
        for _ in range(25):
            tier.incr("t:c", -1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tier.get("t:c") == -100


def test_incr_past_64_bits_raises_and_keeps_the_value(tier: MemcachedTier) -> None:
    tier.set("t:big", 2**64 - 2, None)
    with pytest.raises(OverflowError):
        tier.incr("t:big", 5)
    assert tier.get("t:big") == 2**64 - 2
    with pytest.raises(OverflowError):
        tier.incr("t:big", 2**64)
    assert tier.incr("t:big", 1) == 2**64 - 1


def test_incr_from_many_threads_loses_nothing(tier: MemcachedTier) -> None:
    tier.set("t:c", 0, None)

    def work() -> None:
        for _ in range(50):
            tier.incr("t:c")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tier.get("t:c") == 200


# -- rules 6, 7, 8 ----------------------------------------------------------------------------
def test_add_and_touch(tier: MemcachedTier) -> None:
    assert tier.add("t:k", 1, 60) is True
    assert tier.add("t:k", 2, 60) is False
    assert tier.get("t:k") == 1
    assert tier.ttl("t:k") == 60.0
    assert tier.touch("t:absent", 10) is False


def test_undecodable_values_are_throttled_misses(
    memcached_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    writer = memcached_tier(memcached_url, {"signing_key": "one"})
    reader = memcached_tier(memcached_url, {"signing_key": "two"})
    writer.set("k", {"secret": 1}, None)
    with caplog.at_level(logging.WARNING, logger="serverless_cache"):
        for _ in range(100):
            assert reader.get("k", "miss") == "miss"
    assert reader.stats.errors == 100
    assert len([r for r in caplog.records if "ignoring" in r.getMessage()]) == 1


def test_clear_removes_only_its_prefix_and_never_flushes(
    memcached_url: str, memcached_server: MemcachedServer
) -> None:
    a = memcached_tier(memcached_url, prefix="a:")
    b = memcached_tier(memcached_url, prefix="b:")
    a.set("a:k", 1, None)
    b.set("b:k", 2, None)
    plain = memcached_server.client()
    plain.set(b"foreign", b"kept")
    assert a.clear() is True
    assert a.get("a:k") is None
    assert b.get("b:k") == 2
    assert plain.get(b"foreign") == b"kept"
    a.set("a:k", 3, None)
    assert a.get("a:k") == 3


def test_another_instance_sees_a_clear_at_once(memcached_nodes: list[str]) -> None:
    here = memcached_tier(memcached_nodes, prefix="p:")
    there = memcached_tier(  # other settings: another client, as in another Lambda instance
        memcached_nodes, {"socket_timeout": 0.9}, prefix="p:"
    )
    assert here.client is not there.client
    keys = [f"p:{index}" for index in range(10)]
    here.set_many(dict.fromkeys(keys, 1), None)
    assert there.get_many(keys) == dict.fromkeys(keys, 1)
    here.clear()
    assert there.get_many(keys) == {}  # every request reads its node's generation
    assert there.incr("p:1", create=True) == 1 and here.get("p:1") == 1
    there.set("p:2", "after", None)
    assert here.get("p:2") == "after"


def test_writes_racing_a_clear_land_in_the_new_namespace(memcached_url: str) -> None:
    here = memcached_tier(memcached_url, prefix="p:")
    there = memcached_tier(memcached_url, {"socket_timeout": 0.9}, prefix="p:")
    there.set("p:k", "old", None)  # there knows the generation
    here.clear()
    assert there.set("p:k", "new", None)  # sent under the old generation, then again
    assert there.delete("p:gone") is False
    assert here.get("p:k") == "new"


def test_an_evicted_generation_never_brings_old_keys_back(
    tier: MemcachedTier, memcached_server: MemcachedServer
) -> None:
    tier.set("t:k", "old", None)
    tier.clear()
    memcached_server.client().delete(generation_key("t:"))  # as an LRU eviction would
    clock.advance(1)  # the new generation comes from the clock: above any before
    assert tier.get("t:k") is None
    tier.set("t:k", "new", None)
    assert tier.get("t:k") == "new"


# -- keys memcached cannot carry --------------------------------------------------------------
@pytest.mark.parametrize(
    "key", ["has space", "ctrl\x01char", "x" * 300, "clé-ünïcode", "line\u2028sep", "#hash", ""]
)
def test_any_key_is_stored_under_a_key_memcached_accepts(
    tier: MemcachedTier, memcached_server: MemcachedServer, key: str
) -> None:
    tier.set("t:" + key, key, None)
    assert tier.get("t:" + key) == key
    stored = wire(tier, "t:" + key)
    assert len(stored) <= 250 and b" " not in stored and b"\x01" not in stored
    assert memcached_server.client().get(stored) is not None


def test_hashed_and_plain_forms_never_meet() -> None:
    long_key = "x" * 300
    hashed = wire_key(7, long_key)
    assert hashed.startswith(b"7#")
    assert wire_key(7, hashed[2:].decode()) != hashed  # a key spelling the digest stays plain
    assert not generation_key("p").startswith(b"0")


# -- rule 9: store down -----------------------------------------------------------------------
def _check_fail_open(tier: MemcachedTier, attempts: Callable[[], int]) -> None:
    """The first failure opens the breaker (threshold 1); then no call reaches the store."""
    assert tier.get("k", "miss") == "miss"
    before = attempts()
    calls: list[tuple[Callable[[], Any], Any]] = [
        (lambda: tier.get("k", "miss"), "miss"),
        (lambda: tier.get_many(["a", "b"]), {}),
        (lambda: tier.has("k"), False),
        (lambda: tier.set("k", 1, None), False),
        (lambda: tier.set_many({"a": 1, "b": 2}, None), ["a", "b"]),
        (lambda: tier.add("k", 1, None), False),
        (lambda: tier.delete("k"), False),
        (lambda: tier.delete_many(["k"]), False),
        (lambda: tier.touch("k", 1), False),
        (lambda: tier.clear(), False),
        (lambda: tier.get_entries(["k"]), {}),
    ]
    for call, expected in calls:
        assert call() == expected
    with pytest.raises(CacheUnavailableError):
        tier.incr("k")
    assert attempts() == before, "a call went to the store with the breaker open"
    assert tier.stats.errors >= 12


def test_closed_port_fails_open_and_the_breaker_stops_calling(fault_proxy: ProxyFactory) -> None:
    refusing = fault_proxy(None)
    tier = memcached_tier(refusing.address, {**FAST, "breaker_threshold": 1})
    _check_fail_open(tier, lambda: refusing.accepted)


def test_breaker_lets_a_probe_through_after_its_cooldown(
    memcached_server: MemcachedServer, fault_proxy: ProxyFactory
) -> None:
    proxy = fault_proxy(memcached_server.port)
    options = {**FAST, "breaker_threshold": 2, "breaker_cooldown": 5}
    tier = memcached_tier(proxy.address, options)
    proxy.down()
    assert tier.get("k", "miss") == "miss"
    assert tier.get("k", "miss") == "miss"
    opened_at = proxy.accepted
    assert tier.set("k", 1, None) is False
    assert proxy.accepted == opened_at
    proxy.forward()
    clock.advance(5)
    assert tier.set("k", 1, None) is True
    assert tier.get("k") == 1


def test_closed_port_without_fail_open_raises(closed_port: int) -> None:
    tier = memcached_tier(f"127.0.0.1:{closed_port}", {**FAST, "fail_open": False})
    for call in (lambda: tier.get("k"), lambda: tier.set("k", 1, None), lambda: tier.incr("k")):
        with pytest.raises(CacheUnavailableError):
            call()


def test_incr_on_a_closed_port_raises_even_failing_open(closed_port: int) -> None:
    tier = memcached_tier(f"127.0.0.1:{closed_port}", FAST)
    with pytest.raises(CacheUnavailableError):
        tier.incr("k")


def test_warm_on_a_dead_store_does_not_raise(closed_port: int) -> None:
    tier = memcached_tier(f"127.0.0.1:{closed_port}", FAST)
    tier.warm()
    assert tier.stats.errors == 1


# -- rule 10: answered errors -----------------------------------------------------------------
def test_an_error_the_server_answers_never_opens_the_breaker(memcached_url: str) -> None:
    # MAX_VALUE_BYTES above the server's 1 MiB item size: the server refuses, and says so.
    tier = memcached_tier(memcached_url, {"breaker_threshold": 1, "max_value_bytes": 4 << 20})
    tier.set("fine", 1, None)
    for _ in range(10):
        assert tier.set("huge", b"x" * (2 << 20), None) is False
    assert tier.stats.errors == 10
    assert tier.get("fine") == 1


# -- rule 11: a reply lost after the server applied the request -------------------------------
@pytest.fixture
def lossy(
    memcached_server: MemcachedServer, memcached_url: str, fault_proxy: ProxyFactory
) -> tuple[MemcachedTier, FaultProxy, MemcachedTier]:
    """A tier behind a proxy that can drop replies, and one talking to the server directly."""
    proxy = fault_proxy(memcached_server.port)
    behind = memcached_tier(proxy.address, FAST)
    direct = memcached_tier(memcached_url, {**FAST, "socket_timeout": 0.9})
    behind.warm()
    direct.warm()
    return behind, proxy, direct


def test_lost_incr_reply_raises_and_is_applied_once(
    lossy: tuple[MemcachedTier, FaultProxy, MemcachedTier],
) -> None:
    behind, proxy, direct = lossy
    behind.set("n", 100, None)
    proxy.drop_replies(2)
    with pytest.raises(CacheUnavailableError):
        behind.incr("n", 1)
    assert proxy.dropped == 1
    assert direct.get("n") == 101


def test_lost_add_reply_is_recognised_by_its_token(
    lossy: tuple[MemcachedTier, FaultProxy, MemcachedTier],
) -> None:
    behind, proxy, direct = lossy
    proxy.drop_replies(1)
    assert behind.add("k", "mine", None) is True
    assert proxy.dropped == 1
    assert direct.get("k") == "mine"
    assert behind.add("k", "again", None) is False


def test_lost_add_reply_is_not_mistaken_for_another_writers_add(
    lossy: tuple[MemcachedTier, FaultProxy, MemcachedTier], memcached_server: MemcachedServer
) -> None:
    behind, _, direct = lossy
    assert direct.add("k", "theirs", None) is True
    # The retry of an add whose reply was lost, finding another writer's equal-sized value:
    assert behind._add_again("k", direct._encode("k", "mine!!"), None, b"\x01" * 12) is False


@pytest.mark.parametrize("operation", ["set", "delete", "get", "get_many", "touch"])
def test_idempotent_calls_are_retried_once_on_a_fresh_connection(
    lossy: tuple[MemcachedTier, FaultProxy, MemcachedTier], operation: str
) -> None:
    behind, proxy, direct = lossy
    direct.set("k", "v", None)
    proxy.drop_replies(1)
    calls: dict[str, Callable[[], Any]] = {
        "set": lambda: behind.set("k", "w", None),
        "delete": lambda: behind.delete("k"),
        "get": lambda: behind.get("k"),
        "get_many": lambda: behind.get_many(["k"]),
        "touch": lambda: behind.touch("k", 50),
    }
    expected = {"set": True, "delete": True, "get": "v", "get_many": {"k": "v"}, "touch": True}
    result = calls[operation]()
    assert proxy.dropped == 1
    if operation == "delete":
        assert direct.get("k") is None
        assert result in (True, False)  # the lost delete applied: the retry finds nothing
    else:
        assert result == expected[operation]
    assert behind.stats.errors == 0


# -- several nodes ----------------------------------------------------------------------------
def test_batch_calls_are_one_round_trip_per_node(counted: list[CountingProxy]) -> None:
    tier = memcached_tier([proxy.address for proxy in counted], prefix="r:")
    keys = [f"r:{index}" for index in range(40)]
    tier.warm()
    assert round_trips(counted, lambda: tier.set_many(dict.fromkeys(keys, 1), None)) == [1, 1]
    assert round_trips(counted, lambda: tier.get_many(keys)) == [1, 1]
    assert round_trips(counted, lambda: tier.delete_many(keys)) == [1, 1]
    assert sum(round_trips(counted, lambda: tier.get("r:1"))) == 1


def test_keys_spread_over_nodes_by_consistent_hashing(
    memcached_nodes: list[str], memcached_pair: tuple[MemcachedServer, MemcachedServer]
) -> None:
    tier = memcached_tier(memcached_nodes)
    keys = [f"k{index}" for index in range(200)]
    tier.set_many(dict.fromkeys(keys, 1), None)
    wires = [wire(tier, key) for key in keys]
    held = [len(server.client().get_many(wires)) for server in memcached_pair]
    assert sum(held) == 200 and min(held) > 50  # each key on exactly one node
    other_order = memcached_tier(list(reversed(memcached_nodes)), {"socket_timeout": 0.9})
    assert other_order.get_many(keys) == dict.fromkeys(keys, 1)  # placement ignores order


def test_one_node_stopped_loses_only_its_keys(memcached_pair: tuple[MemcachedServer, ...]) -> None:
    live = memcached_pair[0]
    live.flush()
    doomed = MemcachedServer().start()
    try:
        tier = memcached_tier([live.url, doomed.url], {**FAST, "breaker_threshold": 100})
        keys = [f"k{index}" for index in range(40)]
        tier.set_many(dict.fromkeys(keys, 1), None)
        doomed.kill()
        found = tier.get_many(keys)
        assert 0 < len(found) < 40
        failed = tier.set_many(dict.fromkeys(keys, 2), None)
        assert sorted(failed) == sorted(set(keys) - set(found))
        assert tier.get_many(keys) == dict.fromkeys(found, 2)
        assert tier.stats.errors >= 3
    finally:
        doomed.kill()


# -- auto-discovery ---------------------------------------------------------------------------
def test_parse_reads_the_documented_answer() -> None:
    answer = (
        b"CONFIG cluster 0 147\r\n12\nmyCluster.pc4ldq.0001.use1.cache.amazonaws.com|"
        b"10.82.235.120|11211 myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|"
        b"11211\n\r\nEND\r\n"
    )
    config = parse(answer)
    assert config.version == 12
    assert config.nodes == (("10.82.235.120", 11211), ("10.80.249.27", 11211))
    with pytest.raises(DiscoveryError, match="configuration endpoint"):
        parse(b"ERROR\r\n")


def test_auto_discovery_uses_the_listed_nodes_and_follows_changes(
    config_endpoint: ConfigEndpoint, memcached_pair: tuple[MemcachedServer, MemcachedServer]
) -> None:
    first, second = memcached_pair
    options = {"auto_discovery": True, "discovery_interval": 30}
    tier = memcached_tier(config_endpoint.url, options)
    tier.set("k", 1, None)
    assert first.client().get(wire(tier, "k")) is not None
    assert config_endpoint.requests == 1
    config_endpoint.set_nodes([second.port])
    tier.set("k", 2, None)
    assert config_endpoint.requests == 1  # not due yet
    clock.advance(30)
    assert tier.get("k") is None  # the new node has no copy
    assert config_endpoint.requests == 2
    assert tier.client.config_version == config_endpoint.version
    tier.set("k", 3, None)
    assert second.client().get(wire(tier, "k")) is not None


def test_a_failed_node_makes_discovery_ask_again_soon(
    config_endpoint: ConfigEndpoint, memcached_pair: tuple[MemcachedServer, MemcachedServer]
) -> None:
    replaced = MemcachedServer().start()
    try:
        config_endpoint.set_nodes([replaced.port])
        options = {**FAST, "auto_discovery": True, "breaker_threshold": 100}
        tier = memcached_tier(config_endpoint.url, options)
        tier.set("k", 1, None)
        config_endpoint.set_nodes([memcached_pair[1].port])
        replaced.kill()
        assert tier.get("k", "miss") == "miss"
        clock.advance(1)  # well before DISCOVERY_INTERVAL (60 s)
        assert tier.set("k", 2, None) is True
        assert tier.get("k") == 2
        assert config_endpoint.requests == 2
    finally:
        replaced.kill()


def test_unreachable_configuration_endpoint_fails_open(closed_port: int) -> None:
    tier = memcached_tier(f"127.0.0.1:{closed_port}", {**FAST, "auto_discovery": True})
    assert tier.get("k", "miss") == "miss"
    assert tier.set("k", 1, None) is False
    assert tier.stats.errors == 2


# -- dead, restarted and frozen servers ---------------------------------------------------------
def test_a_socket_the_server_closed_while_idle_is_replaced_before_use(
    fresh_memcached_server: MemcachedServer,
) -> None:
    tier = memcached_tier(fresh_memcached_server.url, {**FAST, "fail_open": False})
    tier.set("n", 1, None)
    fresh_memcached_server.kill()  # as after a thaw: the pooled socket is dead
    fresh_memcached_server.start()
    assert tier.incr("n", 1, create=True) == 1  # never retried: it must go out on a live socket
    assert tier.stats.errors == 0
    assert sum(pool.replaced for pool in tier.client.pools()) == 1


def test_server_restarted_under_load(fresh_memcached_server: MemcachedServer) -> None:
    options = {**FAST, "breaker_threshold": 3, "breaker_cooldown": 1}
    tier = memcached_tier(fresh_memcached_server.url, options)
    errors: list[BaseException] = []
    stop = threading.Event()

    def load() -> None:
        index = 0
        while not stop.is_set():
            try:
                tier.set(f"k{index % 20}", index, None)
                tier.get(f"k{(index + 7) % 20}")
                tier.get_many([f"k{i}" for i in range(5)])
            except BaseException as exc:
                errors.append(exc)
                return
            index += 1

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        fresh_memcached_server.kill()
        fresh_memcached_server.start()
    finally:
        clock.advance(1)
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    clock.advance(1)
    assert tier.set("after", 1, None)
    assert tier.get("after") == 1


def test_a_frozen_server_costs_one_timeout_and_no_stale_reply(
    fresh_memcached_server: MemcachedServer,
) -> None:
    tier = memcached_tier(fresh_memcached_server.url, {**FAST, "breaker_threshold": 1})
    tier.set("a", "A", None)
    tier.set("b", "B", None)
    timed = len(tier.stats.latency_ms)  # calls that ran are timed
    fresh_memcached_server.freeze()
    try:
        assert tier.get("a", "miss") == "miss"  # one socket timeout, not retried
        assert tier.get("b", "miss") == "miss"  # breaker open: not attempted
        assert len(tier.stats.latency_ms) == timed + 1
    finally:
        fresh_memcached_server.thaw()
    clock.advance(5)
    assert tier.get("b") == "B"  # a fresh connection: the answer to the frozen "get a" is gone
    assert tier.get("a") == "A"


# -- one client per configuration, lazily --------------------------------------------------------
def test_views_share_one_client_and_its_connections(
    memcached_url: str, memcached_server: MemcachedServer
) -> None:
    tiers = [memcached_tier(memcached_url) for _ in range(5)]
    assert len({id(tier.client) for tier in tiers}) == 1
    assert len(registry.entries("memcached")) == 1
    before = memcached_server.stats()[b"curr_connections"]
    for index, tier in enumerate(tiers):
        tier.set(f"k{index}", index, None)
    assert memcached_server.stats()[b"curr_connections"] - before == 1
    registry.discard("memcached")
    assert isinstance(tiers[0].client, MemcachedClient)
    assert tiers[0].get("k0") == 0  # the old view reconnects on demand


def test_warm_connects_to_every_node(
    memcached_nodes: list[str], memcached_pair: tuple[MemcachedServer, MemcachedServer]
) -> None:
    tier = memcached_tier(memcached_nodes)
    before = [server.stats()[b"total_connections"] for server in memcached_pair]
    tier.warm()
    after = [server.stats()[b"total_connections"] for server in memcached_pair]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 2]  # ours and the observer's


def test_creating_a_backend_does_not_import_pymemcache(memcached_url: str) -> None:
    script = f"""
import json, sys
from django.conf import settings
settings.configure(CACHES={{"default": {{
    "BACKEND": "serverless_cache.django.MemcachedCache", "LOCATION": {memcached_url!r}}}}})
import django
django.setup()
from django.core.cache import cache
cache.tier
before = "pymemcache" in sys.modules
cache.set("k", 1)
print(json.dumps([before, "pymemcache" in sys.modules, cache.get("k")]))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [False, True, 1]


@pytest.mark.parametrize(
    ("location", "options", "message"),
    [
        ("", {}, "LOCATION"),
        ("redis://127.0.0.1:1", {}, "memcached://"),
        ("memcached://127.0.0.1:port", {}, "not a number"),
        ("memcached://user:pw@127.0.0.1:1", {}, "user, path or query"),
        ("127.0.0.1:1", {"socket_timout": 1}, "socket_timout"),
        ("127.0.0.1:1", {"auto_discovery": "yes"}, "AUTO_DISCOVERY"),
        ("127.0.0.1:1,127.0.0.1:2", {"auto_discovery": True}, "configuration endpoint"),
        ("127.0.0.1:1", {"max_entries": 10}, "MAX_ENTRIES"),
    ],
)
def test_bad_configuration_names_the_problem(location: str, options: Options, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        memcached_tier(location, options)


def test_django_host_port_locations_and_defaults() -> None:
    tier = memcached_tier("10.0.0.1:11211; memcached://10.0.0.2, 10.0.0.1:11211")
    assert tier.client.seeds == (("10.0.0.1", 11211), ("10.0.0.2", 11211))
    assert (tier.settings.connect_timeout, tier.settings.socket_timeout) == (1.0, 1.0)
    assert "10.0.0.1" in repr(tier)
