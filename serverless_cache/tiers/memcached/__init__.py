"""ElastiCache for Memcached tier: URLs, auto-discovery, keys, topology and the tier, one module
each."""

from serverless_cache.tiers.memcached.tier import MemcachedSettings, MemcachedTier
from serverless_cache.tiers.memcached.topology import MemcachedClient, NodePool
from serverless_cache.tiers.memcached.urls import parse_locations

__all__ = ["MemcachedClient", "MemcachedSettings", "MemcachedTier", "NodePool", "parse_locations"]
