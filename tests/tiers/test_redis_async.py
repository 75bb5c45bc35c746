"""The Redis tier's native asyncio path (tiers/redis/aio.py) through Django's async API, on a
real redis-server: the contract's answers, no worker thread, one client set per event loop
released with its loop, and the sync path's fail-open, breaker and retry rules."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

import pytest

from serverless_cache import clock, registry
from serverless_cache.django import RedisCache
from serverless_cache.errors import CacheUnavailableError
from serverless_cache.tiers.redis import RedisTier
from serverless_cache.tiers.redis.aio import AsyncClients, AsyncRedisStore
from serverless_cache.tiers.redis.read_batches import MAX_BATCH
from tests.fixtures.fault_proxy import ProxyFactory
from tests.fixtures.redis_servers import RedisServer
from tests.tiers.redis_helpers import client_connections

T = TypeVar("T")
FAST = {"SOCKET_TIMEOUT": 0.3, "CONNECT_TIMEOUT": 0.3}


class NoThreads(ThreadPoolExecutor):
    """A default executor that refuses work: a thread hop fails the test."""

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an async cache call used a worker thread")


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``make()`` in a fresh event loop, as Mangum's asyncio.run() per invocation."""

    async def main() -> T:
        asyncio.get_running_loop().set_default_executor(NoThreads())
        return await make()

    return asyncio.run(main())


def cache(location: str, **options: Any) -> RedisCache:
    return RedisCache(location, {"KEY_PREFIX": "a", "OPTIONS": options})


def shared_clients() -> list[AsyncClients]:
    return [entry for entry in registry.entries("redis-async") if isinstance(entry, AsyncClients)]


def test_the_django_async_api_answers_as_the_sync_one(redis_url: str) -> None:
    c = cache(redis_url)

    async def calls() -> list[Any]:
        await c.aset("k", {"v": 1})
        await c.aset("gone", 1, timeout=0)
        await c.aset_many({"a": 1, "b": [2]}, timeout=None)
        got = [
            await c.aget("k"),
            await c.aget("missing", "default"),
            await c.aget("gone", "default"),
            await c.aget_many(["a", "b", "missing"]),
            await c.ahas_key("a"),
            await c.atouch("a", 100),
            await c.atouch("missing", 100),
            await c.adelete("k"),
            await c.adelete("k"),
        ]
        await c.adelete_many(["a", "b"])
        got.append(await c.aget_many(["a", "b"]))
        return got

    assert run(calls) == [
        {"v": 1}, "default", "default", {"a": 1, "b": [2]}, True, True, False, True, False, {},
    ]  # fmt: skip

    async def counters() -> list[Any]:
        return [
            await c.aadd("n", 1),
            await c.aadd("n", 2),
            await c.aincr("n", 5),
            await c.aadd("none", 1, timeout=0),
            await c.ahas_key("none"),
        ]

    assert run(counters) == [True, False, 6, True, False]
    with pytest.raises(ValueError, match="not found"):
        run(lambda: c.aincr("missing"))
    c.set("text", "not a number")
    with pytest.raises(TypeError):
        run(lambda: c.aincr("text"))
    c.set("sync", "written in sync")
    assert run(lambda: c.aget("sync")) == "written in sync"
    run(lambda: c.aset("async", "written in async", 50))
    assert c.get("async") == "written in async"
    assert 49 < (c.ttl("async") or 0) <= 50
    assert c.tier.stats.hits >= 4 and c.tier.stats.misses >= 3


def test_one_client_set_per_loop_released_over_1000_invocations(
    redis_url: str, redis_server: RedisServer
) -> None:
    c = cache(redis_url)
    admin = redis_server.client()
    before = int(admin.info("clients")["connected_clients"])
    descriptors = len(os.listdir("/proc/self/fd"))

    async def invocation(i: int) -> Any:
        await c.aset(f"k{i % 10}", i)
        return await c.aget(f"k{i % 10}")

    for i in range(1_000):
        assert run(lambda i=i: invocation(i)) == i  # type: ignore[misc]
    (clients,) = shared_clients()
    assert clients.by_loop == {} and clients.closers == {}  # every loop's clients released
    assert int(admin.info("clients")["connected_clients"]) <= before
    assert len(os.listdir("/proc/self/fd")) <= descriptors + 2


