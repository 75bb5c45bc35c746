"""MAX_BYTES bounds what the process really holds: a store filled, then churned, in a fresh
interpreter grows the process's resident memory by MAX_BYTES, give or take 15 %."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from serverless_cache.tiers.sizing import entry_bytes, object_bytes, stored_bytes
from tests.tiers.build import memory

BUDGET = 32 * 1024 * 1024
FILL = """
import gc, json, sys
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.kinds import build_tier

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096

size, budget, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
options = {"MAX_BYTES": budget, "MAX_ENTRIES": 10**9}
tier = build_tier("memory", TierConfig("fill", options=options))
store = tier.store
gc.collect()
before = rss()
growth, written, first_eviction = [], 0, None
while first_eviction is None or written < 2 * first_eviction:
    blob = (b"%010d" % written) * max(1, size // 10)
    tier.set(f"key:{written}", blob if kind == "bytes" else {"id": written, "blob": blob}, 300.0)
    written += 1
    if first_eviction is None and len(store.data) < written:
        first_eviction = written
    if written % 1000 == 0 or size >= 10_000:
        growth.append(rss() - before)
gc.collect()
growth.append(rss() - before)
print(json.dumps({"max": max(growth), "last": growth[-1], "held": store.held_bytes,
                  "entries": len(store.data)}))
"""


def fill(size: int, kind: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", FILL, str(size), str(BUDGET), kind],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result: dict[str, int] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.parametrize(
    ("size", "kind"),
    [(size, "bytes") for size in (10, 100, 1_000, 10_000, 100_000, 1_000_000)]
    + [(10, "pickled"), (1_000, "pickled")],
)
def test_resident_memory_grows_by_max_bytes_within_15_percent(size: int, kind: str) -> None:
    result = fill(size, kind)
    assert result["held"] <= BUDGET
    assert result["max"] <= 1.15 * BUDGET, result
    assert result["last"] >= 0.85 * BUDGET, result


def test_an_entry_counts_its_key_value_and_expiry() -> None:
    t = memory("sizes")
    t.set("k", b"v", None)
    t.set("a-much-longer-key-" * 4, b"v", None)
    short, long = (entry.size for entry in t.store.data.values())
    assert long - short >= len("a-much-longer-key-" * 4) - len("k") - 15  # 16-byte steps
    t.set("k", b"v", 100)
    assert t.store.data["k"].size > short
    assert t.touch("k", None) and t.store.data["k"].size == short
    assert t.store.total_bytes == sum(entry.size for entry in t.store.data.values())
    assert t.store.held_bytes > t.store.total_bytes  # the index is counted on top


class MarkedKey(str):
    """A str subclass, as Django's SafeString: larger than a str of the same length."""


class Blob(bytes):
    """A bytes subclass."""


KEYS = ["k", "a-much-longer-key", "clé", "キー", "emoji-\U0001f600", MarkedKey("k")]
VALUES = [b"", b"v" * 600, Blob(b"v" * 600), "text", MarkedKey("text"), "tëxt", 7, 1.5, None]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("value", VALUES)
def test_an_entry_costs_what_getsizeof_says_of_its_key_and_value(key: str, value: Any) -> None:
    """The hot path sizes ASCII keys and bytes values from their length: as getsizeof would,
    and subclasses (which carry more) by getsizeof itself."""
    expected = entry_bytes(key, object_bytes(value), expires=True)
    assert stored_bytes(key, value, expires=True) == expected
