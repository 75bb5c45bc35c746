"""Django cache backends, one per tier: each only says how to build its tier."""

from __future__ import annotations

from typing import Any

from serverless_cache.django.base import TierCache
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.memory import MemoryTier


class ExecutionContextCache(TierCache):
    """In-process LRU + TTL cache that survives warm invocations; ``LOCATION`` names the store.

    OPTIONS: Django's ``MAX_ENTRIES`` and ``CULL_FREQUENCY``, plus ``MAX_BYTES`` and the codec
    options (``SERIALIZER``, ``COMPRESS_MIN_BYTES``, ``SIGNING_KEY``...).
    """

    def build_tier(self, location: str, options: dict[str, Any]) -> Tier:
        return MemoryTier.from_options(location or "default", options)