def test_one_loop_reuses_its_clients(redis_url: str, redis_server: RedisServer) -> None:
    c = cache(redis_url)
    admin = redis_server.client()

    async def many() -> list[Any]:
        await c.aset("k", 1)
        results = await asyncio.gather(*(c.aget("k") for _ in range(200)))
        (clients,) = shared_clients()
        assert len(clients.by_loop) == 1
        connections = int(admin.info("clients")["connected_clients"]) - 1  # minus admin
        assert 1 <= connections <= (os.cpu_count() or 1) + 4  # no more than the threads were
        return results

    assert run(many) == [1] * 200


def test_a_loop_closed_without_shutdown_is_swept(redis_url: str, redis_server: RedisServer) -> None:
    c = cache(redis_url)
    admin = redis_server.client()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(c.aset("k", 1))
    loop.close()  # no shutdown_asyncgens: its clients are left behind
    (clients,) = shared_clients()
    assert loop in clients.by_loop
    assert client_connections(admin) == 1  # the abandoned one
    assert run(lambda: c.aget("k")) == 1
    assert loop not in clients.by_loop
    assert client_connections(admin) == 0


def test_store_down_fails_open_and_the_breaker_stops_calling(
    redis_server: RedisServer, fault_proxy: ProxyFactory
) -> None:
    proxy = fault_proxy(redis_server.port)
    c = cache(f"redis://{proxy.address}/0", **FAST, BREAKER_THRESHOLD=2)
    run(lambda: c.aset("k", "v"))
    proxy.down()

    async def while_down() -> list[Any]:
        return [await c.aget("k", "default"), await c.aget_many(["k"])]

    assert run(while_down) == ["default", {}]
    accepted = proxy.accepted
    assert run(lambda: c.aget("k", "open")) == "open"
    assert proxy.accepted == accepted, "a call went to the store with the breaker open"
    assert c.tier.stats.errors >= 3
    run(lambda: c.aset("k", "w"))  # skipped by the breaker: noted for recovery, as in sync
    journal = cast(RedisTier, c.tier).journal
    assert journal.pending
    proxy.forward()
    clock.advance(5)  # past the breaker's cooldown
    # Until the journal is replayed the sync path answers (it knows the suspect keys).
    assert asyncio.run(c.aget("k", "miss")) == "miss"
    assert not journal.pending
    assert run(lambda: c.aget("k", "miss")) == "miss"  # native again


def test_fail_open_off_raises_the_sync_error(fault_proxy: ProxyFactory) -> None:
    refusing = fault_proxy(None)
    c = cache(f"redis://{refusing.address}/0", **FAST, FAIL_OPEN=False)
    with pytest.raises(CacheUnavailableError, match="FAIL_OPEN"):
        run(lambda: c.aget("k"))


def test_an_add_whose_reply_was_lost_says_it_stored(
    redis_url: str, redis_server: RedisServer, fault_proxy: ProxyFactory
) -> None:
    proxy = fault_proxy(redis_server.port)
    c = cache(f"redis://{proxy.address}/0", **FAST)

    async def calls() -> list[Any]:
        await c.aget("warm")  # a connection open before the reply is dropped
        proxy.drop_replies(1)
        added = await c.aadd("added", "first")
        return [added, await c.aadd("added", "second"), await c.aget("added")]

    assert run(calls) == [True, False, "first"]
    assert proxy.dropped == 1


