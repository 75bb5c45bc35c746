"""Django cache backends, one per tier: each only says how to build its tier."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT

from serverless_cache.django.base import TierCache

if TYPE_CHECKING:
    from serverless_cache.tiers.layered import LayeredTier
    from serverless_cache.tiers.redis import RedisLock, RedisTier


class ExecutionContextCache(TierCache):
    """In-process LRU + TTL cache that survives warm invocations; ``LOCATION`` names the store.

    OPTIONS: Django's ``MAX_ENTRIES`` and ``CULL_FREQUENCY``, plus ``MAX_BYTES`` and the codec
    options (``SERIALIZER``, ``COMPRESS_MIN_BYTES``, ``SIGNING_KEY``...).
    """

    tier_kind = "memory"


class RedisCache(TierCache):
    """Redis / Valkey / ElastiCache; one connection pool per process, whatever Django does.

    ``LOCATION``: a ``redis://``, ``rediss://`` or ``unix://`` URL (user, password and db in
    the URL), or several: the first is the primary, the others replicas that serve reads.
    OPTIONS: ``CONNECT_TIMEOUT``/``SOCKET_TIMEOUT`` (default 1 s), ``CLUSTER``, ``USERNAME``,
    ``PASSWORD``, ``SSL_CA_CERTS``, ``FAIL_OPEN`` and the breaker options, the codec options.

    ``clear()`` removes only the keys under ``KEY_PREFIX`` when one is set (a custom
    ``KEY_FUNCTION`` must start keys with it); without a prefix it flushes the database.
    """

    tier_kind = "redis"
    _tier: RedisTier

    # -- beyond Django's API ---------------------------------------------------------------
    def ttl(self, key: Any, version: int | None = None) -> float | None:
        """Seconds ``key`` has left: None if it never expires, 0.0 if it is absent."""
        return self._tier.ttl(self.make_and_validate_key(key, version))

    def expire(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        """Give ``key`` a new timeout; False if it is absent."""
        return self._tier.expire(self.make_and_validate_key(key, version), self._ttl(timeout))

    def persist(self, key: Any, version: int | None = None) -> bool:
        """Keep ``key`` forever; False if it is absent."""
        return self._tier.persist(self.make_and_validate_key(key, version))

    def lock(
        self,
        key: Any,
        timeout: float | None = None,
        blocking_timeout: float | None = None,
        version: int | None = None,
    ) -> RedisLock:
        """A lock shared by every process using this cache: ``with cache.lock("k", 10): ...``."""
        final = self.make_and_validate_key(key, version)
        return self._tier.lock(final, timeout, blocking_timeout=blocking_timeout)

    def iter_keys(self, pattern: str, version: int | None = None) -> Iterator[str]:
        """Keys of this cache matching the glob ``pattern`` (SCAN, never KEYS)."""
        head, glob = self._glob(pattern, version)
        for key in self._tier.iter_keys(glob):
            yield key[len(head) :] if head and key.startswith(head) else key

    def delete_pattern(self, pattern: str, version: int | None = None) -> int:
        """Delete the keys of this cache matching the glob ``pattern``; how many there were."""
        return self._tier.delete_pattern(self._glob(pattern, version)[1])

    def _glob(self, pattern: str, version: int | None) -> tuple[str, str]:
        """The key head Django adds and the SCAN pattern for ``pattern`` under it."""
        from serverless_cache.tiers.redis.urls import glob_escape

        head = self.make_key("", version)
        if self.make_key(pattern, version) == head + pattern:
            return head, glob_escape(head) + pattern
        return "", self.make_key(pattern, version)


class LayeredCache(TierCache):
    """An execution-context L1 in front of shared tiers (Redis, DynamoDB), fastest first.

    OPTIONS: ``TIERS``, a list of ``{"TIER": "memory" | "redis" | "dynamodb", "LOCATION": ...,
    "OPTIONS": {...}, "CAP": seconds}``, plus ``EPOCH_CHECK_INTERVAL``, ``LEASE``,
    ``LEASE_TTL``, ``LEASE_WAIT``, ``LEASE_POLL_INTERVAL`` and ``STALE_TTL`` (see
    :mod:`serverless_cache.tiers.layered`). ``LOCATION`` names the cache's metrics; its L1 store
    and process-wide state are kept per LOCATION, KEY_PREFIX and TIERS. ``get_or_set`` computes
    a missing value once per process, or once across instances with ``LEASE``.
    """

    tier_kind = "layered"
    _tier: LayeredTier

    def invalidate_all(self) -> bool:
        """Empty the in-process tier of every instance (within EPOCH_CHECK_INTERVAL)."""
        return self._tier.invalidate_all()


class MemcachedCache(TierCache):
    """ElastiCache for Memcached (or any memcached) over pymemcache; one pool per node per process.

    ``LOCATION``: ``memcached://host:port`` URLs or Django's ``host:port``, a list or separated
    by commas (keys are spread by consistent hashing); with ``AUTO_DISCOVERY`` the cluster's
    configuration endpoint. OPTIONS: ``CONNECT_TIMEOUT``/``SOCKET_TIMEOUT`` (default 1 s),
    ``AUTO_DISCOVERY``, ``DISCOVERY_INTERVAL``, ``MAX_VALUE_BYTES``,
    ``GENERATION_CHECK_INTERVAL``, ``FAIL_OPEN`` and the breaker options, the codec options.

    ``clear()`` never flushes the server: it starts a new namespace for this cache's keys (see
    :mod:`serverless_cache.tiers.memcached.tier`).
    """

    tier_kind = "memcached"

    def ttl(self, key: Any, version: int | None = None) -> float | None:
        """Seconds ``key`` has left: None if it never expires, 0.0 if it is absent."""
        return self._tier.ttl(self.make_and_validate_key(key, version))


class DynamoDBCache(TierCache):
    """DynamoDB cache; ``LOCATION`` is the table name (create it with
    ``manage.py create_dynamodb_cache_table``).

    OPTIONS: ``REGION_NAME``, ``ENDPOINT_URL``, ``CONNECT_TIMEOUT``, ``READ_TIMEOUT``,
    ``CONSISTENT_READ``, ``MAX_VALUE_BYTES``, ``CLEAR_SEGMENTS``,
    ``SCAN_PAGE_SIZE``, ``FAIL_OPEN`` and the breaker options, and the codec options.
    ``clear()`` removes the keys of this cache's KEY_PREFIX only; without a prefix the cache
    owns the table and clears all of it, as the Redis backend flushes its database.
    """

    tier_kind = "dynamodb"
