"""What a Django backend costs before it serves anything: building one per invocation (Django
builds one per asyncio context, so under Mangum nearly every invocation does) and importing a
configured backend in a fresh interpreter, beside Django's own backends and django-redis.

Nothing connects: building a backend never opens a socket. Import times are the medians of
five fresh interpreters (``caches["default"]`` after ``django.setup()``), with the modules of
this package each one loaded.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from benchmarks.harness import compare
from benchmarks.memory_backends import django_caches

URL = "redis://127.0.0.1:6390/0"
TIERS = [{"TIER": "memory", "CAP": 10}, {"TIER": "redis", "LOCATION": URL}]
IMPORTS = {
    "Django LocMemCache": ("django.core.cache.backends.locmem.LocMemCache", ""),
    "Django RedisCache": ("django.core.cache.backends.redis.RedisCache", URL),
    "django-redis": ("django_redis.cache.RedisCache", URL),
    "ours ExecutionContextCache": ("serverless_cache.django.ExecutionContextCache", ""),
    "ours RedisCache": ("serverless_cache.django.RedisCache", URL),
    "ours LayeredCache": ("serverless_cache.django.LayeredCache", ""),
}
IMPORT_SCRIPT = """
import json, sys, time
import django
from django.conf import settings
backend, location = sys.argv[1], sys.argv[2]
entry = {"BACKEND": backend, "LOCATION": location}
if backend.endswith("LayeredCache"):
    entry["OPTIONS"] = {"TIERS": json.loads(sys.argv[3])}
settings.configure(CACHES={"default": entry})
django.setup()
started = time.perf_counter()
from django.core.cache import caches
caches["default"]
elapsed = time.perf_counter() - started
ours = [m for m in sys.modules if m.startswith("serverless_cache")]
print(json.dumps([elapsed * 1000, len(ours), "redis" in sys.modules]))
"""


def construction() -> None:
    django_caches()  # the settings the other benchmarks of this run expect
    from django.core.cache.backends.locmem import LocMemCache
    from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
    from django_redis.cache import RedisCache as DjangoRedis

    from serverless_cache.django import ExecutionContextCache, LayeredCache, RedisCache

    options = {"SOCKET_TIMEOUT": 0.5}
    layered = {"TIERS": TIERS}
    l1 = ExecutionContextCache("hit", {})
    l1.set("k", {"id": 7})
    compare(
        "building a backend per invocation (Django's CacheHandler passes a copy of params)",
        {
            "Django RedisCache": lambda: DjangoRedisCache(URL, {"OPTIONS": {}}),
            "Django LocMemCache": lambda: LocMemCache("x", {}),
            "django-redis": lambda: DjangoRedis(URL, {"OPTIONS": {}}),
            "ours RedisCache": lambda: RedisCache(URL, {"OPTIONS": options}),
            "ours ExecutionContextCache": lambda: ExecutionContextCache("x", {}),
            "ours LayeredCache": lambda: LayeredCache("l", {"OPTIONS": layered}),
            "(the L1 hit it then serves)": lambda: l1.get("k"),
        },
        "Django RedisCache",
        rounds=9,
        calls=2_000,
    )


def imports() -> None:
    print("\nimporting a configured backend (fresh interpreter, median of 5)")
    print(f"  {'backend':<30} {'ms':>8} {'vs django-redis':>16} {'our modules':>12} {'redis':>6}")
    samples: dict[str, list[float]] = {name: [] for name in IMPORTS}
    loaded: dict[str, tuple[int, bool]] = {}
    for _ in range(5):
        for name, (backend, location) in IMPORTS.items():
            done = subprocess.run(
                [sys.executable, "-c", IMPORT_SCRIPT, backend, location, json.dumps(TIERS)],
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
            elapsed, modules, redis = json.loads(done.stdout.strip().splitlines()[-1])
            samples[name].append(elapsed)
            loaded[name] = (modules, redis)
    reference = statistics.median(samples["django-redis"])
    for name, (modules, redis) in loaded.items():
        median = statistics.median(samples[name])
        print(
            f"  {name:<30} {median:>8.1f} {median / reference:>15.2f}x {modules:>12} "
            f"{'yes' if redis else 'no':>6}"
        )


def main() -> None:
    construction()
    imports()


if __name__ == "__main__":
    main()
