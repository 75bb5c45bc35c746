"""Flask-Caching backends, one per tier: each only says which tier and how config maps to it.

Use the import path as ``CACHE_TYPE``, e.g.
``CACHE_TYPE = "serverless_cache.flask.ExecutionContextCache"``. ``CACHE_OPTIONS`` keys are
case-insensitive; ``name`` and ``location`` become the tier's name and LOCATION.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from serverless_cache.flask.base import WHERE, TierCache
from serverless_cache.options import pop_option
from serverless_cache.tiers.config import TierConfig

if TYPE_CHECKING:
    from serverless_cache.tiers.layered import LayeredTier


class ExecutionContextCache(TierCache):
    """In-process LRU + TTL cache that survives warm invocations.

    ``CACHE_OPTIONS``: ``name`` (the process-wide store; default ``"flask"``, use the same name
    as a Django ``LOCATION`` to share one), ``max_entries`` (default ``CACHE_THRESHOLD``),
    ``max_bytes`` and the codec options.
    """

    tier_kind = "memory"

    @classmethod
    def tier_config(cls, config: dict[str, Any], options: dict[str, Any]) -> TierConfig:
        name, location = pop_option(options, "name"), pop_option(options, "location")
        name = name or location or "flask"
        if config.get("CACHE_THRESHOLD") and not any(k.lower() == "max_entries" for k in options):
            options["max_entries"] = config["CACHE_THRESHOLD"]
        return TierConfig(name, name, options, config.get("CACHE_KEY_PREFIX") or "", WHERE)


class RedisCache(TierCache):
    """Redis / Valkey / ElastiCache, one connection pool per process.

    The location is ``CACHE_OPTIONS["location"]``, else ``CACHE_REDIS_URL``, else a URL made
    from ``CACHE_REDIS_HOST``/``PORT``/``PASSWORD``/``DB``. Other ``CACHE_OPTIONS`` are the
    tier's (timeouts, ``cluster``, ``fail_open``, codec options). ``clear()`` removes only
    the keys under ``CACHE_KEY_PREFIX`` when one is set, else it flushes the database.
    """

    tier_kind = "redis"

    @classmethod
    def tier_config(cls, config: dict[str, Any], options: dict[str, Any]) -> TierConfig:
        location = pop_option(options, "location") or config.get("CACHE_REDIS_URL")
        if not location:
            host = config.get("CACHE_REDIS_HOST") or "localhost"
            port = config.get("CACHE_REDIS_PORT") or 6379
            location = f"redis://{host}:{port}/{config.get('CACHE_REDIS_DB') or 0}"
            password = config.get("CACHE_REDIS_PASSWORD")
            if password and not any(str(k).lower() == "password" for k in options):
                options["password"] = password
        name = pop_option(options, "name") or ""
        return TierConfig(name, location, options, config.get("CACHE_KEY_PREFIX") or "", WHERE)


class LayeredCache(TierCache):
    """An execution-context L1 in front of shared tiers (Redis, DynamoDB), fastest first.

    ``CACHE_OPTIONS``: ``name`` (names the cache's metrics, default ``"flask-layered"``; its L1
    store is kept per name, key prefix and TIERS), ``TIERS`` and the layered settings, as for
    Django's ``LayeredCache``. ``get_or_set`` computes a missing value once per process, or
    once across instances with ``LEASE``.
    """

    tier_kind = "layered"
    _tier: LayeredTier

    @classmethod
    def tier_config(cls, config: dict[str, Any], options: dict[str, Any]) -> TierConfig:
        name = pop_option(options, "name") or "flask-layered"
        return TierConfig(name, "", options, config.get("CACHE_KEY_PREFIX") or "", WHERE)

    def invalidate_all(self) -> bool:
        """Empty the in-process tier of every instance (within EPOCH_CHECK_INTERVAL)."""
        return self._tier.invalidate_all()


class MemcachedCache(TierCache):
    """ElastiCache for Memcached (or any memcached), one pool per node per process.

    The location is ``CACHE_OPTIONS["location"]``, else ``CACHE_MEMCACHED_SERVERS`` (a list of
    ``memcached://host:port`` or ``host:port``). Other ``CACHE_OPTIONS`` are the tier's
    (timeouts, ``auto_discovery``, ``fail_open``, codec options). ``clear()`` starts a new
    namespace for ``CACHE_KEY_PREFIX`` instead of flushing the server.
    """

    tier_kind = "memcached"

    @classmethod
    def tier_config(cls, config: dict[str, Any], options: dict[str, Any]) -> TierConfig:
        location = pop_option(options, "location") or config.get("CACHE_MEMCACHED_SERVERS") or ""
        name = pop_option(options, "name") or ""
        return TierConfig(name, location, options, config.get("CACHE_KEY_PREFIX") or "", WHERE)


class DynamoDBCache(TierCache):
    """DynamoDB cache. ``CACHE_OPTIONS``: ``table_name`` (or ``location``; default
    ``"serverless-cache"``), ``region_name``, ``endpoint_url``, timeouts, ``fail_open``... and
    the codec options.

    ``clear()`` removes the keys starting with ``CACHE_KEY_PREFIX`` only (the whole table when
    the prefix is empty).
    """

    tier_kind = "dynamodb"
