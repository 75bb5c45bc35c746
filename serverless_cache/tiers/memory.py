"""Execution-context tier: an in-process LRU + TTL store that survives warm invocations.

The store is process-wide (registry entry named by LOCATION; see tiers.memory_store), and
every view bounds it by its own entry count and byte budget, as two Django aliases sharing a
LocMemCache name would. Values are kept encoded so that a caller mutating what it got back
cannot change the cache; small immutable values (int, float, bool, None, str, bytes) are kept
as they are, which keeps those semantics and skips pickling on the hot path.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from serverless_cache import clock
from serverless_cache import tags as tagging
from serverless_cache.codec import Codec, CodecSettings, Encoded
from serverless_cache.stampede import StampedeSettings
from serverless_cache.tags import Tagged
from serverless_cache.tiers.base import MISSING, Tier
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.memory_store import Entry, MemorySettings, memory_store
from serverless_cache.tiers.rules import FOREVER
from serverless_cache.tiers.sizing import (
    ENTRY_BYTES,
    EXPIRY_BYTES,
    entry_bytes,
    object_bytes,
    stored_bytes,
)

#: Kept as they are, not encoded: a caller cannot change them in place.
IMMUTABLE_TYPES = frozenset({int, float, bool, str, bytes, type(None)})
#: The fixed cost of an entry besides its key, value and index slot (see tiers.sizing).
ENTRY_OVERHEAD = ENTRY_BYTES + EXPIRY_BYTES


class MemoryTier(Tier):
    """A view onto a :class:`MemoryStore` with its own limits, codec and counters.

    LOCATION names the store (default: the cache's name); views of one name share it.
    """

    kind = "memory"
    in_process = True

    def __init__(
        self,
        config: TierConfig,
        limits: MemorySettings,
        codec: Codec,
        stampede: StampedeSettings | None = None,
    ) -> None:
        super().__init__(config, codec, stampede)
        location = config.location
        self.store_name = (location if isinstance(location, str) else ",".join(location)) or (
            config.name or "default"
        )
        self.store = memory_store(self.store_name)
        self.limits = limits
        settings = codec.settings
        self._pickle_protocol = settings.pickle_protocol
        # Nothing to sign or compress in process memory unless asked: plain pickle is faster.
        self._plain_pickle = codec.plain_pickle
        #: Whether writes keep fallback copies: then set and delete take the base's way.
        self._keeps_fallbacks = self.stampede.fallback_life > 0

    @property
    def identity(self) -> Hashable:
        return (self.kind, self.store_name, self.key_prefix)

    @classmethod
    def from_config(cls, config: TierConfig) -> MemoryTier:
        """OPTIONS: MAX_ENTRIES, MAX_BYTES, CULL_FREQUENCY, the codec and stampede options."""
        limits, codec, stampede = config.parse(MemorySettings, CodecSettings, StampedeSettings)
        if not config.name:
            location = config.location
            name = location if isinstance(location, str) else ",".join(location)
            config = replace(config, name=name or "default")
        return cls(config, limits, Codec(codec), stampede)

    def set_codec(self, codec: Codec) -> None:
        super().set_codec(codec)
        self._plain_pickle = codec.plain_pickle

    # -- encoding --------------------------------------------------------------------------
    def _encode(self, key: str, value: Any) -> tuple[Any, int, bool]:
        """The stored value, the bytes it holds, and whether it is encoded."""
        stored, encoded = self._stored(value)
        return stored, object_bytes(stored), encoded

    def _stored(self, value: Any) -> tuple[Any, bool]:
        """What the store keeps for ``value``, and whether that is encoded."""
        if type(value) is Encoded:  # a layered write, encoded once for its tiers
            if self.codec.same_as(value.codec):
                payload = value.bare if self._plain_pickle else value.frame
                if payload is not None:  # a plain-pickle codec always keeps ``bare``
                    return payload, True
            value = value.value
        if type(value) in IMMUTABLE_TYPES:
            return value, False
        if self._plain_pickle:
            return pickle.dumps(value, self._pickle_protocol), True
        return self.codec.dumps(value), True

    @staticmethod
    def _entry(key: str, encoded: tuple[Any, int, bool], ttl: float | None) -> Entry:
        # tuple.__new__ skips NamedTuple's Python-level __new__: a third of a set's cost.
        value, value_bytes, is_encoded = encoded
        expires_at = math.inf if ttl is None else clock.time() + ttl
        size = entry_bytes(key, value_bytes, ttl is not None)
        return tuple.__new__(Entry, (value, expires_at, size, is_encoded))

    def _decode(self, key: str, raw: Any) -> Any:
        entry: Entry = raw
        if not entry.encoded:
            return entry.value
        if self._plain_pickle:
            try:
                return pickle.loads(entry.value)
            except Exception as exc:  # an object that cannot be rebuilt: a miss, as on every tier
                return self.undecodable(key, exc)
        return super()._decode(key, entry.value)

    # -- primitives ------------------------------------------------------------------------
    def _get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        lookup = self.store.lookup
        found: dict[str, Entry] = {}
        for key in keys:
            entry = lookup(key)
            if entry is not None:
                found[key] = entry
        return found

    def _get_entries(self, keys: Sequence[str]) -> dict[str, tuple[Entry, float | None]]:
        return {
            key: (entry, None if entry.expires_at == math.inf else entry.expires_at)
            for key, entry in self._get_many(keys).items()
        }

    def _ttl(self, key: str) -> float | None:
        entry = self.store.lookup(key)
        if entry is None:
            return 0.0
        if entry.expires_at == math.inf:
            return None
        return max(0.0, entry.expires_at - clock.time())

    def _set_many(self, encoded: Mapping[str, Any], ttl: float | None) -> list[str]:
        failed = []
        store, limits = self.store, self.limits
        for key, item in encoded.items():
            with store.lock:
                stored = store.put_locked(key, self._entry(key, item, ttl), limits)
            if not stored:
                failed.append(key)
                self.log.warning("too-large", "%r is larger than MAX_BYTES; not cached", key)
        return failed

    def _add(self, key: str, encoded: Any, ttl: float | None, token: bytes) -> bool:
        store = self.store
        with store.lock:
            if store.live(key) is not None:
                return False
            return store.put_locked(key, self._entry(key, encoded, ttl), self.limits)

    def _delete_many(self, keys: Sequence[str]) -> int:
        present = 0
        now = clock.time()
        with self.store.lock:
            for key in keys:
                entry = self.store.remove_locked(key)
                present += entry is not None and entry.expires_at > now
        return present

    def _incr(self, key: str, delta: int, create: bool) -> int | None:
        store = self.store
        with store.lock:
            entry = store.live(key)
            if entry is None:
                if not create:
                    return None
                entry = Entry(0, math.inf, 0, False)
            value = self._decode(key, entry)
            if type(value) is not int:
                raise TypeError(f"cannot increment {key!r}: its value is not an integer")
            new_value = value + delta
            expires = entry.expires_at != math.inf
            size = entry_bytes(key, object_bytes(new_value), expires)
            store.put_locked(key, Entry(new_value, entry.expires_at, size, False), self.limits)
            return new_value

    def _touch(self, key: str, ttl: float | None) -> bool:
        store = self.store
        with store.lock:
            entry = store.live(key)
            if entry is None:
                return False
            expires_at = math.inf if ttl is None else clock.time() + ttl
            # The expiry float is counted only while there is one (see tiers.sizing).
            grown = EXPIRY_BYTES * ((ttl is not None) - (entry.expires_at != math.inf))
            store.data[key] = entry._replace(expires_at=expires_at, size=entry.size + grown)
            store.total_bytes += grown
            return True

    def _clear(self) -> bool:
        """The whole store without a key prefix, else the keys under it (a store may be shared
        by caches of several prefixes)."""
        if not self.key_prefix:
            self.store.clear()
            return True
        store, prefix = self.store, self.key_prefix
        with store.lock:
            for key in [key for key in list(store.data) if key.startswith(prefix)]:
                store.remove_locked(key)
        return True

    # -- the hot path, written out for speed (same rules as Tier.get and Tier.set) ---------
    def get(self, key: str, default: Any = None) -> Any:
        entry = self.store.lookup(key)
        if entry is None:
            self.stats.misses += 1
            return default
        value = self._decode(key, entry) if entry.encoded else entry.value
        if type(value) is Tagged:
            value = self.untag(key, value)
        if value is MISSING:
            self.stats.misses += 1
            return default
        self.stats.hits += 1
        return value

    def set(
        self, key: str, value: Any, ttl: float | None, *, tags: Sequence[str] | None = None
    ) -> bool:
        if tags or self._keeps_fallbacks:
            return super().set(key, value, ttl, tags=tags)  # tags, fallback copies: the base's
        if ttl is None:
            expires_at = math.inf
        elif type(ttl) is float and 0.0 < ttl < FOREVER:  # NaN fails both comparisons
            expires_at = clock.time() + ttl
        else:  # the base checks, clamps, or removes
            return super().set(key, value, ttl)
        if type(value) in IMMUTABLE_TYPES:
            stored, encoded = value, False
        elif self._plain_pickle and type(value) is not Encoded:
            stored, encoded = pickle.dumps(value, self._pickle_protocol), True
        else:
            stored, encoded = self._stored(value)
        size = stored_bytes(key, stored, ttl is not None)
        entry = tuple.__new__(Entry, (stored, expires_at, size, encoded))
        store = self.store
        with store.lock:
            done = store.put_locked(key, entry, self.limits)
        if done:
            self.stats.sets += 1
        else:
            self.log.warning("too-large", "%r is larger than MAX_BYTES; not cached", key)
        return done

    def delete(self, key: str) -> bool:
        if self._keeps_fallbacks:
            return super().delete(key)
        self.stats.deletes += 1
        store = self.store
        if key not in store.data:  # one atomic read (a write replaces an entry in place)
            return False
        with store.lock:
            entry = store.remove_locked(key)
        return entry is not None and entry.expires_at > clock.time()

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        store = self.store
        data, now = store.data, clock.time()
        found: dict[str, Any] = {}
        unique = dict.fromkeys(keys)
        for key in unique:
            entry = data.get(key)
            if entry is None:
                continue
            if entry.expires_at <= now:
                store.remove(key, entry)
                continue
            try:
                data.move_to_end(key)
            except KeyError:  # removed by another thread since the get
                pass
            value = self._decode(key, entry) if entry.encoded else entry.value
            if value is not MISSING:
                found[key] = value
        if self.tag_source is not None and any(type(v) is Tagged for v in found.values()):
            found = tagging.resolve(self.tag_source, found, self)
        self.stats.hits += len(found)
        self.stats.misses += len(unique) - len(found)
        return found


__all__ = ["ENTRY_OVERHEAD", "IMMUTABLE_TYPES", "MemorySettings", "MemoryTier"]
