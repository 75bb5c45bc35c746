"""A lock held in Redis, so it excludes every process using the same key."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any

from serverless_cache.errors import CacheUnavailableError

if TYPE_CHECKING:
    from serverless_cache.tiers.redis.tier import RedisTier

logger = logging.getLogger("serverless_cache")


class RedisLock:
    """A context manager around redis-py's Lock; store failures raise CacheUnavailableError.

    A lock cannot fail open: granting it without the store would break mutual exclusion.
    """

    def __init__(
        self, tier: RedisTier, key: str, timeout: float | None, blocking_timeout: float | None
    ) -> None:
        self.tier = tier
        self.key = key
        self.timeout = timeout
        self.blocking_timeout = blocking_timeout
        self._lock: Any = None

    def acquire(self) -> bool:
        """Take the lock, waiting up to ``blocking_timeout``; False if it stayed taken."""
        from serverless_cache.tiers.redis.tier import store_errors

        try:
            self._lock = self.tier.client.primary().lock(
                self.key,
                timeout=self.timeout,
                blocking_timeout=self.blocking_timeout,
                thread_local=False,
            )
            return bool(self._lock.acquire())
        except store_errors() as exc:
            raise CacheUnavailableError(
                f"redis cache {self.tier.name!r}: lock {self.key!r} could not be taken "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    def release(self) -> None:
        """Free the lock; a lock that expired meanwhile is logged, since others may hold it."""
        from redis.exceptions import LockNotOwnedError

        from serverless_cache.tiers.redis.tier import store_errors

        lock, self._lock = self._lock, None
        if lock is None:
            return
        try:
            lock.release()
        except LockNotOwnedError:
            logger.warning(
                "serverless_cache: lock %r expired before it was released; raise its timeout",
                self.key,
            )
        except store_errors() as exc:
            raise CacheUnavailableError(
                f"redis cache {self.tier.name!r}: lock {self.key!r} could not be released "
                f"({type(exc).__name__}: {exc}); it frees itself after its timeout"
            ) from exc

    def __enter__(self) -> RedisLock:
        if not self.acquire():
            raise TimeoutError(
                f"lock {self.key!r} is held elsewhere; not acquired within {self.blocking_timeout}s"
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
