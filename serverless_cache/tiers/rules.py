"""The contract's small rules, shared by every tier and adapter: the missing-value sentinel,
how a ttl is checked and clamped, a valid ``delta``, and the registry of live tier views."""

from __future__ import annotations

import math
import threading
import weakref
from typing import TYPE_CHECKING, Any, Final

from serverless_cache import registry

if TYPE_CHECKING:
    from serverless_cache.tiers.base import Tier

#: A ttl this long or longer means "never expires": no store has to hold a 10**20 s deadline.
FOREVER: Final = 10.0**9


class _Missing:
    """Sentinel type for "no such key", distinct from a stored ``None``."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


class LiveTiers:
    """Every tier view alive in this process, so the Lambda runtime can warm them all (a
    registry entry: it survives a SnapStart restore, the views do too)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.views: weakref.WeakSet[Tier] = weakref.WeakSet()

    def add(self, tier: Tier) -> None:
        with self.lock:
            self.views.add(tier)

    def restore(self) -> None:
        """The views outlive a restore; nothing to forget."""


def live_tiers() -> list[Tier]:
    """The tier views alive in this process (every backend built so far and still referenced)."""
    live = registry.get_or_create("live", None, LiveTiers)
    with live.lock:
        return list(live.views)


def expiry(ttl: Any) -> float | None:
    """``ttl`` checked and clamped: None (or ``FOREVER`` and more) means never expire."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float):
        raise TypeError(f"a timeout must be a number of seconds or None, got {ttl!r}")
    if math.isnan(ttl):
        raise ValueError("a timeout cannot be NaN")
    return None if ttl >= FOREVER else float(ttl)


def check_delta(delta: Any) -> int:
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise TypeError(f"incr/decr delta must be an integer, got {delta!r}")
    return delta
