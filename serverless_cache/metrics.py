"""Per-tier cache counters, process-wide, readable as a plain dict.

Counters are plain integer attributes bumped without a lock: under concurrent threads a few
increments can be lost, which is the usual trade for metrics on a hot path.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass


@dataclass
class TierStats:
    """Counters of one tier of one cache."""

    hits: int = 0
    misses: int = 0
    sets: int = 0
    deletes: int = 0
    errors: int = 0
    promotions: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


_lock = threading.Lock()
_stats: dict[tuple[str, str], TierStats] = {}


def stats_for(cache: str, tier: str) -> TierStats:
    """The shared counters for ``tier`` of the cache named ``cache``."""
    found = _stats.get((cache, tier))
    if found is None:
        with _lock:
            found = _stats.setdefault((cache, tier), TierStats())
    return found


def snapshot() -> dict[str, dict[str, dict[str, int]]]:
    """All counters as ``{cache: {tier: {counter: value}}}``."""
    with _lock:
        items = list(_stats.items())
    result: dict[str, dict[str, dict[str, int]]] = {}
    for (cache, tier), stats in items:
        result.setdefault(cache, {})[tier] = stats.as_dict()
    return result


def reset() -> None:
    """Zero every counter (tests, or the start of a measured run)."""
    with _lock:
        for stats in _stats.values():
            for name in asdict(stats):
                setattr(stats, name, 0)
