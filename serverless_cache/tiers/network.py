"""What every tier on the network shares: a process-wide client, its guard, and its options.

A network tier names its client (kind, key, factory) and classifies its store's exceptions;
fail-open, the breaker and retries then come from :mod:`serverless_cache.resilience`, and the
undoing of writes that may not have been applied from :mod:`serverless_cache.recovery`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from serverless_cache import registry
from serverless_cache.codec import Codec
from serverless_cache.errors import CacheUnavailableError
from serverless_cache.recovery import ALL_KEYS, WriteJournal, Writes
from serverless_cache.resilience import (
    SAME,
    CircuitBreaker,
    Fault,
    ResilienceSettings,
    SharedClient,
    throttled_log,
)
from serverless_cache.stampede import STALE_SUFFIX, StampedeSettings
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.config import TierConfig

T = TypeVar("T")


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
        if self._journal_generation != registry.generation:
            max_keys = self.resilience.recovery_max_keys
            self._journal_generation = registry.generation
            self._journal = registry.get_or_create(
                "journal", (self.identity, max_keys), lambda: WriteJournal(max_keys)
            )
        return self._journal

    def _run(
        self,
        operation: str,
        fn: Callable[[], T],
        fallback: T,
        *,
        retry: Any = SAME,
        writes: Writes = None,
    ) -> T:
        journal = self.journal
        if journal.pending and not journal.replaying() and not self._recover(journal, writes):
            return fallback
        on_failure = None if writes is None else lambda: self._remember(journal, writes)
        return self._shared.call(operation, fn, fallback, retry=retry, on_failure=on_failure)

    def unreachable(self) -> bool:
        return self._shared.client.breaker.failures > 0 or self.journal.pending

    def _dropped(self, keys: Sequence[str]) -> None:
        self.journal.record(keys)

    @staticmethod
    def _remember(journal: WriteJournal, writes: Writes) -> None:
        if writes == ALL_KEYS:
            journal.record_all()
        elif writes:
            journal.record(writes)

    def _recover(self, journal: WriteJournal, writes: Writes) -> bool:
        """Undo the journal's writes before anything else reaches the store: True once done.

        While the store stays unreachable the call is not made, and its own writes join the
        journal (with FAIL_OPEN off, the error is raised as for any other call).
        """
        try:
            with journal.replay():
                done = self._shared.call("recover", lambda: self._replay(journal), False)
        except CacheUnavailableError:
            self._remember(journal, writes)
            raise
        if not done:
            self._remember(journal, writes)
        return done

    def _replay(self, journal: WriteJournal) -> bool:
        keys, overflowed = journal.snapshot()
        if overflowed:
            if not self._clear():
                return False
            self.log.warning(
                "recovered", "%s cache %r: writes were lost while the store was unreachable; "
                "cleared the cache's keys", self.kind, self.name,
            )  # fmt: skip
        elif keys:
            self._delete_many([*keys, *(key + STALE_SUFFIX for key in keys)])
        journal.forget(keys, overflowed)
        self.stats.recovered += len(keys) + overflowed
        return True
