"""Django integration: cache backends for ``CACHES`` (add to INSTALLED_APPS for commands)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from serverless_cache.django.backends import (
    DynamoDBCache,
    ExecutionContextCache,
    LayeredCache,
    MemcachedCache,
    RedisCache,
)
from serverless_cache.django.base import TierCache

if TYPE_CHECKING:
    from serverless_cache.django.edge import edge_cache, no_edge_cache
    from serverless_cache.django.middleware import EdgeCacheMiddleware
    from serverless_cache.django.tags import cache_page

#: Loaded on first use: an app configuring only a cache backend never imports the edge code.
_LAZY = {
    "edge_cache": "serverless_cache.django.edge",
    "no_edge_cache": "serverless_cache.django.edge",
    "EdgeCacheMiddleware": "serverless_cache.django.middleware",
    "cache_page": "serverless_cache.django.tags",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


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
