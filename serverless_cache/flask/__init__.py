"""Flask-Caching integration: set ``CACHE_TYPE`` to one of these classes' import paths."""

from serverless_cache.flask.backends import ExecutionContextCache, LayeredCache
from serverless_cache.flask.base import TierCache

__all__ = ["ExecutionContextCache", "LayeredCache", "TierCache"]
