"""Django cache backends, one per tier: each only says how to build its tier."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import default_key_func

from serverless_cache.django.base import DEFAULT_TIMEOUT, DJANGO_OPTIONS, TierCache
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.layered import LayeredTier
from serverless_cache.tiers.memory import MemoryTier

R = TypeVar("R")


class ExecutionContextCache(TierCache):
    """In-process LRU + TTL cache that survives warm invocations; ``LOCATION`` names the store.

    OPTIONS: Django's ``MAX_ENTRIES`` and ``CULL_FREQUENCY``, plus ``MAX_BYTES`` and the codec
    options (``SERIALIZER``, ``COMPRESS_MIN_BYTES``, ``SIGNING_KEY``...).
    """

    def build_tier(self, location: str, options: dict[str, Any]) -> Tier:
        return MemoryTier.from_options(location or "default", options)


class LayeredCache(TierCache):
    """An execution-context L1 in front of shared tiers (Redis, DynamoDB), fastest first.

    OPTIONS: ``TIERS``, a list of ``{"TIER": "memory" | "redis" | "dynamodb", "LOCATION": ...,
    "OPTIONS": {...}, "CAP": seconds}``, plus ``EPOCH_CHECK_INTERVAL``, ``LEASE``,
    ``LEASE_TTL``, ``LEASE_WAIT``, ``LEASE_POLL_INTERVAL`` and ``STALE_TTL`` (see
    :mod:`serverless_cache.tiers.layered`). ``LOCATION`` names the cache (its L1 store and its
    metrics). ``get_or_set`` computes a missing value once per process, or once across
    instances with ``LEASE``.
    """

    _tier: LayeredTier

    def build_tier(self, location: str, options: dict[str, Any]) -> Tier:
        return LayeredTier.from_options(
            location or "default", options, prefix=self._clear_prefix(), ignore=DJANGO_OPTIONS
        )

    def _clear_prefix(self) -> str:
        """The start of every key of this cache, which the shared tiers' clear() removes."""
        if not self.key_prefix:
            return ""
        if self.key_func is default_key_func:
            return f"{self.key_prefix}:"
        return str(self.key_prefix)

    def get_or_set(
        self,
        key: Any,
        default: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> Any:
        compute = default if callable(default) else lambda: default
        final = self.make_and_validate_key(key, version)
        return self._tier.get_or_set(final, compute, self._ttl(timeout))

    async def aget_or_set(
        self,
        key: Any,
        default: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> Any:
        return await self._call(self.get_or_set, key, default, timeout, version)

    def invalidate_all(self) -> bool:
        """Empty the in-process tier of every instance (within EPOCH_CHECK_INTERVAL)."""
        return self._tier.invalidate_all()

    def memoize(
        self, timeout: Any = DEFAULT_TIMEOUT
    ) -> Callable[[Callable[..., R]], Callable[..., R]]:
        """Decorator caching a plain function's results, computed once at a time."""
        return self._tier.memoize(self._ttl(timeout), make_key=self.make_and_validate_key)
