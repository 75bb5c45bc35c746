"""The Redis backends against a bare redis-py client and the usual alternatives.

One private redis-server, one process, interleaved rounds, medians. Every contender is called
through its public API (key making and value encoding included); ratios are to the same
operation done with a bare redis-py client on the same server. Round trips are counted by the
server (``total_reads_processed`` in INFO stats: one read per request burst a client sends; a
pipeline of several kilobytes may arrive in two reads, so for set_many it is an upper bound).
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.harness import setup_django
from example_project.servers import redis_server

OURS = ("serverless_cache.django.RedisCache", "serverless_cache.flask.RedisCache")
LEGEND = """\
Columns: median = microseconds per call (median of the rounds); vs bare = that time divided by
the bare redis-py client's (1.00x = as fast, higher = slower; the bare client returns raw bytes,
the backends also make the key and unpickle the value); server reads = requests the server read
per call, i.e. round trips (a large pipeline may take two reads)."""
ROUNDS = 21
CALLS = 200

Contenders = dict[str, Callable[[], object]]


def django_backends(url: str) -> dict[str, Any]:

    setup_django()
    from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
    from django_redis.cache import RedisCache as DjangoRedis

    from serverless_cache.django import RedisCache

    return {
        "serverless_cache.django.RedisCache": RedisCache(url, {"KEY_PREFIX": "ours"}),
        "Django RedisCache": DjangoRedisCache(url, {"KEY_PREFIX": "django"}),
        "django-redis": DjangoRedis(url, {"KEY_PREFIX": "djr"}),
    }


def flask_backends(url: str, port: int) -> dict[str, Any]:
    from cachelib import RedisCache as CachelibRedisCache
    from flask import Flask
    from flask_caching import Cache

    app = Flask("bench")
    ours = Cache(
        app,
        config={
            "CACHE_TYPE": "serverless_cache.flask.RedisCache",
            "CACHE_REDIS_URL": url,
            "CACHE_KEY_PREFIX": "fl:",
        },
    )
    app.app_context().push()
    return {
        "serverless_cache.flask.RedisCache": ours.cache,
        "cachelib RedisCache": CachelibRedisCache(port=port, key_prefix="cl:"),
    }


def reads(client: Any) -> int:
    return int(client.info("stats")["total_reads_processed"])


def measure(
    title: str, contenders: Contenders, observer: Any, calls: int = CALLS
) -> dict[str, tuple[float, float]]:
    """Median microseconds per call and round trips per call, contenders interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    trips: dict[str, float] = {}
    for fn in contenders.values():
        fn()  # warm: connections open, scripts cached
    first = reads(observer)
    baseline = reads(observer) - first  # what the observer's own INFO adds
    for name, fn in contenders.items():
        before = reads(observer)
        for _ in range(20):
            fn()
        trips[name] = (reads(observer) - before - baseline) / 20
    for _ in range(ROUNDS):
        for name, fn in contenders.items():
            start = time.perf_counter_ns()
            for _ in range(calls):
                fn()
            samples[name].append((time.perf_counter_ns() - start) / calls / 1000)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    bare = medians["bare redis-py"]
    print(f"\n{title}")
    print(f"  {'contender':<36} {'median':>10} {'vs bare':>9} {'server reads':>13}")
    for name, median in medians.items():
        print(f"  {name:<36} {median:>7.1f} us {median / bare:>8.2f}x {trips[name]:>13.2f}")
    return {name: (medians[name], trips[name]) for name in contenders}


def main() -> None:
    import redis

    print(LEGEND)
    with redis_server() as server:
        run(server.url, server.port, redis.Redis(port=server.port))


def run(url: str, port: int, bare: Any) -> None:
    backends = {**django_backends(url), **flask_backends(url, port)}
    import pickle

    record = {"id": 7, "name": "a user", "roles": ["reader", "writer"]}
    keys = [f"key-{i}" for i in range(50)]
    items = {key: {**record, "id": i} for i, key in enumerate(keys)}

    def each(call: Callable[[Any], object]) -> Contenders:
        """One contender per backend, each making ``call`` on it."""
        return {name: functools.partial(call, cache) for name, cache in backends.items()}

    payload = pickle.dumps(record)
    bare.set("bare:record", payload)
    bare.mset({f"bare:{key}": pickle.dumps(value) for key, value in items.items()})
    bare.set("bare:counter", 0)
    for cache in backends.values():
        cache.set("record", record)
        cache.set_many(items, timeout=300)
    bare_keys = [f"bare:{key}" for key in keys]

    def bare_set_many() -> None:
        pipe = bare.pipeline(transaction=False)
        for key, value in items.items():
            pipe.set(f"bare:{key}", pickle.dumps(value), ex=300)
        pipe.execute()

    results: dict[str, dict[str, tuple[float, float]]] = {}
    results["get"] = measure(
        "get (hit, small dict)",
        {
            "bare redis-py": lambda: bare.get("bare:record"),
            "bare redis-py + pickle.loads": lambda: pickle.loads(bare.get("bare:record")),
            **each(lambda c: c.get("record")),
        },
        bare,
    )
    results["get_many(50)"] = measure(
        "get_many, 50 hits",
        {
            "bare redis-py": lambda: bare.mget(bare_keys),
            "bare redis-py + pickle.loads": lambda: [pickle.loads(v) for v in bare.mget(bare_keys)],
            **each(lambda c: c.get_many(*keys) if _is_cachelib(c) else c.get_many(keys)),
        },
        bare,
    )
    many = [f"many-{i}" for i in range(1_000)]
    bare.mset({f"bare:{key}": payload for key in many})
    for cache in backends.values():
        cache.set_many(dict.fromkeys(many, record), timeout=300)
    bare_many = [f"bare:{key}" for key in many]
    results["get_many(1000)"] = measure(
        "get_many, 1,000 hits",
        {
            "bare redis-py": lambda: bare.mget(bare_many),
            "bare redis-py + pickle.loads": lambda: [pickle.loads(v) for v in bare.mget(bare_many)],
            **each(lambda c: c.get_many(*many) if _is_cachelib(c) else c.get_many(many)),
        },
        bare,
        calls=10,
    )
    results["set_many(50)"] = measure(
        "set_many, 50 items with a timeout",
        {
            "bare redis-py": bare_set_many,
            **each(lambda c: c.set_many(items, timeout=300)),
        },
        bare,
    )
    for cache in backends.values():
        cache.set("counter", 0, timeout=0 if _is_cachelib(cache) else None)
    results["incr"] = measure(
        "incr",
        {
            "bare redis-py": lambda: bare.incr("bare:counter"),
            **each(lambda c: c.inc("counter") if _is_cachelib(c) else c.incr("counter")),
        },
        bare,
    )
    print("\nOurs against bare redis-py, and against bare redis-py + pickle.loads (the least a")
    print("backend returning Python objects can do):")
    for operation, timings in results.items():
        bare_time = timings["bare redis-py"][0]
        floor = timings.get("bare redis-py + pickle.loads", (bare_time, 0.0))[0]
        for name in OURS:
            ours, trips = timings[name]
            print(
                f"  {operation:<14} {name:<36} {ours / bare_time:.2f}x bare, "
                f"{ours / floor:.2f}x bare + loads, {trips:.2f} round trips"
            )


def _is_cachelib(cache: Any) -> bool:
    return not hasattr(cache, "make_key")