def test_a_lost_reply_of_an_idempotent_call_is_retried_once(
    redis_server: RedisServer, fault_proxy: ProxyFactory
) -> None:
    proxy = fault_proxy(redis_server.port)
    c = cache(f"redis://{proxy.address}/0", **FAST)

    async def calls() -> Any:
        await c.aset("k", "v")
        proxy.drop_replies(1)
        return await c.aget("k")

    assert run(calls) == "v"
    assert proxy.dropped == 1
    assert c.tier.stats.errors == 0  # the retry answered: not a failure


def test_cluster_and_other_tiers_keep_the_worker_thread() -> None:
    clustered = cache("redis://127.0.0.1:1/0", CLUSTER=True)
    assert getattr(clustered.tier, "aio", None) is None
    assert getattr(cache("redis://127.0.0.1:1/0").tier, "aio", None) is not None


def test_tagged_entries_read_natively_are_checked_as_in_sync(redis_url: str) -> None:
    c = cache(redis_url)
    c.set("t", "v", tags=["product:1"])
    assert asyncio.run(c.aget("t")) == "v"  # not the Tagged wrapper the store holds
    assert asyncio.run(c.aget_many(["t"])) == {"t": "v"}
    assert asyncio.run(c.ahas_key("t"))
    assert c.invalidate_tags("product:1")
    assert asyncio.run(c.aget("t", "gone")) == "gone"
    assert asyncio.run(c.aget_many(["t"])) == {}
    assert not asyncio.run(c.ahas_key("t"))


def test_a_frozen_server_times_out_and_its_late_reply_is_never_read(
    fresh_redis_server: RedisServer,
) -> None:
    c = cache(fresh_redis_server.url, **FAST)

    async def calls() -> list[Any]:
        await c.aset("k", "old")
        await c.aset("other", "other value")
        fresh_redis_server.freeze()
        try:
            frozen = await c.aget("other", "timed out")  # SOCKET_TIMEOUT, applied per call
        finally:
            fresh_redis_server.thaw()
        clock.advance(5)  # past the breaker's cooldown
        return [frozen, await c.aget("k"), await c.aget("other")]

    # The late reply to the GET of "other" is on a connection that was dropped: never read
    # as the answer to a later call.
    assert run(calls) == ["timed out", "old", "other value"]
    assert c.tier.stats.errors == 1


def test_reads_waiting_for_a_connection_share_one_pipeline(
    redis_url: str, redis_server: RedisServer
) -> None:
    c = cache(redis_url, MAX_CONNECTIONS=1)
    c.set_many({f"k{i}": i for i in range(20)})
    admin = redis_server.client()

    def read_events() -> int:
        return int(admin.info("stats")["total_reads_processed"])

    async def calls() -> tuple[list[Any], int]:
        await c.aget("k0")  # the loop's one connection is open
        before = read_events()
        got = await asyncio.gather(
            *(c.aget(f"k{i}") for i in range(20)),
            c.aget_many(["k1", "k2", "missing"]),
            c.aget("missing", "default"),
        )
        return got, read_events() - before

    got, events = run(calls)
    assert got == [*range(20), {"k1": 1, "k2": 2}, "default"]
    # The first GET takes the connection; the 21 reads that found it busy arrive as one
    # pipeline (one read event, where one at a time would be 21), and the INFO is the third.
    assert events <= 4
    assert client_connections(admin) <= 1
    assert c.tier.stats.hits == 23 and c.tier.stats.misses == 2  # the first GET is the 23rd


def test_a_lost_pipeline_reply_is_retried_once_for_each_read_in_it(
    redis_server: RedisServer, fault_proxy: ProxyFactory
) -> None:
    proxy = fault_proxy(redis_server.port)
    c = cache(f"redis://{proxy.address}/0", **FAST, MAX_CONNECTIONS=1)
    c.set_many({f"k{i}": i for i in range(5)})
    admin = redis_server.client()

    async def calls() -> list[Any]:
        await c.aget("k0")  # the loop's one connection is open
        admin.config_resetstat()
        proxy.drop_replies(1, after=1)  # k0's reply arrives; the pipeline's is lost
        return await asyncio.gather(*(c.aget(f"k{i}", "lost") for i in range(5)))

    assert run(calls) == [0, 1, 2, 3, 4]
    assert proxy.dropped == 1
    assert c.tier.stats.errors == 0  # each retry answered: no failure
    # k0 alone, the lost pipeline of k1-k4, then k1-k4 once more.
    assert admin.info("commandstats")["cmdstat_get"]["calls"] == 1 + 4 + 4


