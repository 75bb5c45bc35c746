"""The Tier contract: what every storage tier offers to the Django and Flask adapters.

Keys are final strings: the adapter has already applied prefix and version. Values are Python
objects, encoded by the tier. ``ttl`` is seconds as a float; ``None`` means no expiry and
``ttl <= 0`` means "do not keep". Adapters map Django's and cachelib's conventions onto this.

The public methods are written once, here, as Django's ``BaseCache`` writes its shared rules:
ttl validation and clamping, ``ttl <= 0``, de-duplication, encoding everything before writing,
hit/miss counting, ``delta`` checks, logged misses for undecodable values, and fail-open (the
view's :meth:`_run`). A tier implements the small primitives (``_get_many``, ``_set_many``,
``_add``...: :mod:`~serverless_cache.tiers.primitives`), which raise their store's errors; it
overrides a public method only for speed. :mod:`~serverless_cache.tiers.asynchronous` applies
the same rules, through the same steps, to coroutines.
"""

from __future__ import annotations

import logging
import os
from abc import abstractmethod
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from serverless_cache import registry
from serverless_cache import tags as tagging
from serverless_cache.codec import Codec
from serverless_cache.errors import CacheUnavailableError, DecodeError
from serverless_cache.metrics import TierStats, stats_for
from serverless_cache.recovery import ALL_KEYS
from serverless_cache.resilience import UNREACHABLE, ThrottledLog, throttled_log
from serverless_cache.stampede import STALE_SUFFIX, StampedeSettings
from serverless_cache.stampede import get_or_set as stampede_get_or_set
from serverless_cache.tags import Tagged
from serverless_cache.tiers import fallbacks
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.primitives import Primitives
from serverless_cache.tiers.rules import MISSING, LiveTiers, check_delta, expiry

T = TypeVar("T")
logger = logging.getLogger("serverless_cache")
__all__ = ["MISSING", "Tier"]


