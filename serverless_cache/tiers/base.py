"""The Tier contract: what every storage tier offers to the Django and Flask adapters.

Keys are final strings: the adapter has already applied prefix and version. Values are Python
objects, encoded by the tier's :class:`~serverless_cache.codec.Codec`. ``ttl`` is seconds as a
float; ``None`` means no expiry and ``ttl <= 0`` means "do not keep" (a set with such a ttl
deletes the key). Adapters map Django's and cachelib's different timeout conventions onto this.

Single-key methods have defaults written in terms of the batch ones; a tier overrides whichever
its store does better.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

from serverless_cache.codec import Codec
from serverless_cache.errors import DecodeError
from serverless_cache.metrics import TierStats

logger = logging.getLogger("serverless_cache")


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

#: Every tier view alive in this process, so the Lambda runtime can warm them all.
_live_tiers: weakref.WeakSet[Tier] = weakref.WeakSet()
_live_lock = threading.Lock()


def live_tiers() -> list[Tier]:
    """The tier views alive in this process (every backend built so far and still referenced)."""
    with _live_lock:
        return list(_live_tiers)


class Tier(ABC):
    """One storage tier. Instances are cheap views; shared state lives in the registry."""

    #: Short name used in metrics and logs ("memory", "redis", "dynamodb", "layered").
    kind: ClassVar[str] = "tier"
    #: True when operations wait on the network, so async adapters run them in a thread.
    blocking: ClassVar[bool] = True

    def __init__(self, codec: Codec, stats: TierStats) -> None:
        self.codec = codec
        self.stats = stats
        with _live_lock:
            _live_tiers.add(self)

    # -- reads ---------------------------------------------------------------------------
    @abstractmethod
    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        """Values of the keys that are present (a stored ``None`` is present)."""

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when it is absent, expired or undecodable."""
        return self.get_many([key]).get(key, default)

    def get_entries(self, keys: Sequence[str]) -> dict[str, tuple[Any, float | None]]:
        """Present keys with ``(value, expires_at)``; ``expires_at`` is epoch seconds or None.

        Used by the layered tier so that a promoted copy never outlives its source. The default
        asks for each key's ttl separately; network tiers override it with one round trip.
        """
        found = self.get_many(keys)
        now = time.time()
        result: dict[str, tuple[Any, float | None]] = {}
        for key, value in found.items():
            remaining = self.ttl(key)
            if remaining is None:
                result[key] = (value, None)
            elif remaining > 0:
                result[key] = (value, now + remaining)
        return result

    def has(self, key: str) -> bool:
        """Whether ``key`` is present and unexpired."""
        return self.get(key, MISSING) is not MISSING

    @abstractmethod
    def ttl(self, key: str) -> float | None:
        """Seconds ``key`` has left; ``None`` if it never expires, ``0.0`` if it is absent."""

    # -- writes --------------------------------------------------------------------------
    @abstractmethod
    def set_many(self, items: Mapping[str, Any], ttl: float | None) -> list[str]:
        """Store every item; return the keys that could not be stored."""

    def set(self, key: str, value: Any, ttl: float | None) -> bool:
        """Store one item; False when it could not be stored."""
        return not self.set_many({key: value}, ttl)

    @abstractmethod
    def add(self, key: str, value: Any, ttl: float | None) -> bool:
        """Store only if ``key`` is absent (atomically on shared tiers); True if stored."""

    @abstractmethod
    def delete_many(self, keys: Sequence[str]) -> bool:
        """Remove the keys; False only when the store could not be asked."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove ``key``; True if it was present."""

    @abstractmethod
    def incr(self, key: str, delta: int = 1, *, create: bool = False) -> int:
        """Add ``delta`` atomically and return the new value; expiry is unchanged.

        A missing key raises KeyError, or with ``create`` starts from 0 with no expiry
        (cachelib's ``inc``). A non-integer value raises TypeError.
        """

    @abstractmethod
    def touch(self, key: str, ttl: float | None) -> bool:
        """Give ``key`` a new ttl; False if it is absent."""

    @abstractmethod
    def clear(self) -> bool:
        """Remove every entry of this cache, and only those; False if the store failed."""

    def close(self) -> None:
        """Per-request hook (Django calls it after every request): keep pooled resources."""

    def warm(self) -> None:
        """Open connections and resolve clients now, before a request needs them.

        Called by the Lambda runtime helpers on a warm-up event and on the first invocation of
        an execution environment. Network tiers override it (PING, endpoint resolution); it
        must not raise when the store is down, only count and log as any other call does.
        """

    # -- helpers for implementations ------------------------------------------------------
    def counted(self, value: Any, default: Any) -> Any:
        """Count one read: MISSING is a miss and gives ``default``, anything else a hit."""
        if value is MISSING:
            self.stats.misses += 1
            return default
        self.stats.hits += 1
        return value

    def decode(self, key: str, payload: bytes) -> Any:
        """Decode ``payload``; an undecodable one is logged and returned as MISSING."""
        try:
            return self.codec.loads(payload)
        except DecodeError as exc:
            self.stats.errors += 1
            logger.warning("serverless_cache: ignoring %r in the %s tier: %s", key, self.kind, exc)
            return MISSING