def test_a_key_that_cannot_be_sent_fails_its_own_read_only(redis_url: str) -> None:
    c = cache(redis_url, MAX_CONNECTIONS=1)
    c.set_many({"k0": 0, "k1": 1, "k2": 2})

    async def calls() -> list[Any]:
        await c.aget("k0")
        keys = ["k0", "k1", "\ud800", "k2"]  # a lone surrogate has no UTF-8 form
        return await asyncio.gather(*(c.aget(key) for key in keys), return_exceptions=True)

    got = run(calls)
    assert [got[0], got[1], got[3]] == [0, 1, 2]
    assert isinstance(got[2], UnicodeEncodeError)


def test_each_reply_of_a_pipeline_has_its_own_socket_timeout(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = cache(redis_url, MAX_CONNECTIONS=1)
    c.set_many({f"k{i}": i for i in range(6)})
    store = cast(RedisTier, c.tier).aio
    assert isinstance(store, AsyncRedisStore)
    timeouts: list[Any] = []
    socket_timeout = store.deadline

    def deadline() -> Any:
        timeouts.append(socket_timeout())
        return timeouts[-1]

    monkeypatch.setattr(store, "deadline", deadline)

    async def calls() -> list[Any]:
        await c.aget("k0")
        timeouts.clear()
        return await asyncio.gather(*(c.aget(f"k{i}") for i in range(6)))

    assert run(calls) == [0, 1, 2, 3, 4, 5]
    # k0 alone; then the pipeline of k1-k5: one to connect and send, one per reply (a
    # SOCKET_TIMEOUT for the whole pipeline would fail large batches of fast replies).
    assert len(timeouts) == 1 + 1 + 5


def test_calls_waiting_through_a_reset_go_to_the_new_clients(redis_url: str) -> None:
    c = cache(redis_url, MAX_CONNECTIONS=1)
    c.set_many({"k0": 0, "k1": 1})

    async def calls() -> tuple[list[Any], Any]:
        await c.aget("k0")
        (shared,) = shared_clients()
        old = shared.current()
        waiting = [c.aget("k0"), c.aget("k1"), c.aset("w", "v"), c.aget_many(["k1"])]
        tasks = [asyncio.ensure_future(call) for call in waiting]
        await asyncio.sleep(0)  # the first GET holds the connection; the others wait
        registry.discard("redis-async")
        got = await asyncio.wait_for(asyncio.gather(*tasks), 5)
        pools = [client.connection_pool for client in (old.primary, *old.replicas)]
        connected = [
            connection
            for pool in pools
            for connection in (*pool._available_connections, *pool._in_use_connections)
            if connection.is_connected
        ]
        return got, connected

    got, connected = run(calls)
    assert got == [0, 1, None, {"k1": 1}]
    assert c.get("w") == "v"
    assert connected == [], "a call reopened a connection of the clients a reset closed"


def test_a_read_cancelled_while_queued_leaves_the_others_answered(redis_url: str) -> None:
    c = cache(redis_url, MAX_CONNECTIONS=1)
    c.set_many({f"k{i}": i for i in range(4)})

    async def calls() -> list[Any]:
        await c.aget("k0")
        reads = [asyncio.ensure_future(c.aget(f"k{i}")) for i in range(4)]
        await asyncio.sleep(0)  # each read has started: the first holds the connection
        reads[2].cancel()
        return await asyncio.wait_for(asyncio.gather(*reads, return_exceptions=True), 5)

    got = run(calls)
    assert got[:2] == [0, 1] and got[3] == 3
    assert isinstance(got[2], asyncio.CancelledError)


def test_reads_of_a_sender_cancelled_before_it_ran_are_tried_again(redis_url: str) -> None:
    c = cache(redis_url, MAX_CONNECTIONS=1)
    c.set_many({"k0": 0, "k1": 1, "k2": 2})

    async def calls() -> tuple[list[Any], list[Any]]:
        await c.aget("k0")
        reads = [asyncio.ensure_future(c.aget(f"k{i}")) for i in range(3)]
        await asyncio.sleep(0)  # k0 holds the connection, k1 and k2 are queued
        (shared,) = shared_clients()
        senders = list(shared.current().batches.senders)
        assert senders, "no batch was started"
        for sender in senders:
            sender.cancel()  # before its first step: nothing was sent
        got = await asyncio.wait_for(asyncio.gather(*reads), 5)
        # Later reads that find the connection busy start a batch of their own.
        later = [asyncio.ensure_future(c.aget(key)) for key in ("k0", "k2")]
        return got, await asyncio.wait_for(asyncio.gather(*later), 5)

    assert run(calls) == ([0, 1, 2], [0, 2])
    assert c.tier.stats.errors == 0  # each unsent read was tried once more, and answered


def test_a_batch_whose_reads_were_all_cancelled_is_not_sent(
    redis_url: str, redis_server: RedisServer
) -> None:
    c = cache(redis_url, MAX_CONNECTIONS=1)
    c.set_many({"k0": 0, "k1": 1})
    admin = redis_server.client()

    async def calls() -> Any:
        await c.aget("k0")
        admin.config_resetstat()
        holder = asyncio.ensure_future(c.aget("k0"))
        queued = [asyncio.ensure_future(c.aget("k1")) for _ in range(3)]
        await asyncio.sleep(0)
        for read in queued:
            read.cancel()
        await asyncio.gather(holder, *queued, return_exceptions=True)
        return await asyncio.wait_for(c.aget("k1"), 5)

    assert run(calls) == 1
    # The holder and the last read: none of the three cancelled reads reached the server.
    assert admin.info("commandstats")["cmdstat_get"]["calls"] == 2


def test_a_cancelled_call_leaves_the_breaker_count_as_it_was(redis_url: str) -> None:
    c = cache(redis_url, MAX_CONNECTIONS=1)
    c.set("k", 1)
    breaker = cast(RedisTier, c.tier)._shared.client.breaker

    async def calls() -> int:
        await c.aget("k")
        breaker.failures = 1  # one failure seen before
        holder = asyncio.ensure_future(c.aget("k"))
        queued = asyncio.ensure_future(c.aget("k"))
        await asyncio.sleep(0)
        queued.cancel()  # by its caller (a client gone, a timeout): the store never answered
        await asyncio.sleep(0)  # the cancellation reaches its guard; the holder still waits
        failures: int = breaker.failures
        await asyncio.gather(holder, queued, return_exceptions=True)
        return failures

    assert run(calls) == 1


def test_a_batch_holds_at_most_max_batch_reads(redis_url: str) -> None:
    c = cache(redis_url, MAX_CONNECTIONS=1)
    c.set_many({f"k{i}": i for i in range(MAX_BATCH + 6)})

    async def calls() -> tuple[list[Any], int]:
        await c.aget("k0")
        holder = asyncio.ensure_future(c.aget("k0"))
        reads = [asyncio.ensure_future(c.aget(f"k{i}")) for i in range(MAX_BATCH + 6)]
        await asyncio.sleep(0)  # the holder has the connection; every other read is queued
        (shared,) = shared_clients()
        batches = len(shared.current().batches.senders)
        return await asyncio.wait_for(asyncio.gather(holder, *reads), 5), batches

    got, batches = run(calls)
    assert got == [0, *range(MAX_BATCH + 6)]
    assert batches == 2  # 64 reads, then the 6 more in a second pipeline
