"""Layered tier: an in-process L1 in front of shared tiers (configuration and tier)."""

from serverless_cache.stampede import LEASE_SUFFIX, STALE_SUFFIX
from serverless_cache.tiers.layered.config import (
    DEFAULT_LOCAL_CAP,
    DEFAULT_SHARED_CAP,
    LayeredSettings,
    TierSpec,
    config_digest,
)
from serverless_cache.tiers.layered.epoch import EPOCH_SUFFIX
from serverless_cache.tiers.layered.state import LayeredState
from serverless_cache.tiers.layered.tier import LayeredTier

__all__ = [
    "DEFAULT_LOCAL_CAP",
    "DEFAULT_SHARED_CAP",
    "EPOCH_SUFFIX",
    "LEASE_SUFFIX",
    "STALE_SUFFIX",
    "LayeredSettings",
    "LayeredState",
    "LayeredTier",
    "TierSpec",
    "config_digest",
]
