"""A layered cache's async reads: an L1 hit is answered in the event loop, without the worker
thread that reading the shared tiers takes, and counted once, as the sync path counts it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from serverless_cache import clock
from serverless_cache.tiers import asynchronous
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.kinds import build_tier
from serverless_cache.tiers.layered import LayeredTier
from serverless_cache.tiers.memory import MemoryTier

INTERVAL = 10.0  # the epoch check interval: no check falls due unless a test advances the clock


class CountingExecutor(ThreadPoolExecutor):
    """The event loop's default executor, counting the calls sent to a worker thread."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def in_loop(call: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
    """``call()`` awaited in a fresh event loop: its result, and how many worker threads ran."""
    executor = CountingExecutor()

    async def main() -> Any:
        asyncio.get_running_loop().set_default_executor(executor)
        return await call()

    return asyncio.run(main()), executor.submitted


def layered(name: str, redis_url: str, **options: Any) -> LayeredTier:
    tiers = [{"TIER": "memory", "CAP": 60}, {"TIER": "redis", "LOCATION": redis_url}]
    options = {"TIERS": tiers, "EPOCH_CHECK_INTERVAL": INTERVAL, **options}
    tier = build_tier("layered", TierConfig(name=name, options=options, key_prefix=f"{name}:"))
    assert isinstance(tier, LayeredTier)
    return tier


def test_an_l1_hit_needs_no_worker_thread(redis_url: str) -> None:
    tier = layered("async-hit", redis_url)
    tier.set("k", {"v": 1}, 300)
    assert tier.get("k") == {"v": 1}  # the epoch is checked: none is due for INTERVAL
    hits, misses = tier.stats.hits, tier.stats.misses
    assert in_loop(lambda: asynchronous.get(tier, "k")) == ({"v": 1}, 0)
    assert (tier.stats.hits, tier.stats.misses) == (hits + 1, misses)


def test_an_l1_miss_reads_below_in_one_worker_thread_and_counts_once(redis_url: str) -> None:
    tier = layered("async-miss", redis_url)
    tier.set("k", {"v": 2}, 300)
    assert tier.get("absent") is None  # the epoch is checked: none is due for INTERVAL
    first = tier.first
    assert isinstance(first, MemoryTier)
    first.delete("k")
    hits, l1_misses = tier.stats.hits, first.stats.misses
    assert in_loop(lambda: asynchronous.get(tier, "k")) == ({"v": 2}, 1)
    assert tier.stats.hits == hits + 1 and first.stats.misses == l1_misses + 1
    assert first.get("k") == {"v": 2}  # promoted, as by a sync get
    misses = tier.stats.misses
    assert in_loop(lambda: asynchronous.get(tier, "nowhere", "dflt")) == ("dflt", 1)
    assert tier.stats.misses == misses + 1


def test_an_epoch_check_due_is_made_in_a_worker_thread_first(redis_url: str) -> None:
    tier = layered("async-epoch", redis_url)
    tier.set("k", {"v": 3}, 300)
    assert tier.get("k") == {"v": 3}
    clock.advance(INTERVAL)  # the next read reads the epoch from Redis before L1 answers
    assert in_loop(lambda: asynchronous.get(tier, "k")) == ({"v": 3}, 1)
    assert in_loop(lambda: asynchronous.get(tier, "k")) == ({"v": 3}, 0)  # checked: L1 again


def test_push_invalidation_reads_its_messages_in_a_worker_thread(redis_url: str) -> None:
    tier = layered("async-push", redis_url, INVALIDATION="push")
    tier.set("k", {"v": 4}, 300)
    assert tier.get("k") == {"v": 4}
    hits, misses = tier.stats.hits, tier.stats.misses
    assert in_loop(lambda: asynchronous.get(tier, "k")) == ({"v": 4}, 1)
    assert (tier.stats.hits, tier.stats.misses) == (hits + 1, misses)


def test_a_network_first_tier_is_never_read_in_the_event_loop(redis_url: str) -> None:
    tiers = [{"TIER": "redis", "LOCATION": redis_url, "CAP": 60}]
    tiers.append({"TIER": "redis", "LOCATION": redis_url})
    tier = build_tier("layered", TierConfig(name="async-net", options={"TIERS": tiers}))
    assert isinstance(tier, LayeredTier) and not tier.first.in_process
    tier.set("k", {"v": 5}, 300)
    assert in_loop(lambda: asynchronous.get(tier, "k")) == ({"v": 5}, 1)
