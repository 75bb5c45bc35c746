"""Django integration: cache backends for ``CACHES`` (add to INSTALLED_APPS for commands)."""

from serverless_cache.django.backends import ExecutionContextCache, LayeredCache
from serverless_cache.django.base import TierCache

__all__ = ["ExecutionContextCache", "LayeredCache", "TierCache"]
