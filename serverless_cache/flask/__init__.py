"""Flask-Caching integration: set ``CACHE_TYPE`` to one of these classes' import paths."""

from serverless_cache.flask.backends import (
    DynamoDBCache,
    ExecutionContextCache,
    LayeredCache,
    MemcachedCache,
    RedisCache,
)
from serverless_cache.flask.base import TierCache
from serverless_cache.flask.edge import EdgeCache, edge_cache, no_edge_cache

__all__ = [
    "DynamoDBCache",
    "EdgeCache",
    "ExecutionContextCache",
    "LayeredCache",
    "MemcachedCache",
    "RedisCache",
    "TierCache",
    "edge_cache",
    "no_edge_cache",
]
