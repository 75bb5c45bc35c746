"""Layered tier: an in-process L1 in front of shared tiers, with bounded staleness.

Tiers are ordered from the fastest (usually the execution context) to the authoritative one
(the last, shared: Redis or DynamoDB). Rules, each chosen so that every instance sees writes:

- Reads: the first tier that has a key wins; a hit below is copied into the tiers above with a
  lifetime no longer than the source entry's remaining one, nor than each upper tier's ``CAP``
  counted from the moment the read started. A read that overlaps a write of this process
  promotes nothing, so it cannot put an older value over that write's copy.
- Writes go bottom-up: the last tier first; a key a tier refuses is not written above it but
  deleted there, so no upper tier keeps a value the shared tier did not accept.
- ``add``, ``incr`` and ``touch`` are decided by the last tier alone; upper copies are
  dropped (a touch never lengthens an upper copy's life past its promotion deadline).
- A namespace epoch (a random token) lives in the last tier. ``clear()`` and
  ``invalidate_all()`` replace it; every instance reads it at most once per
  ``EPOCH_CHECK_INTERVAL`` and empties its in-process tiers when it changed.
- Tagged entries in in-process tiers are checked against the tag versions this process holds,
  refreshed in the same batched read as the epoch, never per hit (see
  :mod:`serverless_cache.tags`).
- With ``INVALIDATION: "push"`` (Redis last), the server's invalidation messages remove L1
  copies within milliseconds (:mod:`serverless_cache.tiers.redis.tracking`); the epoch and
  the CAP stay as the safety net.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from serverless_cache import clock, registry, stampede
from serverless_cache import tags as tagging
from serverless_cache.codec import Codec
from serverless_cache.errors import ConfigurationError
from serverless_cache.metrics import TierStats
from serverless_cache.stampede import STALE_SUFFIX, StampedeSettings
from serverless_cache.tags import Tagged
from serverless_cache.tiers import fallbacks
from serverless_cache.tiers.base import MISSING, Tier
from serverless_cache.tiers.config import TierConfig, refuse_local_limits
from serverless_cache.tiers.layered import epoch, invalidation, promotion
from serverless_cache.tiers.layered.config import (
    LayeredSettings,
    build_tiers,
    config_digest,
    share_codec,
)
from serverless_cache.tiers.layered.epoch import EPOCH_SUFFIX
from serverless_cache.tiers.layered.held_tags import untagged
from serverless_cache.tiers.layered.promotion import store
from serverless_cache.tiers.layered.state import LayeredState
from serverless_cache.tiers.memory import IMMUTABLE_TYPES

R = TypeVar("R")


class LayeredTier(Tier):
    """Tiers composed fastest first; the last one is authoritative and shared."""

    kind = "layered"

    def __init__(
        self,
        config: TierConfig,
        tiers: Sequence[Tier],
        caps: Sequence[float | None],
        settings: LayeredSettings | None = None,
        stampede_settings: StampedeSettings | None = None,
        *,
        digest: str = "",
    ) -> None:
        """The process-wide state is shared by the views of one name, prefix and ``digest``
        (of the configuration)."""
        if len(tiers) < 2 or len(caps) != len(tiers):
            raise ConfigurationError("a layered tier needs at least two tiers and one cap each")
        super().__init__(config, Codec(), stampede_settings)
        self.tiers = list(tiers)
        # Floats, as the ttls they cap: an in-process tier's fast set takes floats only.
        self.caps = [*(None if cap is None else float(cap) for cap in caps[:-1]), None]
        self.settings = settings or LayeredSettings()
        self.first = self.tiers[0]
        self.last = self.tiers[-1]
        self.epoch_key = config.key_prefix + EPOCH_SUFFIX
        # The epoch matters only to in-process tiers; shared ones are emptied by clear() itself.
        self.local_tiers = [t for t in self.tiers[:-1] if t.in_process]
        self.digest = digest
        self.state: LayeredState = registry.get_or_create(
            "layered", (config.name, config.key_prefix, digest), LayeredState
        )
        if not self.local_tiers:
            self.state.next_check = float("inf")
        self.shared_codec = share_codec(self.tiers)
        self.tag_source = self.last
        for tier in self.tiers:  # local copies are checked here, against the versions held
            tier.tag_source = None if tier in self.local_tiers else self.last
        self.tracker: Any = None
        if self.settings.invalidation == "push" and self.local_tiers:
            from serverless_cache.tiers.redis.tracking import Tracker, check_push

            redis_tier = check_push(self.last, config.where)
            self.tracker = registry.get_or_create(
                "tracking",
                (config.name, config.key_prefix, digest),
                lambda: Tracker(redis_tier, config.key_prefix),
            )

    @classmethod
    def from_config(cls, config: TierConfig) -> LayeredTier:
        """OPTIONS: TIERS (fastest first), EPOCH_CHECK_INTERVAL and the stampede options."""
        refuse_local_limits(config, "a layered cache's L1 is bounded in TIERS[0]['OPTIONS']")
        settings, stampede_settings = config.parse(LayeredSettings, StampedeSettings)
        digest = config_digest(config.key_prefix, settings.tiers)
        if not config.name:  # two unnamed caches must not share metrics or state
            config = replace(config, name=f"layered#{digest}")
        tiers, caps = build_tiers(config, settings, digest)
        return cls(config, tiers, caps, settings, stampede_settings, digest=digest)

    @property
    def identity(self) -> Hashable:
        return (self.kind, self.name, self.key_prefix, self.digest)

    @property
    def authority(self) -> Tier:
        return self.last

    @property
    def fail_open(self) -> bool:
        return self.last.fail_open

    def set_codec(self, codec: Codec) -> None:
        super().set_codec(codec)
        for tier in self.tiers:
            tier.set_codec(codec)
        self.shared_codec = share_codec(self.tiers)

    # -- encoding: each tier encodes for itself, once for the tiers of one codec -------------
    def _encode(self, key: str, value: Any) -> Any:
        """An :class:`Encoded` value: the L1 keeps its own pickle of it, never the caller's
        object, and the tiers below store the same bytes; values L1 keeps as they are
        (str, int...) go down as they are."""
        codec = self.shared_codec
        if codec is None or type(value) in IMMUTABLE_TYPES:
            return value
        return codec.encode_once(value)

    def _decode(self, key: str, raw: Any) -> Any:
        return raw

    # -- epoch (serverless_cache.tiers.layered.epoch) ----------------------------------------
    def _check_epoch(self) -> None:
        epoch.check(self)

    def invalidate_all(self) -> bool:
        """Empty every instance's in-process tiers (within the check interval); keep shared ones."""
        for tier in self.local_tiers:
            tier.clear()
        return epoch.bump(self)

    # -- tags and push invalidation ---------------------------------------------------------
    def tag_versions(self, tags: Sequence[str]) -> tagging.Versions:
        versions = super().tag_versions(tags)
        self.state.tags.remember(versions)
        return versions

    def invalidate_tags(self, *tags: str) -> bool:
        """As every tier's; this instance's L1 copies are misses at once, other instances'
        within EPOCH_CHECK_INTERVAL (milliseconds with push invalidation)."""
        return invalidation.invalidate_tags(self, tags)

    def _before_read(self) -> None:
        if self.tracker is not None:
            self.tracker.sync(lambda keys: invalidation.drop(self, keys))
        if clock.monotonic() >= self.state.next_check:
            self._check_epoch()

    # -- reads -----------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        self._before_read()
        value = self.first.get(key, MISSING)  # _first_hit written out: the L1 hit is the hot path
        if type(value) is Tagged:
            value = self.state.tags.current(value)
        if value is not MISSING:
            self.stats.hits += 1
            return value
        value = self._lookup_below(key)[0]
        return default if value is MISSING else value

    def refresh_entry(self, key: str, default: Any) -> tuple[Any, float | None]:
        """An L1 hit cannot tell the shared entry's expiry: an eager refresh is decided when
        the L1 copy has lapsed (within its CAP) and the entry is read from below."""
        value, expires_at = self._lookup(key)
        return (default, None) if value is MISSING else (value, expires_at)

    def _lookup(self, key: str) -> tuple[Any, float | None]:
        """``(value or MISSING, expires_at)``: None for L1 hits, the source's for the others."""
        self._before_read()
        value = self._first_hit(key)
        return (value, None) if value is not MISSING else self._lookup_below(key)

    def _get_without_waiting(self, key: str, default: Any) -> tuple[Any, Callable[[], Any] | None]:
        """An async ``get`` answers an in-process L1 hit in the event loop, unless reading
        must first hear from the network (push invalidation to sync, an epoch check due)."""
        if (
            not self.first.in_process
            or self.tracker is not None
            or clock.monotonic() >= self.state.next_check
        ):
            return super()._get_without_waiting(key, default)
        value = self._first_hit(key)
        if value is not MISSING:
            return value, None

        def rest() -> Any:
            found = self._lookup_below(key)[0]
            return default if found is MISSING else found

        return None, rest

    def _first_hit(self, key: str) -> Any:
        """The L1 value of ``key`` (a hit, counted) or MISSING."""
        value = self.state.tags.current(self.first.get(key, MISSING))
        if value is not MISSING:
            self.stats.hits += 1
        return value

    def _lookup_below(self, key: str) -> tuple[Any, float | None]:
        """``_lookup`` once L1 has missed: the tiers below, the outcome counted."""
        found = promotion.read_below(self, {}, [key])
        if key in found:
            self.stats.hits += 1
            return found[key]
        self.stats.misses += 1
        return MISSING, None

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        """As Tier.get_many; the keys L1 has are served without their expiry (not needed)."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        self._before_read()
        found = self.first.get_many(unique)
        if any(type(value) is Tagged for value in found.values()):
            held = self.state.tags.keep_current({k: (v, None) for k, v in found.items()})
            found = {key: value for key, (value, _) in untagged(held).items()}
        if len(found) < len(unique):
            below = promotion.read_below(self, {}, [key for key in unique if key not in found])
            for key, (value, _) in below.items():
                found[key] = value
        self.stats.hits += len(found)
        self.stats.misses += len(unique) - len(found)
        return found

    def _get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        return {key: value for key, (value, _) in self._get_entries(keys).items()}

    def _get_entries(self, keys: Sequence[str]) -> dict[str, tuple[Any, float | None]]:
        self._before_read()
        found = self.first.get_entries(keys)
        if any(type(value) is Tagged for value, _ in found.values()):
            found = untagged(self.state.tags.keep_current(found))
        missing = [key for key in keys if key not in found]
        return promotion.read_below(self, found, missing) if missing else found

    # -- fail-safe -------------------------------------------------------------------------
    def unreachable(self) -> bool:
        return self.last.unreachable()

    def fallback(self, key: str, default: Any) -> Any:
        """The shared tier's fallback copy while it answers (the freshest, and gone once the
        key was deleted anywhere); the in-process tiers' copies only while it does not."""
        fallback_key = key + STALE_SUFFIX
        if not self.last.unreachable():
            value = self.last.get(fallback_key, MISSING)
            if value is not MISSING or not self.last.unreachable():
                return default if value is MISSING else value
        for tier in self.local_tiers:
            value = self.state.tags.current(tier.get(fallback_key, MISSING))
            if value is not MISSING:
                return value
        return default

    def _keep_fallbacks(self, encoded: Mapping[str, Any], ttl: float | None) -> None:
        """Fallback copies go into every tier bottom-up, not capped: they answer only when
        the factory or the shared tier fails, for at most ``fallback_life`` past the entry."""
        copies, longer = fallbacks.copies_of(encoded), fallbacks.lifetime(self, ttl)
        for tier in reversed(self.tiers):
            failed = fallbacks.store(tier, copies, longer)
            copies = {k: v for k, v in copies.items() if k not in failed}
            if not copies:
                return

    def present(self, key: str) -> bool | None:
        """An L1 copy that is still current, else what the last tier says (None: unreachable)."""
        self._before_read()
        if self.state.tags.keep_current(self.first.get_entries([key])):
            return True
        return self.last.present(key)

    def _ttl(self, key: str) -> float | None:
        return self.last.ttl(key)

    # -- writes ----------------------------------------------------------------------------
    def _capped(self, index: int, ttl: float | None) -> float | None:
        cap = self.caps[index]
        if cap is None:
            return ttl
        return cap if ttl is None else min(ttl, cap)

    def _write_up(self, items: Mapping[str, Any], ttl: float | None, below: int) -> list[str]:
        """Write through the tiers above ``below`` bottom-up; a refused key goes no higher.

        A key a tier refuses is deleted there and in every tier above, so that no tier keeps a
        copy that disagrees with the one below it. Returns the keys the lowest tier refused.
        """
        refused: list[str] = []
        lowest_refused: list[str] = []
        for index in reversed(range(below)):
            tier = self.tiers[index]
            if refused:
                tier.delete_many(self._with_fallbacks(refused))
            accepted = {k: v for k, v in items.items() if k not in refused} if refused else items
            if not accepted:
                continue
            failed = store(tier, accepted, self._capped(index, ttl))
            if failed:
                tier.delete_many(self._with_fallbacks(failed))
                refused = [*refused, *failed]
            if index == below - 1:
                lowest_refused = failed
        return lowest_refused

    def _set_many(self, encoded: Mapping[str, Any], ttl: float | None) -> list[str]:
        self.state.count_write()
        return self._write_up(encoded, ttl, len(self.tiers))

    def _with_fallbacks(self, keys: Sequence[str]) -> Sequence[str]:
        """``keys`` and, when fallback copies are kept, theirs: a copy dropped above goes with
        its fallback, so a fail-safe answer is never older than a write."""
        if self.stampede.fallback_life <= 0:
            return keys
        return [*keys, *(key + STALE_SUFFIX for key in keys)]

    def drop_above(self, below: int, keys: Sequence[str]) -> None:
        """Delete ``keys`` (and their fallback copies) from every tier above ``below``."""
        for tier in reversed(self.tiers[:below]):
            tier.delete_many(self._with_fallbacks(keys))

    def _drop_above_last(self, keys: Sequence[str]) -> None:
        self.drop_above(len(self.tiers) - 1, keys)

    def _add(self, key: str, encoded: Any, ttl: float | None, token: bytes) -> bool:
        self.state.count_write()
        stored = self.last.add(key, encoded, ttl)
        if stored:
            self._write_up({key: encoded}, ttl, len(self.tiers) - 1)
        else:
            self._drop_above_last([key])
        return stored

    def _incr(self, key: str, delta: int, create: bool) -> int | None:
        # Upper copies are dropped, not updated: the new expiry is known only to the last tier.
        self.state.count_write()
        try:
            return self.last.incr(key, delta, create=create)
        except KeyError:
            return None
        finally:
            self._drop_above_last([key])

    def _delete_many(self, keys: Sequence[str]) -> int:
        """How many were present in the last tier (-1 if it could not be asked)."""
        self.state.count_write()
        present = self.last.remove(keys)
        self._drop_above_last(keys)
        return present

    def _touch(self, key: str, ttl: float | None) -> bool:
        self.state.count_write()
        touched = self.last.touch(key, ttl)
        self._drop_above_last([key])
        return touched

    def _clear(self) -> bool:
        self.state.count_write()
        self.state.tags.clear()
        cleared = all([tier.clear() for tier in reversed(self.tiers)])
        return epoch.bump(self) and cleared

    def close(self) -> None:
        for tier in self.tiers:
            tier.close()

    def warm(self) -> None:
        """Warm every tier (connections, clients), open the tracking connection (push), and
        read the epoch once."""
        for tier in self.tiers:
            tier.warm()
        if self.tracker is not None:
            self.tracker.sync(lambda keys: invalidation.drop(self, keys))
        self._check_epoch()

    def memoize(
        self,
        ttl: float | None,
        *,
        make_key: Callable[[str], str] = str,
        tags: Sequence[str] | None = None,
    ) -> Callable[[Callable[..., R]], Callable[..., R]]:
        """Decorator caching a plain function's results, computed once at a time."""
        return stampede.memoize(self, ttl, make_key=make_key, tags=tags)

    def stats_by_tier(self) -> dict[str, TierStats]:
        """Each tier's counters (hits, misses, promotions...), labelled ``"1:memory"`` etc."""
        return {f"{i + 1}:{tier.kind}": tier.stats for i, tier in enumerate(self.tiers)}
