"""Execution-context tier: an in-process LRU + TTL store that survives warm invocations.

The store is process-wide (registry entry named by ``location``), bounded by an entry count
and by a byte budget. Values are kept encoded so that a caller mutating what it got back
cannot change the cache; small immutable values (int, float, bool, None, str, bytes) are kept
as they are, which keeps those semantics and skips pickling on the hot path.

Reads take no lock: ``OrderedDict.get`` and ``move_to_end`` are single C calls, atomic under
the GIL. Every write, eviction and byte count change happens under one lock, and no writer
iterates over the dict (a reader's reorder would break the iteration): eviction pops from the
least recently used end, as Django's locmem culls, and expired entries leave when read or
when they reach that end.
"""

from __future__ import annotations

import math
import pickle
import sys
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from time import time
from typing import Any, NamedTuple

from serverless_cache import registry
from serverless_cache.codec import Codec, CodecSettings
from serverless_cache.metrics import TierStats, stats_for
from serverless_cache.options import parse_options, require_int
from serverless_cache.tiers.base import MISSING, Tier, logger

_IMMUTABLE = frozenset({int, float, bool, str, bytes, type(None)})
#: Rough per-entry overhead (dict slot, tuple, key) counted against MAX_BYTES.
ENTRY_OVERHEAD = 100


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


class _Entry(NamedTuple):
    value: Any
    expires_at: float  # math.inf when the entry never expires
    size: int
    encoded: bool


class MemoryStore:
    """The shared, bounded map behind every :class:`MemoryTier` view of one name."""

    def __init__(self, settings: MemorySettings) -> None:
        self.settings = settings
        self.max_entries = settings.max_entries
        self.max_bytes = settings.max_bytes
        self.data: OrderedDict[str, _Entry] = OrderedDict()
        self.lock = threading.Lock()
        self.total_bytes = 0

    def lookup(self, key: str) -> _Entry | None:
        """The live entry for ``key``, marked most recently used; lock-free."""
        entry = self.data.get(key)
        if entry is None:
            return None
        if entry.expires_at <= time():
            self.remove(key, entry)
            return None
        try:
            self.data.move_to_end(key)
        except KeyError:  # removed by another thread since the get
            pass
        return entry

    def remove(self, key: str, expected: _Entry | None = None) -> _Entry | None:
        """Drop ``key`` (only if it still holds ``expected``, when given)."""
        with self.lock:
            entry = self.data.get(key)
            if entry is None or (expected is not None and entry is not expected):
                return None
            del self.data[key]
            self.total_bytes -= entry.size
            return entry

    def put(self, key: str, entry: _Entry) -> bool:
        """Insert under the lock; culls by count and evicts by bytes. False if too large."""
        with self.lock:
            return self.put_locked(key, entry)

    def put_locked(self, key: str, entry: _Entry) -> bool:
        data = self.data
        old = data.pop(key, None)
        if old is not None:
            self.total_bytes -= old.size
        if entry.size > self.max_bytes:
            return False
        if len(data) >= self.max_entries:
            self._cull()
        data[key] = entry
        self.total_bytes += entry.size
        while self.total_bytes > self.max_bytes:
            _, evicted = data.popitem(last=False)
            self.total_bytes -= evicted.size
        return True

    def _cull(self) -> None:
        """Make room as Django's locmem does: drop 1/CULL_FREQUENCY of the entries, LRU first."""
        frequency = self.settings.cull_frequency
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


def memory_store(name: str, settings: MemorySettings) -> MemoryStore:
    """The process-wide store called ``name``; the first configuration seen wins."""
    store = registry.get_or_create("memory", name, lambda: MemoryStore(settings))
    if store.settings != settings:
        logger.warning(
            "serverless_cache: memory store %r already exists with %r; ignoring %r",
            name,
            store.settings,
            settings,
        )
    return store


