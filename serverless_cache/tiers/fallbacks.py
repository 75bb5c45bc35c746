"""Writing and removing fallback copies (``key + STALE_SUFFIX``, kept ``fallback_life`` longer
than their entry): what ``get_or_set`` falls back on. The Tier base calls these when it stores,
removes or increments entries; a layered cache, for the copies in each of its tiers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from serverless_cache.stampede import BOOKKEEPING, STALE_SUFFIX

if TYPE_CHECKING:
    from serverless_cache.tiers.base import Tier


def copies_of(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The fallback copies of entries just stored, by fallback key; bookkeeping keys (leases,
    epochs) get none."""
    return {key + STALE_SUFFIX: raw for key, raw in stored.items() if BOOKKEEPING not in key}


def lifetime(tier: Tier, ttl: float | None) -> float | None:
    """How long the fallback copy of an entry stored for ``ttl`` is kept."""
    return None if ttl is None else ttl + tier.stampede.fallback_life


def write(tier: Tier, encoded: Mapping[str, Any], ttl: float | None) -> list[str]:
    """Store encoded copies (keyed by fallback key) for exactly ``ttl``; the keys not stored,
    which join the tier's recovery journal as any refused write does."""
    keys = list(encoded)
    failed = tier._run("set_many", lambda: tier._set_many(encoded, ttl), keys, writes=keys)
    if failed:
        tier._dropped(failed)
    return failed


def store(tier: Tier, values: Mapping[str, Any], ttl: float | None) -> list[str]:
    """As :func:`write`, for decoded values (encoded by ``tier``)."""
    return write(tier, {key: tier._encode(key, value) for key, value in values.items()}, ttl)


def remove(tier: Tier, keys: Sequence[str]) -> None:
    """Delete the fallback copies of ``keys`` (removed, or changed in place)."""
    copies = [key + STALE_SUFFIX for key in keys if BOOKKEEPING not in key]
    if copies:
        tier._run("delete", lambda: tier._delete_many(copies), -1, writes=copies)
