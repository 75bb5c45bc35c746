"""What a layered read copies into the tiers above the one that had an entry, and for how long:
pure arithmetic on ``(value, expires_at)`` entries, grouped by ttl so that each upper tier
gets one ``set_many`` per lifetime."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from serverless_cache.stampede import STALE_SUFFIX

Entries = Mapping[str, tuple[Any, float | None]]
#: Taken off a promoted copy's lifetime: the upper tier starts counting a moment after we
#: computed it, and a network tier's expiry is known only to within a round trip.
PROMOTION_MARGIN = 0.01


def promotions(
    entries: Entries, now: float, started: float, cap: float | None
) -> dict[float | None, dict[str, Any]]:
    """Copies by ttl: no longer than the source entry has left, nor than ``cap`` counted
    from ``started`` (when the read began); entries with nothing left are not copied."""
    by_ttl: dict[float | None, dict[str, Any]] = {}
    for key, (value, expires_at) in entries.items():
        if cap is not None:
            expires_at = started + cap if expires_at is None else min(expires_at, started + cap)
        ttl = None if expires_at is None else expires_at - now - PROMOTION_MARGIN
        if ttl is None or ttl > 0:
            by_ttl.setdefault(ttl, {})[key] = value
    return by_ttl


def fallback_renewals(
    entries: Entries, now: float, life: float
) -> dict[float | None, dict[str, Any]]:
    """Fallback copies by ttl: until the source entry's expiry plus ``life``, uncapped."""
    by_ttl: dict[float | None, dict[str, Any]] = {}
    for key, (value, expires_at) in entries.items():
        ttl = None if expires_at is None else expires_at - now + life
        by_ttl.setdefault(ttl, {})[key + STALE_SUFFIX] = value
    return by_ttl
