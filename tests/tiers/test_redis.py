"""The Redis tier against real redis-server processes: standalone, cluster, TLS, ACL, replicas."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from serverless_cache import clock, registry
from serverless_cache.errors import CacheUnavailableError, ConfigurationError
from serverless_cache.tiers.base import MISSING
from serverless_cache.tiers.redis import RedisClient, RedisTier
from tests.fixtures.fault_proxy import ProxyFactory
from tests.fixtures.redis_servers import RedisCluster, RedisServer
from tests.tiers.build import redis_tier
from tests.tiers.redis_helpers import client_connections, command_calls, round_trips

FAST = {"socket_timeout": 0.5, "connect_timeout": 0.5}


@dataclass
class Store:
    """A tier factory plus plain clients of the same servers, for checks from outside."""

    make: Callable[..., RedisTier]
    nodes: list[redis.Redis]
    plain: Any  # redis.Redis or redis.RedisCluster
    cluster: bool


@pytest.fixture(params=["standalone", "cluster"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "standalone":
        server: RedisServer = request.getfixturevalue("redis_server")
        url = request.getfixturevalue("redis_url")

        def make_standalone(prefix: str = "", **options: Any) -> RedisTier:
            return redis_tier(url, options, prefix=prefix)

        return Store(make_standalone, [server.client()], server.client(), False)
    cluster: RedisCluster = request.getfixturevalue("redis_cluster")
    urls = request.getfixturevalue("redis_cluster_urls")

    def make_cluster(prefix: str = "", **options: Any) -> RedisTier:
        return redis_tier(urls, {"cluster": True, **options}, prefix=prefix)

    return Store(make_cluster, [node.client() for node in cluster.nodes], cluster.client(), True)


# -- the API, on standalone and cluster -------------------------------------------------------
def test_set_get_and_miss(store: Store) -> None:
    tier = store.make()
    assert tier.set("a", {"nested": [1, 2]}, None) is True
    assert tier.get("a") == {"nested": [1, 2]}
    assert tier.get("absent") is None
    assert tier.get("absent", "fallback") == "fallback"
    assert tier.set("none", None, None)
    assert tier.get("none", "fallback") is None
    assert tier.stats.hits == 2 and tier.stats.misses == 2


def test_get_many_is_one_mget_in_key_order(store: Store) -> None:
    tier = store.make()
    keys = [f"key-{i}" for i in range(50)]
    tier.set_many({key: i for i, key in enumerate(keys) if i % 2 == 0}, 60)
    calls = command_calls(store.nodes, lambda: tier.get_many(keys))
    found = tier.get_many(keys)
    assert list(found) == [key for i, key in enumerate(keys) if i % 2 == 0]
    assert found == {key: i for i, key in enumerate(keys) if i % 2 == 0}
    if store.cluster:
        assert set(calls) == {"mget"}  # one MGET per hash slot, one pipeline per node
        assert round_trips(store.nodes, lambda: tier.get_many(keys)) <= len(store.nodes)
    else:
        assert calls == {"mget": 1}
        assert round_trips(store.nodes, lambda: tier.get_many(keys)) == 1


def test_set_many_is_one_pipeline_with_expiry(store: Store) -> None:
    tier = store.make()
    items = {f"item-{i}": [i] for i in range(50)}
    tier.set_many(items, 30)  # connect first: a new connection's handshake is not the call
    trips = round_trips(store.nodes, lambda: tier.set_many(items, 30))
    assert trips == (len(store.nodes) if store.cluster else 1)
    assert tier.get_many(list(items)) == items
    assert all(0 < store.plain.pttl(key) <= 30_000 for key in items)
    assert tier.set_many(items, None) == []
    assert store.plain.ttl("item-0") == -1


def test_set_many_with_expired_ttl_deletes(store: Store) -> None:
    tier = store.make()
    tier.set_many({"x": 1, "y": 2}, None)
    assert tier.set_many({"x": 1, "y": 2}, 0) == []
    assert tier.get_many(["x", "y"]) == {}


def test_delete_and_delete_many(store: Store) -> None:
    tier = store.make()
    tier.set_many({f"d{i}": i for i in range(10)}, None)
    assert tier.delete("d0") is True
    assert tier.delete("d0") is False
    keys = [f"d{i}" for i in range(1, 10)]
    calls = command_calls(store.nodes, lambda: tier.delete_many(keys))
    assert set(calls) == {"unlink"}
    if not store.cluster:
        assert calls == {"unlink": 1}
    assert tier.get_many(keys) == {}
    assert tier.delete_many([]) is True


def test_add_is_one_script_setting_nx_with_expiry_and_a_write_token(store: Store) -> None:
    tier = store.make()
    assert round_trips(store.nodes, lambda: tier.add("warm", 1, 20)) >= 1  # opens connections
    assert round_trips(store.nodes, lambda: tier.add("a", "first", 20)) == 1
    token = "{a}\x1fadd-token" if store.cluster else "a\x1fadd-token"  # in the key's slot
    assert 0 < store.plain.pttl(token) <= 30_000  # for a retry, then gone
    assert tier.add("a", "second", 20) is False
    assert tier.get("a") == "first"
    assert 0 < store.plain.pttl("a") <= 20_000
    assert tier.add("b", "x", 0) is True and tier.get("b") is None
    assert tier.add("a", "x", 0) is False


def test_incr_is_atomic_one_round_trip_and_refuses_missing_keys(store: Store) -> None:
    tier = store.make()
    tier.set("n", 10, 100)
    assert round_trips(store.nodes, lambda: tier.incr("n", 5)) == 1
    assert tier.incr("n", -20) == -5
    assert 0 < tier.ttl("n") <= 100  # type: ignore[operator]
    with pytest.raises(KeyError):
        tier.incr("missing")
    assert store.plain.exists("missing") == 0
    assert tier.incr("created", 3, create=True) == 3
    tier.set("text", "not a number", None)
    with pytest.raises(TypeError):
        tier.incr("text")
    assert tier.get("text") == "not a number"


def test_incr_from_many_threads_loses_nothing(store: Store) -> None:
    tier = store.make()
    tier.set("counter", 0, None)

    def bump() -> None:
        for _ in range(50):
            tier.incr("counter")

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tier.get("counter") == 200


def test_integers_are_plain_redis_integers(store: Store) -> None:
    tier = store.make()
    tier.set("hits", 41, None)
    assert store.plain.get("hits") == b"41"
    assert store.plain.incr("hits") == 42
    assert tier.get("hits") == 42
    assert tier.incr("hits") == 43


def test_touch_ttl_expire_persist(store: Store) -> None:
    tier = store.make()
    tier.set("k", "v", None)
    assert tier.ttl("k") is None
    assert tier.ttl("absent") == 0.0
    assert command_calls(store.nodes, lambda: tier.touch("k", 50)) == {"pexpire": 1}
    assert 49 < tier.ttl("k") <= 50  # type: ignore[operator]
    assert tier.persist("k") is True and tier.ttl("k") is None
    assert tier.expire("k", 5) is True and 0 < tier.ttl("k") <= 5  # type: ignore[operator]
    assert tier.touch("absent", 10) is False
    assert tier.persist("absent") is False
    assert tier.touch("k", 0) is True and tier.get("k") is None


def test_has(store: Store) -> None:
    tier = store.make()
    tier.set("k", None, None)
    assert tier.has("k") is True
    assert tier.has("absent") is False


def test_get_entries_is_one_round_trip_with_expiry(store: Store) -> None:
    tier = store.make()
    tier.set("forever", "f", None)
    tier.set("soon", "s", 100)
    keys = ["forever", "soon", "absent"]
    trips = round_trips(store.nodes, lambda: tier.get_entries(keys))
    assert trips <= (len(store.nodes) if store.cluster else 1)
    entries = tier.get_entries(keys)
    assert set(entries) == {"forever", "soon"}
    assert entries["forever"] == ("f", None)
    value, expires = entries["soon"]
    assert value == "s" and expires is not None
    assert time.time() + 99 < expires <= time.time() + 100


def test_a_refused_single_key_read_leaves_its_connection_in_step(store: Store) -> None:
    """GET and PTTL travel together; an error on the first must not leave the second's reply
    to be read as the answer of the next call on that connection."""
    tier = store.make()
    tier.set("k", "v", 100)
    tier.client.primary().hset("a-hash", "field", "x")
    assert tier.get_entries(["a-hash"]) == {}  # WRONGTYPE: answered, a miss
    assert tier.stats.errors >= 1
    for _ in range(3):
        value, expires = tier.get_entries(["k"])["k"]
        assert value == "v" and expires is not None and expires > time.time() + 90


def test_expired_values_are_gone(store: Store) -> None:
    tier = store.make()
    tier.set("short", 1, 0.05)
    time.sleep(0.1)
    assert tier.get("short") is None


def test_iter_keys_and_delete_pattern_use_scan(store: Store) -> None:
    tier = store.make(scan_count=7)
    tier.set_many({f"user:{i}": i for i in range(30)}, None)
    tier.set("other:1", 1, None)
    calls = command_calls(store.nodes, lambda: sorted(tier.iter_keys("user:*")))
    assert "keys" not in calls and calls.get("scan", 0) >= 1
    assert sorted(tier.iter_keys("user:*")) == sorted(f"user:{i}" for i in range(30))
    assert tier.delete_pattern("user:1*") == 11
    assert len(list(tier.iter_keys("user:*"))) == 19
    assert tier.get("other:1") == 1


def test_clear_with_prefix_leaves_other_prefixes(store: Store) -> None:
    mine, theirs = store.make(prefix="app1:", scan_count=10), store.make(prefix="app2:")
    mine.set_many({f"app1:{i}": i for i in range(40)}, None)
    theirs.set_many({f"app2:{i}": i for i in range(40)}, None)
    calls = command_calls(store.nodes, mine.clear)
    assert "flushdb" not in calls and "flushall" not in calls
    assert list(mine.iter_keys("app1:*")) == []
    assert theirs.get_many([f"app2:{i}" for i in range(40)]) == {f"app2:{i}": i for i in range(40)}


def test_clear_without_prefix_flushes_every_primary(store: Store) -> None:
    tier = store.make()
    tier.set_many({f"k{i}": i for i in range(20)}, None)
    assert tier.clear() is True
    assert sum(node.dbsize() for node in store.nodes) == 0


def test_prefix_with_glob_characters_is_literal(store: Store) -> None:
    tier = store.make(prefix="a*[b]:")
    tier.set("a*[b]:1", 1, None)
    tier.set("aXb:1", 2, None)
    assert tier.clear()
    assert store.plain.get("aXb:1") == b"2"


def test_lock_excludes_other_instances(store: Store) -> None:
    first, second = store.make(), store.make()
    with first.lock("lock:job", 10):
        assert second.lock("lock:job", 10, blocking_timeout=0.1).acquire() is False
        with pytest.raises(TimeoutError), second.lock("lock:job", 10, blocking_timeout=0.1):
            pass
    with second.lock("lock:job", 10):
        assert store.plain.exists("lock:job") == 1
    assert store.plain.exists("lock:job") == 0


def test_codec_options_compress_and_sign(store: Store) -> None:
    tier = store.make(compress_min_bytes=100, signing_key="secret")
    tier.set("big", "x" * 10_000, None)
    assert len(store.plain.get("big")) < 1000
    assert tier.get("big") == "x" * 10_000
    unsigned = store.make(serializer="json")
    assert unsigned.get("big", "miss") == "miss"
    assert unsigned.stats.errors == 1


def test_undecodable_payload_is_a_miss(store: Store) -> None:
    store.plain.set("foreign", b"\x99garbage")
    assert store.make().get("foreign", "miss") == "miss"


def test_a_batch_read_counts_each_bad_payload_as_an_error_not_a_store_failure(
    store: Store,
) -> None:
    tier = store.make(BREAKER_THRESHOLD=1)
    assert tier.set("good", {"v": 1}, None)
    store.plain.set("broken", b"\x01not a pickle")
    store.plain.set("foreign", b"\x99garbage")
    assert tier.get_many(["good", "broken", "foreign", "absent"]) == {"good": {"v": 1}}
    assert (tier.stats.errors, tier.stats.hits, tier.stats.misses) == (2, 1, 3)
    assert tier.get("good") == {"v": 1}  # the breaker (one failure opens it) stayed closed


# -- one client per configuration, lazily --------------------------------------------------
def test_views_share_one_client_and_connection(redis_server: RedisServer, redis_url: str) -> None:
    tiers = [redis_tier(redis_url, {}) for _ in range(5)]
    assert len({id(tier.client) for tier in tiers}) == 1
    assert len(registry.entries("redis")) == 1
    for index, tier in enumerate(tiers):
        tier.set(f"k{index}", index, None)
        tier.close()
    assert client_connections(redis_server.client()) == 1
    other = redis_tier(redis_url, {"socket_timeout": 2})
    assert other.client is not tiers[0].client


def test_repr_and_names_hide_the_password() -> None:
    tier = redis_tier("redis://user:hunter2@127.0.0.1:1/0", {"password": "hunter3"})
    shown = repr(tier) + repr(tier.client) + repr(tier.client.settings) + tier.name
    assert "hunter" not in shown


def test_creating_a_backend_does_not_import_redis(redis_url: str) -> None:
    script = f"""
