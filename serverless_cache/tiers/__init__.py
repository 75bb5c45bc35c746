"""Framework-neutral storage tiers, all implementing :class:`~serverless_cache.tiers.base.Tier`."""

from serverless_cache.tiers.base import MISSING, Tier
from serverless_cache.tiers.memory import MemoryTier

__all__ = ["MISSING", "MemoryTier", "Tier"]
