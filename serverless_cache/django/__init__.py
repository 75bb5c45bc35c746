"""Django integration: cache backends for ``CACHES`` (add to INSTALLED_APPS for commands)."""

from serverless_cache.django.backends import (
    DynamoDBCache,
    ExecutionContextCache,
    LayeredCache,
    MemcachedCache,
    RedisCache,
)
from serverless_cache.django.base import TierCache
from serverless_cache.django.edge import edge_cache, no_edge_cache
from serverless_cache.django.middleware import EdgeCacheMiddleware
from serverless_cache.django.tags import cache_page

__all__ = [
    "DynamoDBCache",
    "EdgeCacheMiddleware",
    "ExecutionContextCache",
    "LayeredCache",
    "MemcachedCache",
    "RedisCache",
    "TierCache",
    "cache_page",
    "edge_cache",
    "no_edge_cache",
]
