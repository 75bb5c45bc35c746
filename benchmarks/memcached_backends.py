"""The Memcached backends against a bare pymemcache client and Django's PyMemcacheCache.

One private memcached, one process, interleaved rounds, medians. Every contender is called
through its public API (key making and value encoding included); ratios are to the same
operation done with a bare pymemcache client on the same server. Round trips are counted by a
relay in front of a second copy of each contender (request bursts it forwards: one per round
trip), so the timed calls never pass through it.
"""

from __future__ import annotations

import pickle
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.harness import relative, setup_django
from example_project.servers import RequestCounter, memcached_server

ROUNDS = 21
CALLS = 200

Contenders = dict[str, Callable[[Any], object]]


def django_backends(location: str) -> dict[str, Any]:

    setup_django()
    from django.core.cache.backends.memcached import PyMemcacheCache

    from serverless_cache.django import MemcachedCache

    host_port = location.removeprefix("memcached://")
    return {
        "serverless_cache.django.MemcachedCache": MemcachedCache(location, {"KEY_PREFIX": "o"}),
        "Django PyMemcacheCache": PyMemcacheCache(host_port, {"KEY_PREFIX": "d"}),
    }


def bare_client(location: str) -> Any:
    from pymemcache.client.base import Client

    host, port = location.removeprefix("memcached://").split(":")
    return Client((host, int(port)), default_noreply=False, no_delay=True)


def contenders_for(location: str) -> dict[str, Any]:
    return {"bare pymemcache": bare_client(location), **django_backends(location)}


def measure(
    title: str, operation: Callable[[str, Any], object], timed: dict[str, Any], counted: Any
) -> dict[str, tuple[float, float]]:
    """Median microseconds per call (timed directly) and round trips per call (relayed)."""
    relay, clients = counted
    trips: dict[str, float] = {}
    for name, client in clients.items():
        operation(name, client)  # warm: connections open
        before = relay.requests
        for _ in range(20):
            operation(name, client)
        trips[name] = (relay.requests - before) / 20
    samples: dict[str, list[float]] = {name: [] for name in timed}
    for name, client in timed.items():
        operation(name, client)
    for _ in range(ROUNDS):
        for name, client in timed.items():
            start = time.perf_counter_ns()
            for _ in range(CALLS):
                operation(name, client)
            samples[name].append((time.perf_counter_ns() - start) / CALLS / 1000)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    bare = medians["bare pymemcache"]
    print(f"\n{title}")
    print(f"  {'contender':<40} {'median':>10} {'vs bare pymemcache':>20} {'round trips':>12}")
    for name, median in medians.items():
        print(f"  {name:<40} {median:>7.1f} us {relative(median, bare):>20} {trips[name]:>12.2f}")
    return {name: (medians[name], trips[name]) for name in timed}


def main() -> None:
    with memcached_server() as server:
        relay = RequestCounter(server.port)
        try:
            counted = (relay, contenders_for(f"memcached://127.0.0.1:{relay.port}"))
            run(contenders_for(server.url), counted)
        finally:
            relay.close()


def run(timed: dict[str, Any], counted: Any) -> None:
    record = {"id": 7, "name": "a user", "roles": ["reader", "writer"]}
    keys = [f"key-{i}" for i in range(50)]
    items = {key: {**record, "id": i} for i, key in enumerate(keys)}
    bare_items = {f"bare:{key}": pickle.dumps(value) for key, value in items.items()}
    bare_keys = list(bare_items)
    for clients in (timed, counted[1]):
        for name, client in clients.items():
            if name == "bare pymemcache":
                client.set("bare:record", pickle.dumps(record))
                client.set_many(bare_items, expire=300)
                client.set("bare:counter", b"0")
            else:
                client.set("record", record)
                client.set_many(items, timeout=300)
                client.set("counter", 0, timeout=None)

    def get(name: str, client: Any) -> object:
        if name == "bare pymemcache":
            return pickle.loads(client.get("bare:record"))
        return client.get("record")

    def get_many(name: str, client: Any) -> object:
        if name == "bare pymemcache":
            return [pickle.loads(value) for value in client.get_many(bare_keys).values()]
        return client.get_many(keys)

    def set_many(name: str, client: Any) -> object:
        if name == "bare pymemcache":
            encoded = {
                key: pickle.dumps(value)
                for key, value in zip(bare_keys, items.values(), strict=True)
            }
            return client.set_many(encoded, expire=300)
        return client.set_many(items, timeout=300)

    def incr(name: str, client: Any) -> object:
        return client.incr("bare:counter" if name == "bare pymemcache" else "counter", 1)

    results = {
        "get": measure("get (hit, small dict; bare client unpickles)", get, timed, counted),
        "get_many(50)": measure("get_many, 50 hits", get_many, timed, counted),
        "set_many(50)": measure("set_many, 50 items with a timeout", set_many, timed, counted),
        "incr": measure("incr", incr, timed, counted),
    }
    print("\nAgainst bare pymemcache (which unpickles too); Django's PyMemcacheCache beside:")
    for operation, rows in results.items():
        bare = rows["bare pymemcache"][0]
        ours = rows["serverless_cache.django.MemcachedCache"]
        django = rows["Django PyMemcacheCache"]
        print(
            f"  {operation:<14} ours {relative(ours[0], bare)} ({ours[1]:.0f} round trips), "
            f"Django PyMemcacheCache {relative(django[0], bare)} ({django[1]:.0f} round trips)"
        )
