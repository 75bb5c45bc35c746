"""Auto-recovery: a write that may not have reached a shared store is undone on the first contact.

While a store is unreachable (or its breaker is open) a ``set`` is dropped, so the store keeps
the *older* value; when the store returns, every instance would read it. Each network tier view
therefore records in this process's :class:`WriteJournal` the keys of every write (set, add,
delete, touch, incr) that did not surely take effect, and before its next call reaches the store
it replays them as deletes (:meth:`serverless_cache.tiers.network.NetworkTier._run`): a miss,
never an older value. Past ``RECOVERY_MAX_KEYS`` keys the journal overflows and the replay
clears the cache's namespace instead. A journal is a registry entry (it survives warm
invocations) keyed by what the view reaches: the store and the key prefix.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Final, Literal

#: ``writes=ALL_KEYS``: the call writes the whole namespace (clear, delete_pattern).
ALL_KEYS: Final = "*all*"
#: What a store call writes: some keys, the whole namespace, or nothing (a read).
Writes = Sequence[str] | Literal["*all*"] | None


class WriteJournal:
    """The keys whose last write in this process may not have been applied, bounded."""

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self.lock = threading.Lock()
        self.keys: dict[str, None] = {}
        #: Too many keys to remember, or a failed clear: the whole namespace must go.
        self.overflowed = False
        #: A cheap flag for the hot path: read without the lock.
        self.pending = False
        self._replaying = threading.local()

    @contextmanager
    def replay(self) -> Iterator[None]:
        """Mark this thread as replaying: the replay's own store calls go straight through."""
        self._replaying.active = True
        try:
            yield
        finally:
            self._replaying.active = False

    def replaying(self) -> bool:
        return bool(getattr(self._replaying, "active", False))

    def record(self, keys: Iterable[str]) -> None:
        """Remember ``keys`` (their writes may not have reached the store)."""
        with self.lock:
            if not self.overflowed:
                self.keys.update(dict.fromkeys(keys))
                if len(self.keys) > self.max_keys:
                    self.overflow_locked()
            self.pending = True

    def record_all(self) -> None:
        """A write to the whole namespace (clear, delete_pattern) may not have been applied."""
        with self.lock:
            self.overflow_locked()
            self.pending = True

    def overflow_locked(self) -> None:
        self.overflowed = True
        self.keys.clear()

    def snapshot(self) -> tuple[list[str], bool]:
        """The keys to delete and whether the namespace must be cleared instead."""
        with self.lock:
            return list(self.keys), self.overflowed

    def forget(self, keys: Iterable[str], overflowed: bool) -> None:
        """The replay of ``keys`` (or of the overflow) succeeded; writes recorded since stay."""
        with self.lock:
            if overflowed:
                self.overflowed = False
            for key in keys:
                self.keys.pop(key, None)
            self.pending = self.overflowed or bool(self.keys)

    def restore(self) -> None:
        """After a SnapStart restore the journal still holds: the snapshot's writes were lost
        just the same."""
