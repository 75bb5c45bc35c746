"""Redis / Valkey / ElastiCache tier: URLs, topology, lock and the tier, one module each."""

from serverless_cache.tiers.redis.lock import RedisLock
from serverless_cache.tiers.redis.tier import RedisSettings, RedisTier, store_errors
from serverless_cache.tiers.redis.topology import ClusterClient, RedisClient, StandaloneClient
from serverless_cache.tiers.redis.urls import glob_escape, parse_locations, redact

__all__ = [
    "ClusterClient",
    "RedisClient",
    "RedisLock",
    "RedisSettings",
    "RedisTier",
    "StandaloneClient",
    "glob_escape",
    "parse_locations",
    "redact",
    "store_errors",
]
