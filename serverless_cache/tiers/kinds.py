"""The tier kinds a configuration may name, and the one way to build a tier from a config.

``"memory"``, ``"redis"``, ``"dynamodb"``, ``"memcached"`` and ``"layered"`` name this
package's tiers; any other name is the import path of a custom tier: a
:class:`~serverless_cache.tiers.base.Tier` subclass with ``from_config(cls, config:
TierConfig) -> Tier``. Modules are imported only when their kind is used, so redis, boto3,
botocore and pymemcache load only for the tiers configured.
"""

from __future__ import annotations

import importlib

from serverless_cache.errors import ConfigurationError
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.config import TierConfig

TIER_CLASSES = {
    "memory": "serverless_cache.tiers.memory.MemoryTier",
    "redis": "serverless_cache.tiers.redis.RedisTier",
    "dynamodb": "serverless_cache.tiers.dynamodb.DynamoDBTier",
    "memcached": "serverless_cache.tiers.memcached.MemcachedTier",
    "layered": "serverless_cache.tiers.layered.LayeredTier",
}


def tier_class(kind: str) -> type[Tier]:
    """The Tier class named by ``kind``, imported now."""
    path = TIER_CLASSES.get(kind.lower(), kind) if isinstance(kind, str) else ""
    module_name, _, class_name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name) if module_name else None
    except (ImportError, AttributeError):
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, Tier)):
        raise ConfigurationError(
            f"TIER {kind!r} is not one of {', '.join(TIER_CLASSES)} nor the import path of a "
            "Tier subclass with a from_config classmethod (is its extra installed?)"
        )
    return cls


def build_tier(kind: str, config: TierConfig) -> Tier:
    """Build the tier of ``kind`` from ``config``: the one construction path."""
    return tier_class(kind).from_config(config)
