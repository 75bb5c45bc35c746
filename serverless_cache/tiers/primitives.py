"""What a storage tier implements: its store's primitives, and how a call to them runs.

The :class:`~serverless_cache.tiers.base.Tier` base writes the contract's rules once over
these; a tier implements them, raising its store's errors (see the base's docstring).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from serverless_cache import clock
from serverless_cache.errors import CacheUnavailableError
from serverless_cache.recovery import Writes
from serverless_cache.resilience import SAME

if TYPE_CHECKING:
    from serverless_cache.tiers.asynchronous import AsyncStore

T = TypeVar("T")


class Primitives(ABC):
    """The primitives of one storage tier (the public methods are :class:`Tier`'s)."""

    #: Short name used in metrics and logs ("memory", "redis", "dynamodb", "layered").
    kind: ClassVar[str] = "tier"
    #: True when the data lives in this process: calls never wait on the network, so async
    #: adapters call them directly, and a layered cache empties such tiers on an epoch change.
    in_process: ClassVar[bool] = False
    #: The store's primitives as coroutines (see :mod:`serverless_cache.tiers.asynchronous`),
    #: for a tier that talks to its store in asyncio; None: async calls use a worker thread.
    aio: AsyncStore | None = None

    # -- how a store call runs: network tiers run it under their guard -------------------
    def _run(
        self,
        operation: str,
        fn: Callable[[], T],
        fallback: T,
        *,
        retry: Any = SAME,
        writes: Writes = None,
        reads: Sequence[str] | None = None,
    ) -> T:
        """``fn()``; network tiers add fail-open, the breaker and retries, remember the keys
        ``writes`` names (or ``ALL_KEYS``) when the call may not have taken effect, and answer
        ``fallback`` for ``reads`` of such keys until that is undone."""
        return fn()

    async def _arun(
        self,
        operation: str,
        fn: Callable[[], Awaitable[T]],
        fallback: T,
        *,
        retry: Any = SAME,
        writes: Writes = None,
    ) -> T:
        """:meth:`_run` for a coroutine of :attr:`aio`."""
        return await fn()

    def _awaitable(self) -> bool:
        """Whether async calls may await :attr:`aio` now, rather than run the sync path (which
        alone writes fallback copies and undoes dropped writes)."""
        return False

    def _dropped(self, keys: Sequence[str]) -> None:
        """The store refused to store ``keys``; network tiers remember them (recovery)."""

    # -- primitives ------------------------------------------------------------------------
    @abstractmethod
    def _get_many(self, keys: Sequence[str]) -> Mapping[str, Any]:
        """Raw stored forms of the present keys (unique keys, at least one)."""

    def _get_entries(self, keys: Sequence[str]) -> Mapping[str, tuple[Any, float | None]]:
        """Raw forms with epoch expiry (None: never); network tiers do it in one round trip."""
        found = self._get_many(keys)
        now = clock.time()
        result: dict[str, tuple[Any, float | None]] = {}
        for key, raw in found.items():
            remaining = self._ttl(key)
            if remaining is None:
                result[key] = (raw, None)
            elif remaining > 0:
                result[key] = (raw, now + remaining)
        return result

    @abstractmethod
    def _set_many(self, encoded: Mapping[str, Any], ttl: float | None) -> list[str]:
        """Store encoded items (``ttl`` > 0 or None); the keys not stored."""

    @abstractmethod
    def _add(self, key: str, encoded: Any, ttl: float | None, token: bytes) -> bool:
        """Store only if absent, atomically; True if stored. ``token`` identifies this write."""

    def _add_again(self, key: str, encoded: Any, ttl: float | None, token: bytes) -> bool:
        """Retry of an :meth:`_add` whose reply was lost: True if it (or the lost one) stored.

        Tiers that keep the write token override it; the default makes ``add`` fail.
        """
        raise CacheUnavailableError(f"{self.kind}: add of {key!r} lost its reply")

    @abstractmethod
    def _delete_many(self, keys: Sequence[str]) -> int:
        """Remove the keys; how many were present (tiers that cannot tell return len(keys))."""

    @abstractmethod
    def _incr(self, key: str, delta: int, create: bool) -> int | None:
        """Add ``delta`` atomically; None if missing (and not ``create``), TypeError if not an
        integer, OverflowError beyond the store's range."""

    @abstractmethod
    def _touch(self, key: str, ttl: float | None) -> bool:
        """New ttl (> 0 or None) for a live key; False if absent."""

    @abstractmethod
    def _ttl(self, key: str) -> float | None:
        """Seconds left; None if it never expires, 0.0 if absent."""

    @abstractmethod
    def _clear(self) -> bool:
        """Remove every entry under this cache's key prefix (everything without one)."""
