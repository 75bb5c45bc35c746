"""The layered tier against the bare tiers it is made of, on a private redis-server.

Comparisons, in one run: a layered ``get`` that hits L1 against the bare execution-context
tier, and one that misses L1 and hits Redis against the bare Redis tier; ``set`` of a small
and of a 1 MB mutable value against the bare Redis tier (the layered one writes both tiers);
``get_many`` of keys all in L1. For the miss, the L1 copy is dropped before each call (the
bare contender removes an unrelated key, at the same cost), so every call takes the whole miss
path: L1 lookup, GET + PTTL in one round trip, and the promotion into L1.
"""

from __future__ import annotations

from benchmarks.harness import compare
from example_project.servers import redis_server
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.kinds import build_tier
from serverless_cache.tiers.memory import MemoryTier

VALUE = {"id": 7, "name": "user", "roles": ["a", "b"]}


def main() -> None:
    with redis_server() as server:
        run(server.url)


def run(url: str) -> None:
    bare_memory = build_tier("memory", TierConfig("bench-bare-memory"))
    bare_redis = build_tier("redis", TierConfig("bench-bare-redis", url))
    tiers = [{"TIER": "memory", "CAP": 60}, {"TIER": "redis", "LOCATION": url}]
    layered = build_tier("layered", TierConfig("bench-layered", options={"TIERS": tiers}))
    assert isinstance(bare_memory, MemoryTier)
    l1 = getattr(layered, "first", None)
    assert isinstance(l1, MemoryTier)
    bare_memory.set("k", VALUE, None)
    layered.set("k", VALUE, None)
    assert layered.get("k") == VALUE and bare_memory.get("k") == VALUE

    hit = compare(
        "get hitting L1 vs the bare execution-context tier (dict value)",
        {
            "MemoryTier.get": lambda: bare_memory.get("k"),
            "LayeredTier.get (L1 hit)": lambda: layered.get("k"),
        },
        "MemoryTier.get",
    )

    def bare_redis_get() -> object:
        bare_memory.store.remove("absent")  # the same small cost as dropping the L1 copy
        return bare_redis.get("k")

    def layered_miss_get() -> object:
        l1.store.remove("k")
        return layered.get("k")

    assert layered_miss_get() == VALUE and bare_redis_get() == VALUE
    miss = compare(
        "get missing L1 and hitting Redis vs the bare Redis tier (dict value)",
        {"RedisTier.get": bare_redis_get, "LayeredTier.get (L1 miss, Redis hit)": layered_miss_get},
        "RedisTier.get",
        rounds=9,
        calls=500,
    )
    writes = compare(
        "set (dict value) vs the bare Redis tier",
        {
            "RedisTier.set": lambda: bare_redis.set("w", VALUE, 300),
            "LayeredTier.set": lambda: layered.set("w", VALUE, 300),
        },
        "RedisTier.set",
        rounds=9,
        calls=500,
    )
    big = {"rows": [[i, f"name-{i}", i * 0.5] for i in range(35_000)]}  # about 1 MB pickled
    big_writes = compare(
        "set of a 1 MB mutable value vs the bare Redis tier",
        {
            "RedisTier.set": lambda: bare_redis.set("big", big, 300),
            "LayeredTier.set": lambda: layered.set("big", big, 300),
        },
        "RedisTier.set",
        rounds=9,
        calls=10,
    )
    keys = [f"many-{i}" for i in range(1_000)]
    bare_memory.set_many(dict.fromkeys(keys, VALUE), None)
    layered.set_many(dict.fromkeys(keys, VALUE), None)
    assert len(layered.get_many(keys)) == len(keys)
    many = compare(
        "get_many of 1,000 keys all in L1 vs the bare execution-context tier",
        {
            "MemoryTier.get_many": lambda: bare_memory.get_many(keys),
            "LayeredTier.get_many (all in L1)": lambda: layered.get_many(keys),
        },
        "MemoryTier.get_many",
        rounds=9,
        calls=20,
    )
    print(
        "\nratios (layered / bare, lower is better): "
        f"L1 hit {hit['LayeredTier.get (L1 hit)'] / hit['MemoryTier.get']:.2f}, "
        f"L1 miss + Redis hit "
        f"{miss['LayeredTier.get (L1 miss, Redis hit)'] / miss['RedisTier.get']:.2f}, "
        f"set {writes['LayeredTier.set'] / writes['RedisTier.set']:.2f}, "
        f"set 1 MB {big_writes['LayeredTier.set'] / big_writes['RedisTier.set']:.2f}, "
        f"get_many(1000) from L1 "
        f"{many['LayeredTier.get_many (all in L1)'] / many['MemoryTier.get_many']:.2f}"
    )


if __name__ == "__main__":
    main()