import json, sys
from django.conf import settings
settings.configure(CACHES={{"default": {{
    "BACKEND": "serverless_cache.django.RedisCache", "LOCATION": {redis_url!r}}}}})
import django
django.setup()
from django.core.cache import cache
cache.tier
before = "redis" in sys.modules
cache.set("k", 1)
print(json.dumps([before, "redis" in sys.modules, cache.get("k")]))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [False, True, 1]


@pytest.mark.parametrize(
    ("location", "options", "message"),
    [
        ("", {}, "LOCATION"),
        ("http://127.0.0.1:1", {}, "redis://"),
        ("redis://127.0.0.1:1", {"socket_timout": 1}, "socket_timout"),
        ("redis://127.0.0.1:1", {"socket_timeout": "1"}, "SOCKET_TIMEOUT"),
        ("redis://127.0.0.1:1", {"cluster": "yes"}, "CLUSTER"),
        ("redis://127.0.0.1:1", {"ssl_cert_reqs": "maybe"}, "SSL_CERT_REQS"),
        ("redis://127.0.0.1:1", {"fail_open": "no"}, "FAIL_OPEN"),
    ],
)
def test_bad_configuration_names_the_problem(
    location: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        redis_tier(location, options)


# -- deployment shapes -----------------------------------------------------------------------
def test_tls_server_with_verified_certificate(redis_tls_server: tuple[RedisServer, Path]) -> None:
    server, ca_file = redis_tls_server
    assert server.url.startswith("rediss://")
    tier = redis_tier(server.url, {"ssl_ca_certs": str(ca_file)})
    assert tier.set("tls", [1], None)
    assert tier.get("tls") == [1]
    untrusted = redis_tier(server.url, {"fail_open": False, "socket_timeout": 2})
    with pytest.raises(CacheUnavailableError):
        untrusted.get("tls")


def test_password_acl_user_and_db_from_url(redis_acl_server: RedisServer) -> None:
    port = redis_acl_server.port
    user_tier = redis_tier(f"redis://app:app-secret@127.0.0.1:{port}/3", {})
    assert user_tier.set("acl", "user", None)
    default_tier = redis_tier(f"redis://127.0.0.1:{port}/3", {"password": "default-secret"})
    assert default_tier.get("acl") == "user"
    admin = redis_acl_server.client(password="default-secret", db=3)
    assert admin.get("acl") is not None
    assert redis_acl_server.client(password="default-secret", db=0).get("acl") is None
    wrong = redis_tier(f"redis://app:wrong@127.0.0.1:{port}/3", {"fail_open": False})
    with pytest.raises(CacheUnavailableError):
        wrong.get("acl")


def test_reads_go_to_the_replica(redis_replicated: tuple[RedisServer, RedisServer]) -> None:
    primary, replica = redis_replicated
    primary.client().flushall()
    tier = redis_tier([primary.url, replica.url], {})
    tier.set("replicated", "value", None)
    primary.client().wait(1, 5000)
    writes = command_calls([primary.client()], lambda: tier.set("w", 1, None))
    reads = command_calls([replica.client()], lambda: tier.get_many(["replicated", "w"]))
    primary_reads = command_calls([primary.client()], lambda: tier.get("replicated"))
    assert writes == {"set": 1}
    assert reads == {"mget": 1}
    assert "get" not in primary_reads
    assert tier.get("replicated") == "value"
    tier2 = redis_tier(f"{primary.url},{replica.url}", {})
    assert tier2.client is tier.client


# -- lifecycle: dead connections, dead servers ------------------------------------------------
def test_connection_killed_server_side_is_replaced(
    redis_server: RedisServer, redis_url: str
) -> None:
    tier = redis_tier(redis_url, {"fail_open": False})
    tier.set("k", "v", None)
    admin = redis_server.client()
    assert admin.client_kill_filter(_type="normal", skipme=True) >= 1
    assert tier.get("k") == "v"
    assert tier.stats.errors == 0
    assert client_connections(admin) == 1


def test_connection_killed_mid_pipeline_is_replaced(
    redis_server: RedisServer, redis_url: str
) -> None:
    tier = redis_tier(redis_url, {"fail_open": False})
    tier.set_many({"a": 1, "b": 2}, None)
    redis_server.client().client_kill_filter(_type="normal", skipme=True)
    assert tier.set_many({"a": 3, "b": 4}, 10) == []
    assert tier.get_many(["a", "b"]) == {"a": 3, "b": 4}


def _check_fail_open(tier: RedisTier, attempts: Callable[[], int]) -> None:
    """The first failure is a miss; then the open breaker answers every call without
    reaching the store (``attempts()`` counts the connections the store saw)."""
    assert tier.get("k", "miss") == "miss"
    before = attempts()
    calls: list[tuple[Callable[[], object], object]] = [
        (lambda: tier.get("k", "miss"), "miss"),
        (lambda: tier.get_many(["a", "b"]), {}),
        (lambda: tier.set("k", 1, None), False),
        (lambda: tier.set_many({"a": 1}, None), ["a"]),
        (lambda: tier.add("k", 1, None), False),
        (lambda: tier.delete("k"), False),
        (lambda: tier.delete_many(["k"]), False),
        (lambda: tier.touch("k", 1), False),
        (lambda: tier.has("k"), False),
        (lambda: tier.clear(), False),
        (lambda: tier.get_entries(["k"]), {}),
        (lambda: list(tier.iter_keys("*")), []),
    ]
    for call, expected in calls:
        assert call() == expected
    with pytest.raises(CacheUnavailableError):
        tier.incr("k")
    assert attempts() == before, "a call went to the store with the breaker open"
    assert tier.stats.errors >= 13


def test_closed_port_fails_open_fast(fault_proxy: ProxyFactory) -> None:
    refusing = fault_proxy(None)
    tier = redis_tier(f"redis://{refusing.address}", {**FAST, "breaker_threshold": 1})
    _check_fail_open(tier, lambda: refusing.accepted)


def test_server_that_never_answers_costs_one_timeout(silent_server: int) -> None:
    tier = redis_tier(f"redis://127.0.0.1:{silent_server}", {**FAST, "breaker_threshold": 1})
    _check_fail_open(tier, lambda: len(tier.stats.latency_ms))  # calls that ran are timed
    assert len(tier.stats.latency_ms) == 1  # one call reached the socket: it was not retried


def test_default_timeouts_are_one_second() -> None:
    tier = redis_tier("redis://127.0.0.1:1/0", {})
    kwargs = tier.client.primary().connection_pool.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (1.0, 1.0)
    assert kwargs["retry"].get_retries() == 0  # redis-py never resends; resilience decides


def test_fail_open_off_raises_a_clear_error(closed_port: int) -> None:
    tier = redis_tier(f"redis://127.0.0.1:{closed_port}", {"fail_open": False})
    with pytest.raises(CacheUnavailableError, match="FAIL_OPEN"):
        tier.get("k")
    with pytest.raises(CacheUnavailableError):
        tier.lock("k", 1).acquire()


def test_server_killed_then_restarted(fresh_redis_server: RedisServer) -> None:
    options = {**FAST, "breaker_threshold": 1, "breaker_cooldown": 0.3}
    tier = redis_tier(fresh_redis_server.url, options)
    assert tier.set("k", "before", None)
    fresh_redis_server.kill()
    _check_fail_open(tier, lambda: 0)
    fresh_redis_server.start()
    clock.advance(0.3)  # the breaker's cooldown: the next call is its probe
    assert tier.set("k", "after", None)
    assert tier.get("k") == "after"
    assert client_connections(fresh_redis_server.client()) == 1


def test_cluster_node_unreachable_fails_open(fault_proxy: ProxyFactory) -> None:
    refusing = fault_proxy(None)
    options = {**FAST, "cluster": True, "breaker_threshold": 1}
    tier = redis_tier(f"redis://{refusing.address}", options)
    _check_fail_open(tier, lambda: refusing.accepted)


def test_registry_discard_disconnects(redis_server: RedisServer, redis_url: str) -> None:
    tier = redis_tier(redis_url, {})
    tier.set("k", 1, None)
    assert client_connections(redis_server.client()) == 1
    registry.discard("redis")
    deadline = time.monotonic() + 5
    while client_connections(redis_server.client()) != 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert isinstance(tier.client, RedisClient)
    assert tier.get("k") == 1  # the old view reconnects on demand


def test_missing_sentinel_is_not_a_value(store: Store) -> None:
    tier = store.make()
    assert tier.get("nothing", MISSING) is MISSING


def test_warm_opens_the_connection_before_the_first_request(redis_server: RedisServer) -> None:
    tier = redis_tier(redis_server.url, {})
    observer = redis_server.client()
    before = client_connections(observer)
    tier.warm()
    assert client_connections(observer) == before + 1


def test_warm_on_a_dead_store_does_not_raise(closed_port: int) -> None:
    tier = redis_tier(f"redis://127.0.0.1:{closed_port}", {**FAST})
    tier.warm()
    assert tier.stats.errors == 1


def test_a_view_outliving_a_registry_discard_uses_the_new_client(redis_server: RedisServer) -> None:
    tier = redis_tier(redis_server.url, {})
    tier.warm()
    old = tier.client
    registry.discard()
    tier.warm()
    assert tier.client is not old
    assert registry.entries("redis") == [tier.client]


def test_an_error_reply_is_a_miss_but_does_not_open_the_breaker(redis_server: RedisServer) -> None:
    tier = redis_tier(redis_server.url, {"breaker_threshold": 1})
    redis_server.client().rpush("a-list", "x")  # GET on a list: WRONGTYPE from a healthy server
    assert tier.get("a-list", "miss") == "miss"
    assert tier.get("a-list", "miss") == "miss"
    tier.set("fine", 1, None)
    assert tier.get("fine") == 1
    assert tier.stats.errors == 2
