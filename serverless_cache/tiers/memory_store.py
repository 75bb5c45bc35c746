"""The store behind the execution-context tier: an LRU + TTL map bounded by entries and bytes.

Reads take no lock: ``OrderedDict.get`` and ``move_to_end`` are single C calls, atomic under
the GIL. Every write, eviction and byte count change happens under one lock, and no writer
iterates over the dict (a reader's reorder would break the iteration): eviction pops from the
least recently used end, as Django's locmem culls, and expired entries leave when read or
when they reach that end.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, NamedTuple

from serverless_cache import clock, registry
from serverless_cache.options import require_int
from serverless_cache.tiers.sizing import MMAP_THRESHOLD, pin_mmap_threshold


@dataclass(frozen=True)
class MemorySettings:
    """Bounds of the in-process store. Defaults suit the smallest (128 MB) Lambda."""

    max_entries: int = 10_000
    max_bytes: int = 32 * 1024 * 1024
    cull_frequency: int = 3

    def __post_init__(self) -> None:
        require_int("max_entries", self.max_entries, minimum=1)
        require_int("max_bytes", self.max_bytes, minimum=1)
        require_int("cull_frequency", self.cull_frequency, minimum=0)


class Entry(NamedTuple):
    """One stored value (encoded or as given), when it expires, and the bytes it holds."""

    value: Any
    expires_at: float  # math.inf when the entry never expires
    size: int
    encoded: bool


class MemoryStore:
    """The shared map behind every :class:`MemoryTier` view of one name; each write is bounded
    by the limits of the view that makes it."""

    def __init__(self) -> None:
        self.data: OrderedDict[str, Entry] = OrderedDict()
        self.lock = threading.Lock()
        #: The entries' own bytes; the index (hash table and nodes) is counted on top of it.
        self.total_bytes = 0
        self.index_bytes = self.data.__sizeof__

    @property
    def held_bytes(self) -> int:
        """What the store holds in memory: entries and index, as MAX_BYTES bounds it."""
        return self.total_bytes + self.index_bytes()

    def lookup(self, key: str) -> Entry | None:
        """The live entry for ``key``, marked most recently used; lock-free."""
        entry = self.data.get(key)
        if entry is None:
            return None
        if entry.expires_at <= clock.time():
            self.remove(key, entry)
            return None
        try:
            self.data.move_to_end(key)
        except KeyError:  # removed by another thread since the get
            pass
        return entry

    def live(self, key: str) -> Entry | None:
        """The live entry for ``key`` without reordering; call under the lock."""
        entry = self.data.get(key)
        return entry if entry is not None and entry.expires_at > clock.time() else None

    def remove(self, key: str, expected: Entry | None = None) -> Entry | None:
        """Drop ``key`` (only if it still holds ``expected``, when given)."""
        with self.lock:
            return self.remove_locked(key, expected)

    def remove_locked(self, key: str, expected: Entry | None = None) -> Entry | None:
        entry = self.data.get(key)
        if entry is None or (expected is not None and entry is not expected):
            return None
        del self.data[key]
        self.total_bytes -= entry.size
        return entry

    def put_locked(self, key: str, entry: Entry, limits: MemorySettings) -> bool:
        """Insert under the lock; culls by count and evicts by bytes. False if too large."""
        data, size, max_bytes = self.data, entry.size, limits.max_bytes
        old = data.get(key)
        if size > max_bytes:
            if old is not None:
                self.remove_locked(key)
            return False
        if old is not None:  # replaced in place: a lock-free read never sees the key absent
            data[key] = entry
            data.move_to_end(key)
            self.total_bytes += size - old.size
        else:
            if len(data) >= limits.max_entries:
                self._cull(limits.cull_frequency)
            data[key] = entry
            self.total_bytes += size
        index_bytes = self.index_bytes()
        if index_bytes >= MMAP_THRESHOLD:
            pin_mmap_threshold()
        # The index never shrinks on a pop: evicting frees the entries, not the table.
        while self.total_bytes + index_bytes > max_bytes and len(data) > 1:
            _, evicted = data.popitem(last=False)
            self.total_bytes -= evicted.size
            index_bytes = self.index_bytes()
        return True

    def _cull(self, frequency: int) -> None:
        """Make room as Django's locmem does: drop 1/CULL_FREQUENCY of the entries, LRU first."""
        if frequency == 0:
            self.data.clear()
            self.total_bytes = 0
            return
        for _ in range(max(1, len(self.data) // frequency)):
            _, evicted = self.data.popitem(last=False)
            self.total_bytes -= evicted.size

    def clear(self) -> None:
        with self.lock:
            self.data.clear()
            self.total_bytes = 0

    def close(self) -> None:
        self.clear()

    #: Registry hooks: after a SnapStart restore, and between tests, the store starts empty
    #: but stays shared with the views built before.
    restore = reset = clear


def memory_store(name: str) -> MemoryStore:
    """The process-wide store called ``name``."""
    return registry.get_or_create("memory", name, MemoryStore)
