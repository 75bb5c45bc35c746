"""What every tier on the network shares: a process-wide client, its guard, and its options.

A network tier names its client (kind, key, factory) and classifies its store's exceptions;
fail-open, the breaker and retries then come from :mod:`serverless_cache.resilience`, and the
undoing of writes that may not have been applied from :mod:`serverless_cache.recovery`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from serverless_cache import clock, registry
from serverless_cache.codec import Codec
from serverless_cache.recovery import REPLAY_RETRY_INTERVAL, WriteJournal, Writes
from serverless_cache.resilience import (
    SAME,
    CircuitBreaker,
    Fault,
    ResilienceSettings,
    SharedClient,
    throttled_log,
)
from serverless_cache.resilience_async import guarded
from serverless_cache.stampede import STALE_SUFFIX, StampedeSettings
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.config import TierConfig

T = TypeVar("T")
#: Writes that, once they land, leave nothing of what a dropped write meant to replace (an
#: ``add`` that found the key, a ``touch`` or an ``incr`` keep the older value).
REPLACING = frozenset({"set_many", "delete", "clear"})


class NetworkTier(Tier):
    """A tier whose store is reached over the network through a shared client."""

    def __init__(
        self,
        config: TierConfig,
        codec: Codec,
        stampede: StampedeSettings | None,
        resilience: ResilienceSettings,
        *,
        client: tuple[str, Hashable, Callable[[CircuitBreaker], Any]],
        label: str,
    ) -> None:
        super().__init__(config, codec, stampede)
        self.resilience = resilience
        self.log = throttled_log(f"{self.kind}:{config.name}", resilience.log_interval)
        kind, key, factory = client
        self._client_key = key
        self._journal: WriteJournal
        self._journal_generation = -1
        self._shared: SharedClient[Any] = SharedClient(
            kind, key, factory, label, resilience, self.stats, self.classify
        )

    @property
    def identity(self) -> Hashable:
        return (self.kind, self._client_key, self.location_key, self.key_prefix)

    @property
    def location_key(self) -> Hashable:
        """What of LOCATION the client key leaves out (a DynamoDB table): none by default."""
        return None

    @property
    def fail_open(self) -> bool:
        return self.resilience.fail_open

    @staticmethod
    def classify(exc: BaseException) -> Fault | None:
        """What a store exception means (see :class:`~serverless_cache.resilience.Fault`);
        None for an exception that is not the store's (it reaches the caller)."""
        raise NotImplementedError

    @property
    def journal(self) -> WriteJournal:
        """This process's journal of writes to this store and prefix that may not have landed
        (fetched again once the registry was discarded)."""
        generation = registry.generation
        if self._journal_generation != generation:
            max_keys = self.resilience.recovery_max_keys
            self._journal = registry.get_or_create(
                "journal", self.identity, lambda: WriteJournal(max_keys)
            )
            self._journal_generation = generation  # after the journal: another thread reads it
        return self._journal

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
        journal = self.journal
        if journal.pending and not journal.replaying():
            if journal.due(clock.monotonic()):
                self._recover(journal)
            if reads is not None and journal.suspects(reads):
                # Keys whose writes may have been dropped are misses until that is undone (the
                # store is still asked: unreachable, it fails or raises as for any read).
                found = self._shared.call(operation, fn, fallback, retry=retry)
                if len(reads) == 1 or journal.overflowed:
                    return fallback
                return journal.without_suspects(found)
        if writes is None:
            return self._shared.call(operation, fn, fallback, retry=retry)
        failed = False

        def on_failure() -> None:
            nonlocal failed
            failed = True
            journal.record(writes)

        result = self._shared.call(operation, fn, fallback, retry=retry, on_failure=on_failure)
        if not failed and journal.pending and operation in REPLACING:
            journal.landed(writes)
        return result

    async def _arun(
        self,
        operation: str,
        fn: Callable[[], Awaitable[T]],
        fallback: T,
        *,
        retry: Any = SAME,
        writes: Writes = None,
    ) -> T:
        """``await fn()`` under the guard, as :meth:`_run` with the journal clean (see
        :meth:`_awaitable`): the keys ``writes`` names join it when the call may not have
        taken effect."""
        journal = self.journal
        on_failure = None if writes is None else lambda: journal.record(writes)
        return await guarded(
            self._shared.guard, operation, fn, fallback, retry=retry, on_failure=on_failure
        )

    def _awaitable(self) -> bool:
        return (
            self.aio is not None and self.stampede.fallback_life <= 0 and not self.journal.pending
        )

    def unreachable(self) -> bool:
        breaker: CircuitBreaker = self._shared.client.breaker
        return breaker.failures > 0

    def _dropped(self, keys: Sequence[str]) -> None:
        self.journal.record(keys)

    def _recover(self, journal: WriteJournal) -> None:
        """Undo the journal's writes; a failure is handled as any call's (counted, raised with
        FAIL_OPEN off), and tried again at the next call after REPLAY_RETRY_INTERVAL."""
        journal.next_attempt = clock.monotonic() + REPLAY_RETRY_INTERVAL
        with journal.replay():
            self._shared.call("recover", lambda: self._replay(journal), False)

    def _replay(self, journal: WriteJournal) -> bool:
        keys, overflowed, generation = journal.snapshot()
        if overflowed and not self.key_prefix:
            # No namespace of its own: clearing would empty the whole database or table.
            self.log.warning(
                "recovered", "%s cache %r: more writes were lost while the store was "
                "unreachable than RECOVERY_MAX_KEYS; without a KEY_PREFIX they cannot be undone, "
                "and older values may be read until they expire", self.kind, self.name,
            )  # fmt: skip
        elif overflowed:
            if not self._clear():
                return False
            self.log.warning(
                "recovered", "%s cache %r: more writes were lost while the store was "
                "unreachable than RECOVERY_MAX_KEYS; cleared the cache's keys",
                self.kind, self.name,
            )  # fmt: skip
        elif keys:
            self._delete_many([*keys, *(key + STALE_SUFFIX for key in keys)])
        journal.forget(keys, overflowed, generation)
        self.stats.recovered += len(keys) + overflowed
        return True
