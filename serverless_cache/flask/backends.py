"""Flask-Caching backends, one per tier: each only says how to build its tier.

Use the import path as ``CACHE_TYPE``, e.g.
``CACHE_TYPE = "serverless_cache.flask.ExecutionContextCache"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from serverless_cache.flask.base import TierCache, Timeout
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.dynamodb import DynamoDBTier
from serverless_cache.tiers.layered import LayeredTier
from serverless_cache.tiers.memory import MemoryTier
from serverless_cache.tiers.redis import RedisTier


class ExecutionContextCache(TierCache):
    """In-process LRU + TTL cache that survives warm invocations.

    ``CACHE_OPTIONS``: ``name`` (the process-wide store; default ``"flask"``, use the same name
    as a Django ``LOCATION`` to share one), ``max_entries`` (default ``CACHE_THRESHOLD``),
    ``max_bytes`` and the codec options.
    """

    @classmethod
    def build_tier(cls, config: dict[str, Any], options: dict[str, Any]) -> Tier:
        name = options.pop("name", "flask")
        if config.get("CACHE_THRESHOLD") and not any(k.lower() == "max_entries" for k in options):
            options["max_entries"] = config["CACHE_THRESHOLD"]
        return MemoryTier.from_options(name, options, where="CACHE_OPTIONS")


class RedisCache(TierCache):
    """Redis / Valkey / ElastiCache, one connection pool per process.

    The location is ``CACHE_OPTIONS["location"]``, else ``CACHE_REDIS_URL``, else a URL made
    from ``CACHE_REDIS_HOST``/``PORT``/``PASSWORD``/``DB``. Other ``CACHE_OPTIONS`` are the
    tier's (timeouts, ``cluster``, ``fail_open``, codec options). ``clear()`` removes only
    the keys under ``CACHE_KEY_PREFIX`` when one is set, else it flushes the database.
    """

    @classmethod
    def build_tier(cls, config: dict[str, Any], options: dict[str, Any]) -> Tier:
        location = options.pop("location", None) or config.get("CACHE_REDIS_URL")
        if not location:
            host = config.get("CACHE_REDIS_HOST") or "localhost"
            port = config.get("CACHE_REDIS_PORT") or 6379
            location = f"redis://{host}:{port}/{config.get('CACHE_REDIS_DB') or 0}"
            if config.get("CACHE_REDIS_PASSWORD") and not any(
                k.lower() == "password" for k in options
            ):
                options["password"] = config["CACHE_REDIS_PASSWORD"]
        prefix = config.get("CACHE_KEY_PREFIX") or ""
        return RedisTier.from_options(location, options, prefix=prefix, where="CACHE_OPTIONS")


class LayeredCache(TierCache):
    """An execution-context L1 in front of shared tiers (Redis, DynamoDB), fastest first.

    ``CACHE_OPTIONS``: ``name`` (names the cache's metrics, default ``"flask-layered"``; its L1
    store is kept per name, key prefix and TIERS), ``TIERS`` and the layered settings, as for
    Django's ``LayeredCache``.
    ``get_or_set`` computes a missing value once per process, or once across instances with
    ``LEASE``.
    """

    _tier: LayeredTier

    @classmethod
    def build_tier(cls, config: dict[str, Any], options: dict[str, Any]) -> Tier:
        name = options.pop("name", "flask-layered")
        prefix = config.get("CACHE_KEY_PREFIX") or ""
        return LayeredTier.from_options(name, options, prefix=prefix, where="CACHE_OPTIONS")

    def get_or_set(self, key: str, compute: Callable[[], Any], timeout: Timeout = None) -> Any:
        """The cached value of ``key``, or ``compute()`` stored, computed once at a time."""
        return self._tier.get_or_set(self.key_prefix + key, compute, self._ttl(timeout))

    def invalidate_all(self) -> bool:
        """Empty the in-process tier of every instance (within EPOCH_CHECK_INTERVAL)."""
        return self._tier.invalidate_all()


class DynamoDBCache(TierCache):
    """DynamoDB cache. ``CACHE_OPTIONS``: ``table_name`` (default ``"serverless-cache"``),
    ``region_name``, ``endpoint_url``, timeouts, ``fail_open``... and the codec options.

    ``clear()`` removes the keys starting with ``CACHE_KEY_PREFIX`` only (the whole table when
    the prefix is empty).
    """

    @classmethod
    def build_tier(cls, config: dict[str, Any], options: dict[str, Any]) -> Tier:
        prefix = config.get("CACHE_KEY_PREFIX") or ""
        return DynamoDBTier.from_options(options, key_prefix=prefix, where="CACHE_OPTIONS")