class MemoryTier(Tier):
    """A view onto a :class:`MemoryStore` with its own codec and counters."""

    kind = "memory"
    blocking = False

    def __init__(self, store: MemoryStore, codec: Codec, stats: TierStats) -> None:
        super().__init__(codec, stats)
        self.store = store
        settings = codec.settings
        self._pickle_protocol = settings.pickle_protocol
        # Nothing to sign or compress in process memory unless asked: plain pickle is faster.
        self._plain_pickle = settings.serializer == "pickle" and not (
            settings.signing_key or settings.compress_min_bytes is not None
        )

    @classmethod
    def from_options(
        cls, name: str, options: Mapping[str, Any] | None, *, where: str = "OPTIONS"
    ) -> MemoryTier:
        """Build from an OPTIONS-style mapping (MAX_ENTRIES, MAX_BYTES, codec options...)."""
        memory, codec = parse_options(options, MemorySettings, CodecSettings, where=where)
        return cls(memory_store(name or "default", memory), Codec(codec), stats_for(name, cls.kind))

    # -- encoding --------------------------------------------------------------------------
    def _entry(self, value: Any, ttl: float | None) -> _Entry:
        # tuple.__new__ skips NamedTuple's Python-level __new__: a third of a set's cost.
        expires_at = math.inf if ttl is None else time() + ttl
        if type(value) in _IMMUTABLE:
            size = sys.getsizeof(value) + ENTRY_OVERHEAD
            return tuple.__new__(_Entry, (value, expires_at, size, False))
        if self._plain_pickle:
            payload = pickle.dumps(value, self._pickle_protocol)
        else:
            payload = self.codec.dumps(value)
        return tuple.__new__(_Entry, (payload, expires_at, len(payload) + ENTRY_OVERHEAD, True))

    def _value(self, key: str, entry: _Entry) -> Any:
        if not entry.encoded:
            return entry.value
        if self._plain_pickle:
            try:
                return pickle.loads(entry.value)
            except Exception as exc:  # an object that cannot be rebuilt: a miss, as on every tier
                self.stats.errors += 1
                logger.warning("serverless_cache: cannot unpickle %r (%s); a miss", key, exc)
                return MISSING
        return self.decode(key, entry.value)

    # -- reads -----------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        entry = self.store.lookup(key)
        if entry is None:
            self.stats.misses += 1
            return default
        value = self._value(key, entry) if entry.encoded else entry.value
        if value is MISSING:
            self.stats.misses += 1
            return default
        self.stats.hits += 1
        return value

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key in keys:
            value = self.get(key, MISSING)
            if value is not MISSING:
                found[key] = value
        return found

    def get_entries(self, keys: Sequence[str]) -> dict[str, tuple[Any, float | None]]:
        result: dict[str, tuple[Any, float | None]] = {}
        for key in keys:
            entry = self.store.lookup(key)
            value = MISSING if entry is None else self._value(key, entry)
            if entry is None or value is MISSING:
                self.stats.misses += 1
                continue
            self.stats.hits += 1
            expires = None if entry.expires_at == math.inf else entry.expires_at
            result[key] = (value, expires)
        return result

    def has(self, key: str) -> bool:
        return self.store.lookup(key) is not None

    def ttl(self, key: str) -> float | None:
        entry = self.store.lookup(key)
        if entry is None:
            return 0.0
        if entry.expires_at == math.inf:
            return None
        return max(0.0, entry.expires_at - time())

    # -- writes ----------------------------------------------------------------------------
    def set(self, key: str, value: Any, ttl: float | None) -> bool:
        if ttl is not None and ttl <= 0:
            self.store.remove(key)
            return True
        return self._store(key, self._entry(value, ttl))

    def set_many(self, items: Mapping[str, Any], ttl: float | None) -> list[str]:
        if ttl is not None and ttl <= 0:
            for key in items:
                self.store.remove(key)
            return []
        # Encode everything first, so an unpicklable value raises before anything is written.
        entries = [(key, self._entry(value, ttl)) for key, value in items.items()]
        return [key for key, entry in entries if not self._store(key, entry)]

    def _store(self, key: str, entry: _Entry) -> bool:
        self.stats.sets += 1
        if self.store.put(key, entry):
            return True
        logger.info("serverless_cache: %r is larger than MAX_BYTES; not cached", key)
        return False

    def add(self, key: str, value: Any, ttl: float | None) -> bool:
        entry = self._entry(value, ttl)
        with self.store.lock:
            current = self.store.data.get(key)
            if current is not None and current.expires_at > time():
                return False
            if ttl is not None and ttl <= 0:
                return True
            self.stats.sets += 1
            return self.store.put_locked(key, entry)

    def delete(self, key: str) -> bool:
        entry = self.store.remove(key)
        self.stats.deletes += 1
        return entry is not None and entry.expires_at > time()

    def delete_many(self, keys: Sequence[str]) -> bool:
        for key in keys:
            self.delete(key)
        return True

    def incr(self, key: str, delta: int = 1, *, create: bool = False) -> int:
        with self.store.lock:
            entry = self.store.data.get(key)
            if entry is None or entry.expires_at <= time():
                if not create:
                    raise KeyError(key)
                entry = _Entry(0, math.inf, sys.getsizeof(0) + ENTRY_OVERHEAD, False)
            value = self._value(key, entry)
            if type(value) is not int:
                raise TypeError(f"cannot increment {key!r}: its value is not an integer")
            new_value = value + delta
            size = sys.getsizeof(new_value) + ENTRY_OVERHEAD
            self.store.put_locked(key, _Entry(new_value, entry.expires_at, size, False))
            return new_value

    def touch(self, key: str, ttl: float | None) -> bool:
        with self.store.lock:
            entry = self.store.data.get(key)
            if entry is None or entry.expires_at <= time():
                return False
            if ttl is not None and ttl <= 0:
                del self.store.data[key]
                self.store.total_bytes -= entry.size
                return True
            expires_at = math.inf if ttl is None else time() + ttl
            self.store.data[key] = entry._replace(expires_at=expires_at)
            return True

    def clear(self) -> bool:
        self.store.clear()
        return True
