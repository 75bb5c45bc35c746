"""One cache read at concurrency 1, sync against async, on a private redis-server.

A Django view on Lambda behind Mangum is async with one request at a time: what an ``aget``
costs beside the sync ``get`` of the same backend is the price of the async API. Each
contender reads one key 100 times per call (awaited inside one running loop for the async
ones); the bare rows are redis-py's own clients with ``pickle.loads``, the floor of each API.
The same for a LayeredCache's L1 hit, which an ``aget`` answers in the event loop.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Callable
from typing import Any

from benchmarks.harness import compare, setup_django
from example_project.servers import redis_server

READS = 100
VALUE = {"id": 7, "name": "user", "roles": ["a", "b"]}


def main() -> None:
    with redis_server() as server:
        run(server.url)


def run(url: str) -> None:
    import redis
    import redis.asyncio
    from asgiref.sync import sync_to_async

    setup_django()
    from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

    from serverless_cache.django import LayeredCache, RedisCache

    ours = RedisCache(url, {})
    theirs = DjangoRedisCache(url, {"KEY_PREFIX": "django"})
    theirs.set("k", VALUE)
    ours.set("k", VALUE)
    bare = redis.Redis.from_url(url)
    bare.set("bare", pickle.dumps(VALUE))
    loop = asyncio.new_event_loop()
    bare_async = redis.asyncio.Redis.from_url(url)
    hop = sync_to_async(ours.get, thread_sensitive=False)

    def sync_reads(get: Any) -> None:
        for _ in range(READS):
            get()

    def async_reads(aget: Any) -> None:
        async def reads() -> None:
            for _ in range(READS):
                await aget()

        loop.run_until_complete(reads())

    async def bare_aget() -> object:
        payload = await bare_async.get("bare")
        assert isinstance(payload, bytes)
        return pickle.loads(payload)

    contenders: dict[str, Callable[[], object]] = {
        "RedisCache.get (ours, sync)": lambda: sync_reads(lambda: ours.get("k")),
        "bare redis-py get + pickle.loads": lambda: sync_reads(
            lambda: pickle.loads(bare.get("bare"))  # type: ignore[arg-type]
        ),
        "RedisCache.aget (ours, native)": lambda: async_reads(lambda: ours.aget("k")),
        "RedisCache.get in a worker thread": lambda: async_reads(lambda: hop("k")),
        "bare redis.asyncio get + pickle.loads": lambda: async_reads(bare_aget),
        "Django's RedisCache.aget": lambda: async_reads(lambda: theirs.aget("k")),
    }
    for fn in contenders.values():
        fn()
    compare(
        f"{READS} reads of one key at concurrency 1: async against sync (per {READS} reads)",
        contenders,
        "RedisCache.get (ours, sync)",
        rounds=9,
        calls=20,
    )
    tiers = [{"TIER": "memory", "CAP": 60}, {"TIER": "redis", "LOCATION": url}]
    layered = LayeredCache("bench-async-layered", {"OPTIONS": {"TIERS": tiers}})
    layered.set("k", VALUE)
    layered_hop = sync_to_async(layered.get, thread_sensitive=False)
    compare(
        f"{READS} L1 hits of a LayeredCache: aget against get (per {READS} reads)",
        {
            "LayeredCache.get (L1 hit)": lambda: sync_reads(lambda: layered.get("k")),
            "LayeredCache.aget (L1 hit)": lambda: async_reads(lambda: layered.aget("k")),
            "LayeredCache.get in a worker thread": lambda: async_reads(lambda: layered_hop("k")),
        },
        "LayeredCache.get (L1 hit)",
        rounds=9,
        calls=20,
    )
    loop.run_until_complete(bare_async.aclose())
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


if __name__ == "__main__":
    main()
