"""Auto-recovery: a write that may not have reached a shared store never leaves the older value
readable.

While a store is unreachable (or its breaker is open) a ``set`` is dropped, so the store keeps
the *older* value; once it returns, every instance would read it. Each network tier view
therefore records in this process's :class:`WriteJournal` the keys of every write (set,
delete, touch, incr; an add never replaces a value) that did not surely take effect; reads of
those keys are misses until the journal is replayed as deletes, which the next call tries
first (:meth:`serverless_cache.tiers.network.NetworkTier._run`). Past ``RECOVERY_MAX_KEYS``
keys, or after a failed ``clear()``, the journal overflows: every read is a miss until the
replay has cleared the cache's namespace (only a ``KEY_PREFIX`` of its own is cleared; without
one the replay warns and gives up). A journal is a registry entry (it survives warm
invocations) keyed by what the view reaches: the store and the key prefix.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Final, Literal, TypeVar, cast

from serverless_cache.stampede import STALE_SUFFIX

T = TypeVar("T")

#: Seconds before a failed replay is tried again. While the whole store is down the breaker
#: already spaces calls out; this bounds what a partial failure (one Memcached node down)
#: costs: one failed delete per interval, not one per call.
REPLAY_RETRY_INTERVAL: Final = 0.1
#: ``writes=ALL_KEYS``: the call writes the whole namespace (clear).
ALL_KEYS: Final = "*all*"
#: What a store call writes: some keys, the whole namespace, or nothing (a read).
Writes = Sequence[str] | Literal["*all*"] | None


class WriteJournal:
    """The keys whose last write in this process may not have been applied, bounded.

    While a key is in it, reads of that key are misses (not the store's possibly older value);
    a later write of the key that lands takes it out; a replay that succeeds empties it.
    """

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self.lock = threading.Lock()
        self.keys: dict[str, None] = {}
        #: Too many keys to remember, or a failed clear: the whole namespace is suspect.
        self.overflowed = False
        #: A cheap flag for the hot path: read without the lock.
        self.pending = False
        #: The monotonic time before which a failed replay is not tried again.
        self.next_attempt = 0.0
        #: Bumped by every record: a replay forgets an overflow only if none came since.
        self.generation = 0
        self._replaying = threading.local()

    def record(self, writes: Writes) -> None:
        """Remember what ``writes`` names: its writes may not have reached the store."""
        with self.lock:
            if writes == ALL_KEYS or len(self.keys) + len(writes or ()) > self.max_keys:
                self.overflowed = True
                self.keys.clear()
            elif not self.overflowed and writes:
                self.keys.update(dict.fromkeys(writes))
            self.pending = self.overflowed or bool(self.keys)
            self.generation += 1

    def landed(self, writes: Writes) -> None:
        """Writes that reached the store replace whatever was dropped before them."""
        with self.lock:
            if writes == ALL_KEYS:
                self.overflowed = False
                self.keys.clear()
            elif writes:
                for key in writes:
                    self.keys.pop(key, None)
            self.pending = self.overflowed or bool(self.keys)

    def suspects(self, keys: Sequence[str]) -> bool:
        """Whether any of ``keys`` (or the key whose fallback copy it is) may still hold a
        value a dropped write meant to replace."""
        if self.overflowed:
            return True
        return any(key in self.keys or key.removesuffix(STALE_SUFFIX) in self.keys for key in keys)

    def without_suspects(self, found: T) -> T:
        """A multi-key read's answer (a mapping by key) without the suspect keys."""
        assert isinstance(found, Mapping)
        with self.lock:
            return cast(T, {k: v for k, v in found.items() if not self.suspects([k])})

    def due(self, now: float) -> bool:
        return now >= self.next_attempt

    def snapshot(self) -> tuple[list[str], bool, int]:
        """The keys to delete, whether the namespace must be cleared instead, and when."""
        with self.lock:
            return list(self.keys), self.overflowed, self.generation

    def forget(self, keys: Iterable[str], overflowed: bool, generation: int) -> None:
        """The replay of a snapshot succeeded; what was recorded since stays."""
        with self.lock:
            if overflowed and generation == self.generation:
                self.overflowed = False
            for key in keys:
                self.keys.pop(key, None)
            self.pending = self.overflowed or bool(self.keys)
            self.next_attempt = 0.0

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

    def restore(self) -> None:
        """After a SnapStart restore the journal still holds: the snapshot's writes were lost
        just the same."""
