"""A layered read below L1: each lower tier is asked for the keys still missing, and what it
has is copied into the tiers above it, for no longer than the source entry has left nor than
each upper tier's CAP (grouped by ttl, so that each upper tier gets one ``set_many`` per
lifetime)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from serverless_cache import clock
from serverless_cache.stampede import STALE_SUFFIX
from serverless_cache.tags import Tagged
from serverless_cache.tiers import fallbacks
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.layered.held_tags import untagged

if TYPE_CHECKING:
    from serverless_cache.tiers.layered.tier import LayeredTier

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


def read_below(
    layered: LayeredTier, found: dict[str, tuple[Any, float | None]], missing: list[str]
) -> dict[str, tuple[Any, float | None]]:
    """``found`` with what the tiers below L1 have of ``missing``, promoting it."""
    started = clock.time()
    state = layered.state
    writes = state.writes
    for index in range(1, len(layered.tiers)):
        tier = layered.tiers[index]
        entries = tier.get_entries(missing, keep_tags=True)
        if entries and tier.tag_source is None:
            entries = state.tags.keep_current(entries)
        if entries:
            tagged = [v.versions for v, _ in entries.values() if type(v) is Tagged]
            if tagged and state.writes == writes:  # just checked against the last
                for versions in tagged:
                    state.tags.remember(versions)
            promote(layered, index, entries, started, writes)
            found.update(untagged(entries) if tagged else entries)
            missing = [key for key in missing if key not in entries]
        if not missing:
            break
    return found


def promote(
    layered: LayeredTier, source: int, entries: Entries, started: float, writes: int
) -> None:
    """Copy entries found in tier ``source`` into every tier above it, capped.

    Nothing is copied when this process wrote since ``writes`` was read: the entries may
    be older than that write's copies above. A write that slips in while copying makes
    us drop what we copied (a later miss, never an older value served).
    """
    if layered.state.writes != writes:
        return
    now = clock.time()
    life = layered.stampede.fallback_life
    for index in range(source):
        tier = layered.tiers[index]
        for ttl, items in promotions(entries, now, started, layered.caps[index]).items():
            failed = store(tier, items, ttl)
            tier.stats.promotions += len(items) - len(failed)
        if tier.in_process and life > 0:  # never older than what this instance has read
            for ttl, copies in fallback_renewals(entries, now, life).items():
                fallbacks.store(tier, copies, ttl)
    if layered.state.writes != writes:
        layered.drop_above(source, list(entries))


def store(tier: Tier, items: Mapping[str, Any], ttl: float | None) -> list[str]:
    """``tier.set_many``; for a single item the tier's own ``set``, which tiers make fast."""
    if len(items) == 1:
        ((key, value),) = items.items()
        return [] if tier.set(key, value, ttl) else [key]
    return tier.set_many(items, ttl)