class Tier(Primitives):
    """One storage tier. Instances are cheap views; shared state lives in the registry."""

    def __init__(
        self, config: TierConfig, codec: Codec, stampede: StampedeSettings | None = None
    ) -> None:
        self.config = config
        self.stampede = stampede or StampedeSettings()
        self.name = config.name
        self.key_prefix = config.key_prefix
        self.codec = codec
        self.stats: TierStats = stats_for(config.name, self.kind)
        self.log: ThrottledLog = throttled_log(f"{self.kind}:{config.name}")
        #: Where the versions of tags are read (see :mod:`serverless_cache.tags`): this tier;
        #: a layered cache points its tiers at its last one, and its in-process tiers at none
        #: (it checks their tagged entries itself, without a round trip per hit).
        self.tag_source: Tier | None = self
        registry.get_or_create("live", None, LiveTiers).add(self)

    @classmethod
    @abstractmethod
    def from_config(cls, config: TierConfig) -> Tier:
        """Build a view from ``config``; raises ConfigurationError naming a bad option."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} prefix={self.key_prefix!r}>"

    @property
    def identity(self) -> Hashable:
        """What makes two views the same cache (they share in-flight computations): the
        store they reach and the key prefix, never only a name."""
        return (self.kind, self.name, self.key_prefix)

    @property
    def fail_open(self) -> bool:
        """Whether an unreachable store is a miss (True) or an error; in-process tiers: True."""
        return True

    def set_codec(self, codec: Codec) -> None:
        """Encode with ``codec`` from now on (Flask-Caching assigns its CACHE_SERIALIZER)."""
        self.codec = codec

    # -- encoding ------------------------------------------------------------------------
    def _encode(self, key: str, value: Any) -> Any:
        """The stored form of ``value`` (may raise: nothing has been written yet)."""
        return self.codec.dumps(value)

    def _decode(self, key: str, raw: Any) -> Any:
        """The value of a raw stored form, or MISSING (logged) when it cannot be decoded."""
        try:
            return self.codec.loads(raw)
        except DecodeError as exc:
            return self.undecodable(key, exc)

    # -- reads -----------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when it is absent, expired or undecodable."""
        none: Mapping[str, Any] = {}
        raw = self._run("get", lambda: self._get_many([key]), none, reads=[key]).get(key, MISSING)
        return self._answer(MISSING if raw is MISSING else self._value(key, raw), default)

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        """Values of the keys that are present (a stored ``None`` is present)."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        none: Mapping[str, Any] = {}
        raws = self._run("get_many", lambda: self._get_many(unique), none, reads=unique)
        return self._counted(len(unique), self._values(raws))

    def get_entries(
        self, keys: Sequence[str], *, keep_tags: bool = False
    ) -> dict[str, tuple[Any, float | None]]:
        """Present keys with ``(value, expires_at)``; ``expires_at`` is epoch seconds or None.

        Used by the layered tier so that a promoted copy never outlives its source; with
        ``keep_tags`` a current tagged entry stays a Tagged value, so its copy keeps its tags.
        """
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        none: Mapping[str, tuple[Any, float | None]] = {}
        raws = self._run("get_entries", lambda: self._get_entries(unique), none, reads=unique)
        values = self._values({key: raw for key, (raw, _) in raws.items()}, keep_tags=keep_tags)
        return self._counted(len(unique), {key: (v, raws[key][1]) for key, v in values.items()})

    def has(self, key: str) -> bool:
        """Whether ``key`` is present and unexpired."""
        return bool(self.present(key))

    def present(self, key: str) -> bool | None:
        """Like :meth:`has`, but None when the store could not be asked. It agrees with
        :meth:`get` (a read, as Django's ``has_key``): an entry whose tag was invalidated, or
        that cannot be decoded, exists in the store but is not present."""
        raws = self._run("has", lambda: self._get_many([key]), None, reads=[key])
        if raws is None or key not in raws:
            return None if raws is None else False
        return self._value(key, raws[key]) is not MISSING

    def _values(self, raws: Mapping[str, Any], *, keep_tags: bool = False) -> dict[str, Any]:
        """Decoded raw stored forms, without the undecodable ones and those whose tags were
        invalidated (``keep_tags``: a current tagged value stays Tagged)."""
        return self._checked(self._decoded(raws), keep_tags=keep_tags)

    def _decoded(self, raws: Mapping[str, Any]) -> dict[str, Any]:
        """Decoded raw stored forms, without the undecodable ones (logged misses)."""
        found = {key: self._decode(key, raw) for key, raw in raws.items()}
        return {key: value for key, value in found.items() if value is not MISSING}

    def _checked(self, found: dict[str, Any], *, keep_tags: bool = False) -> dict[str, Any]:
        """Decoded values without those whose tags were invalidated (a read of the versions
        when some are tagged)."""
        if self.tag_source is not None and any(type(v) is Tagged for v in found.values()):
            found = tagging.resolve(self.tag_source, found, self, keep=keep_tags)
        return found

    def _value(self, key: str, raw: Any) -> Any:
        """What ``get`` answers for a raw stored form: decoded, its tags checked."""
        value = self._decode(key, raw)
        return self.untag(key, value) if type(value) is Tagged else value

    def _answer(self, value: Any, default: Any) -> Any:
        """What ``get`` returns for a value read (MISSING: a miss), counted."""
        if value is MISSING:
            self.stats.misses += 1
            return default
        self.stats.hits += 1
        return value

    def _get_without_waiting(self, key: str, default: Any) -> tuple[Any, Callable[[], Any] | None]:
        """For an async ``get`` without :attr:`aio`: ``(answer, None)`` when it needs no wait
        on the network, else ``(None, rest)``, ``rest()`` being the remainder of the sync
        ``get``, which the caller runs in a worker thread."""
        if self.in_process:
            return self.get(key, default), None
        return None, lambda: self.get(key, default)

    def _counted(self, asked: int, found: dict[str, T]) -> dict[str, T]:
        """``found`` for ``asked`` unique keys, its hits and misses counted."""
        self.stats.hits += len(found)
        self.stats.misses += asked - len(found)
        return found

    def ttl(self, key: str) -> float | None:
        """Seconds ``key`` has left; ``None`` if it never expires, ``0.0`` if it is absent."""
        absent: float | None = 0.0
        return self._run("ttl", lambda: self._ttl(key), absent, reads=[key])

    # -- writes ----------------------------------------------------------------------------
    def set(
        self, key: str, value: Any, ttl: float | None, *, tags: Sequence[str] | None = None
    ) -> bool:
        """Store one item; False when it could not be stored (or, for ``ttl <= 0``, removed)."""
        return not self.set_many({key: value}, ttl, tags=tags)

    def set_many(
        self, items: Mapping[str, Any], ttl: float | None, *, tags: Sequence[str] | None = None
    ) -> list[str]:
        """Store every item; return the keys that could not be stored.

        With ``ttl <= 0`` the keys are removed instead, and all are returned if that failed.
        With ``tags``, :meth:`invalidate_tags` of any of them makes the items misses.
        """
        ttl = expiry(ttl)
        tags = tagging.check_tags(tags)
        if not items:
            return []
        if ttl is not None and ttl <= 0:
            return [] if self.delete_many(list(items)) else list(items)
        if tags:
            items = self.tag_items(items, tags)
        # Encode everything first, so a bad value raises before anything is written.
        encoded = {key: self._encode(key, value) for key, value in items.items()}
        keys = list(encoded)
        failed = self._run("set_many", lambda: self._set_many(encoded, ttl), keys, writes=keys)
        return self._finish_set(encoded, ttl, failed)

    def _finish_set(
        self, encoded: Mapping[str, Any], ttl: float | None, failed: list[str]
    ) -> list[str]:
        """After a ``set_many`` of ``encoded``: counted, refused keys remembered, fallback
        copies of the stored ones written, a partial refusal logged; the keys not stored."""
        self.stats.sets += len(encoded) - len(failed)
        if failed:
            self._dropped(failed)
        if self.stampede.fallback_life > 0 and len(failed) < len(encoded):
            self._keep_fallbacks({k: v for k, v in encoded.items() if k not in failed}, ttl)
        if failed and len(failed) < len(encoded):
            self.log.warning(
                "partial", "%s cache %r could not store %d of %d keys", self.kind, self.name,
                len(failed), len(encoded),
            )  # fmt: skip
        return failed

    def add(
        self, key: str, value: Any, ttl: float | None, *, tags: Sequence[str] | None = None
    ) -> bool:
        """Store only if ``key`` is absent (atomically on shared tiers); True exactly if stored.

        With ``ttl <= 0`` nothing is kept, and the answer is whether ``key`` was absent.
        """
        ttl = expiry(ttl)
        tags = tagging.check_tags(tags)
        if ttl is not None and ttl <= 0:
            return self.present(key) is False
        if tags:
            value = self.tag_items({key: value}, tags)[key]
        encoded = self._encode(key, value)
        token = os.urandom(12)
        added = self._run(
            "add",
            lambda: self._add(key, encoded, ttl, token),
            False,
            retry=lambda: self._add_again(key, encoded, ttl, token),
        )
        return self._finish_add(key, encoded, ttl, added)

    def _finish_add(self, key: str, encoded: Any, ttl: float | None, added: bool) -> bool:
        """After an ``add``: counted, and its fallback copy written when it stored."""
        self.stats.sets += added
        if added and self.stampede.fallback_life > 0:
            self._keep_fallbacks({key: encoded}, ttl)
        return added

    def delete(self, key: str) -> bool:
        """Remove ``key`` (and its stale copy, with STALE_TTL); True if it was present."""
        return self.remove([key]) > 0

    def delete_many(self, keys: Sequence[str]) -> bool:
        """Remove the keys; False only when the store could not be asked."""
        unique = list(dict.fromkeys(keys))
        return not unique or self.remove(unique) >= 0

    def remove(self, keys: Sequence[str]) -> int:
        """Remove the (unique) keys and, with STALE_TTL, their stale copies: how many were
        present, -1 if the store could not be asked. A tier that cannot tell, or a retry after
        a lost reply (the first attempt may have removed them), answers ``len(keys)``."""
        self.stats.deletes += len(keys)
        if self.stampede.fallback_life > 0:
            fallbacks.remove(self, keys)
        return self._run(
            "delete",
            lambda: self._delete_many(keys),
            -1,
            retry=lambda: max(self._delete_many(keys), len(keys)),
            writes=keys,
        )

    def incr(self, key: str, delta: int = 1, *, create: bool = False) -> int:
        """Add ``delta`` atomically and return the new value; expiry is unchanged.

        Applied once or not at all: never retried. A missing key raises KeyError, or with
        ``create`` starts from 0 with no expiry (cachelib's ``inc``); a non-integer value or
        delta raises TypeError; an unreachable store raises CacheUnavailableError.
        """
        check_delta(delta)
        result: Any = self._run(
            "incr", lambda: self._incr(key, delta, create), UNREACHABLE, retry=None, writes=[key]
        )
        return self._finish_incr(key, result)

    def _finish_incr(self, key: str, result: Any) -> int:
        """What ``incr`` answers for the primitive's result (UNREACHABLE, None: missing)."""
        if result is UNREACHABLE:
            raise CacheUnavailableError(
                f"{self.kind} cache {self.name!r}: incr of {key!r} could not reach the store"
            )
        if result is None:
            raise KeyError(key)
        if self.stampede.fallback_life > 0:  # the fallback copy holds the value before
            fallbacks.remove(self, [key])
        return int(result)

    def touch(self, key: str, ttl: float | None) -> bool:
        """Give ``key`` a new ttl; False if it is absent. ``ttl <= 0`` removes it."""
        ttl = expiry(ttl)
        if ttl is not None and ttl <= 0:
            return self.remove([key]) > 0
        return self._run("touch", lambda: self._touch(key, ttl), False, writes=[key])

    def clear(self) -> bool:
        """Remove every entry of this cache, and only those; False if the store failed."""
        return self._run("clear", self._clear, False, writes=ALL_KEYS)

    def close(self) -> None:
        """Per-request hook (Django calls it after every request): keep pooled resources."""

    def warm(self) -> None:
        """Open connections and resolve clients now, before a request needs them.

        Called by the Lambda runtime helpers on a warm-up event and on the first invocation of
        an execution environment. Network tiers override it (PING, endpoint resolution); it
        must not raise when the store is down, only count and log as any other call does.
        """

    # -- stampede protection and fail-safe ---------------------------------------------------
    def refresh_entry(self, key: str, default: Any) -> tuple[Any, float | None]:
        """``(value or default, expires_at)`` for EAGER_REFRESH; ``expires_at`` is None when
        the entry never expires or when this read cannot tell (a layered cache's L1 hit)."""
        entry = self.get_entries([key]).get(key)
        return (default, None) if entry is None else entry

    def fallback(self, key: str, default: Any) -> Any:
        """The fallback copy of ``key`` (STALE_TTL, FAIL_SAFE_MAX_AGE), or ``default``."""
        return self.get(key + STALE_SUFFIX, default)

    def unreachable(self) -> bool:
        """Whether the store failed lately (fail-safe answers from fallbacks then)."""
        return False

    def _keep_fallbacks(self, encoded: Mapping[str, Any], ttl: float | None) -> None:
        """Write the fallback copies of entries just stored, kept ``fallback_life`` longer."""
        copies = fallbacks.copies_of(encoded)
        if copies:
            fallbacks.write(self, copies, fallbacks.lifetime(self, ttl))

    def get_or_set(
        self,
        key: str,
        compute: Callable[[], Any],
        ttl: float | None,
        *,
        tags: Sequence[str] | None = None,
    ) -> Any:
        """The cached value of ``key``, or ``compute()`` stored, computed once at a time
        (see :func:`serverless_cache.stampede.get_or_set`)."""
        return stampede_get_or_set(self, key, compute, ttl, tags=tags)

    # -- tags (see serverless_cache.tags) --------------------------------------------------
    def invalidate_tags(self, *tags: str) -> bool:
        """Make every entry written with any of ``tags`` a miss, on every instance; False
        when the store did not take the new versions (a network tier then applies it once the
        store answers again: auto-recovery deletes the version keys)."""
        source = self.tag_source or self.authority
        return tagging.invalidate(source, tagging.check_tags(tags)) is not None

    def tag_versions(self, tags: Sequence[str]) -> tagging.Versions:
        """The versions an entry written now with ``tags`` carries."""
        return tagging.versions_for_write(self.tag_source or self.authority, tags, self)

    def tag_items(self, items: Mapping[str, Any], tags: Sequence[str]) -> dict[str, Any]:
        """``items`` as Tagged values under the current versions of ``tags``."""
        versions = self.tag_versions(tags)
        return {key: Tagged(value, versions) for key, value in items.items()}

    def untag(self, key: str, value: Tagged) -> Any:
        """A Tagged value read from this tier: its value while its versions are current,
        else MISSING; as it is when a layered cache checks this tier's entries itself."""
        if self.tag_source is None:
            return value
        return tagging.resolve(self.tag_source, {key: value}, self).get(key, MISSING)

    @property
    def authority(self) -> Tier:
        """The tier that decides for every instance (leases, stale copies): itself here."""
        return self

    # -- helpers for implementations ------------------------------------------------------
    def undecodable(self, key: str, exc: Exception) -> Any:
        """Count and log (throttled) a stored value that cannot be read: it is a miss."""
        self.stats.errors += 1
        self.log.warning(
            "decode", "ignoring %r in the %s cache %r: %s", key, self.kind, self.name, exc
        )
        return MISSING
