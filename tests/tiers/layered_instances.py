"""Simulated Lambda instances for test_layered_servers.py, each run in its own process (spawn).

Every function builds its own LayeredTier from OPTIONS, as a fresh Lambda instance would, and
reports what it saw through a multiprocessing queue. Times are ``time.time()``, one clock for
every process of the machine.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from serverless_cache.tiers.layered import LayeredTier
from tests.tiers.build import layered_tier


def build(options: dict[str, Any]) -> LayeredTier:
    layered = layered_tier("instance", options)
    layered.get("warm-up")  # connect and read the epoch before the measured part
    return layered


def watch(
    options: dict[str, Any], key: str, ready: Any, done_at: Any, watch_after: float, results: Any
) -> None:
    """Read ``key`` (promoting it into L1), then sample it every 10 ms until ``watch_after``
    seconds after the other instance's ``done_at`` (at most a minute in all)."""
    layered = build(options)
    first = layered.get(key)
    ready.set()
    samples: list[tuple[float, Any]] = []
    give_up = time.time() + 60
    while time.time() < give_up and not (
        done_at.value and time.time() > done_at.value + watch_after
    ):
        started = time.time()
        samples.append((started, layered.get(key)))
        time.sleep(0.01)
    results.put({"first": first, "samples": samples, "l1_hits": layered.first.stats.hits})


def write(
    options: dict[str, Any], key: str, value: Any, ready: Any, done_at: Any, results: Any
) -> None:
    """Once the watcher is ready, write ``value`` and publish when the write returned."""
    layered = build(options)
    ready.wait(60)
    time.sleep(0.2)
    stored = layered.set(key, value, None)
    done_at.value = time.time()
    results.put({"written_at": done_at.value, "stored": stored})


def clear(options: dict[str, Any], ready: Any, done_at: Any, results: Any) -> None:
    """Once the watcher is ready, clear the cache and publish when clear() returned."""
    layered = build(options)
    ready.wait(60)
    time.sleep(0.2)
    cleared = layered.clear()
    done_at.value = time.time()
    results.put({"cleared_at": done_at.value, "cleared": cleared})


def stampede(
    options: dict[str, Any], key: str, threads: int, start: Any, seconds: float, results: Any
) -> None:
    """``threads`` threads call get_or_set on ``key`` at once; report how often it computed."""
    layered = build(options)
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        time.sleep(seconds)
        return "computed"

    values: list[Any] = []
    together = threading.Barrier(threads)

    def call() -> None:
        together.wait()
        values.append(layered.get_or_set(key, compute, 60))

    workers = [threading.Thread(target=call) for _ in range(threads)]
    start.wait(60)
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put({"computations": len(calls), "values": values})
