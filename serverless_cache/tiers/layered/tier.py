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
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from serverless_cache import clock, registry, stampede
from serverless_cache.codec import Codec
from serverless_cache.errors import ConfigurationError
from serverless_cache.metrics import TierStats
from serverless_cache.stampede import StampedeSettings
from serverless_cache.tiers.base import MISSING, Tier
from serverless_cache.tiers.config import TierConfig, refuse_local_limits
from serverless_cache.tiers.layered.config import LayeredSettings, build_tiers, config_digest

R = TypeVar("R")
#: Suffix of the epoch key; a control character keeps it apart from user keys.
EPOCH_SUFFIX = "\x1flayered-epoch"
#: Taken off a promoted copy's lifetime: the upper tier starts counting a moment after we
#: computed it, and a network tier's expiry is known only to within a round trip.
PROMOTION_MARGIN = 0.01


def new_epoch() -> int:
    """A random epoch token. An integer, because every tier stores integers natively, outside
    the codec: instances with another SIGNING_KEY or SERIALIZER (a rotation) still read it."""
    return secrets.randbits(62)


class LayeredState:
    """Process-wide state of one layered cache: the epoch seen last, and a count of this
    process's writes (a read that saw it change promotes nothing)."""

    def __init__(self) -> None:
        self.epoch: Any = MISSING
        self.next_check = 0.0
        self.check_lock = threading.Lock()
        self.writes = 0
        self.writes_lock = threading.Lock()

    def restore(self) -> None:
        """After a SnapStart restore: read the epoch again before serving from L1."""
        self.next_check = 0.0

    def count_write(self) -> None:
        """Called before a write touches any tier, so a read overlapping it sees the change."""
        with self.writes_lock:  # a lost increment could hide a write from a reader
            self.writes += 1


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
        self.caps = [*caps[:-1], None]
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

    # -- encoding: each tier encodes for itself ---------------------------------------------
    def _encode(self, key: str, value: Any) -> Any:
        return value

    def _decode(self, key: str, raw: Any) -> Any:
        return raw

    # -- epoch -----------------------------------------------------------------------------
    def _check_epoch(self) -> None:
        """Read the shared epoch (one thread at a time) and empty local tiers if it moved."""
        state = self.state
        if not state.check_lock.acquire(blocking=False):
            return
        try:
            state.next_check = clock.monotonic() + self.settings.epoch_check_interval
            token = self.last.get(self.epoch_key, MISSING)
            if token is MISSING:
                token = self._start_epoch()
                if token is MISSING:  # the shared tier is unreachable: keep serving L1
                    return
            if token != state.epoch:
                for tier in self.local_tiers:
                    tier.clear()
                state.epoch = token
        finally:
            state.check_lock.release()

    def _start_epoch(self) -> Any:
        """Create the epoch if absent; MISSING when the shared tier cannot be reached."""
        token = new_epoch()
        if self.last.add(self.epoch_key, token, None):
            return token
        return self.last.get(self.epoch_key, MISSING)

    def invalidate_all(self) -> bool:
        """Empty every instance's in-process tiers (within the check interval); keep shared ones."""
        for tier in self.local_tiers:
            tier.clear()
        return self._bump_epoch()

    def _bump_epoch(self) -> bool:
        token = new_epoch()
        stored = self.last.set(self.epoch_key, token, None)
        if stored:
            self.state.epoch = token
        return stored

    # -- reads -----------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        if clock.monotonic() >= self.state.next_check:
            self._check_epoch()
        value = self.first.get(key, MISSING)
        if value is not MISSING:
            self.stats.hits += 1
            return value
        found = self._read_below({}, [key])
        if key in found:
            self.stats.hits += 1
            return found[key][0]
        self.stats.misses += 1
        return default

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        """As Tier.get_many; the keys L1 has are served without their expiry (not needed)."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        if clock.monotonic() >= self.state.next_check:
            self._check_epoch()
        found = self.first.get_many(unique)
        if len(found) < len(unique):
            below = self._read_below({}, [key for key in unique if key not in found])
            for key, (value, _) in below.items():
                found[key] = value
        self.stats.hits += len(found)
        self.stats.misses += len(unique) - len(found)
        return found

    def _get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        return {key: value for key, (value, _) in self._get_entries(keys).items()}

    def _get_entries(self, keys: Sequence[str]) -> dict[str, tuple[Any, float | None]]:
        if clock.monotonic() >= self.state.next_check:
            self._check_epoch()
        found = self.first.get_entries(keys)
        missing = [key for key in keys if key not in found]
        return self._read_below(found, missing) if missing else found

    def _read_below(
        self, found: dict[str, tuple[Any, float | None]], missing: list[str]
    ) -> dict[str, tuple[Any, float | None]]:
        """Ask each lower tier for the keys still missing, promoting what it has."""
        started = clock.time()
        writes = self.state.writes
        for index in range(1, len(self.tiers)):
            entries = self.tiers[index].get_entries(missing)
            if entries:
                self._promote(index, entries, started, writes)
                found.update(entries)
                missing = [key for key in missing if key not in entries]
            if not missing:
                break
        return found

    def _promote(
        self,
        source: int,
        entries: Mapping[str, tuple[Any, float | None]],
        started: float,
        writes: int,
    ) -> None:
        """Copy entries found in tier ``source`` into every tier above it, capped.

        Nothing is copied when this process wrote since ``writes`` was read: the entries may
        be older than that write's copies above. A write that slips in while copying makes
        us drop what we copied (a later miss, never an older value served).
        """
        if self.state.writes != writes:
            return
        now = clock.time()
        for index in range(source):
            cap = self.caps[index]
            by_ttl: dict[float | None, dict[str, Any]] = {}
            for key, (value, expires_at) in entries.items():
                if cap is not None:
                    expires_at = (
                        started + cap if expires_at is None else min(expires_at, started + cap)
                    )
                ttl = None if expires_at is None else expires_at - now - PROMOTION_MARGIN
                if ttl is None or ttl > 0:
                    by_ttl.setdefault(ttl, {})[key] = value
            tier = self.tiers[index]
            for ttl, items in by_ttl.items():
                failed = tier.set_many(items, ttl)
                tier.stats.promotions += len(items) - len(failed)
        if self.state.writes != writes:
            self._drop_above(source, list(entries))

    def _has(self, key: str) -> bool | None:
        if self.first.has(key):
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
                tier.delete_many(refused)
            accepted = {k: v for k, v in items.items() if k not in refused} if refused else items
            if not accepted:
                continue
            failed = tier.set_many(accepted, self._capped(index, ttl))
            if failed:
                tier.delete_many(failed)
                refused = [*refused, *failed]
            if index == below - 1:
                lowest_refused = failed
        return lowest_refused

    def _set_many(self, encoded: Mapping[str, Any], ttl: float | None) -> list[str]:
        self.state.count_write()
        return self._write_up(encoded, ttl, len(self.tiers))

    def _drop_above(self, below: int, keys: Sequence[str]) -> None:
        for tier in reversed(self.tiers[:below]):
            tier.delete_many(keys)

    def _drop_above_last(self, keys: Sequence[str]) -> None:
        self._drop_above(len(self.tiers) - 1, keys)

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
        cleared = all([tier.clear() for tier in reversed(self.tiers)])
        return self._bump_epoch() and cleared

    def close(self) -> None:
        for tier in self.tiers:
            tier.close()

    def warm(self) -> None:
        """Warm every tier (connections, clients), and read the epoch once."""
        for tier in self.tiers:
            tier.warm()
        self._check_epoch()

    def memoize(
        self, ttl: float | None, *, make_key: Callable[[str], str] = str
    ) -> Callable[[Callable[..., R]], Callable[..., R]]:
        """Decorator caching a plain function's results, computed once at a time."""
        return stampede.memoize(self, ttl, make_key=make_key)

    def stats_by_tier(self) -> dict[str, TierStats]:
        """Each tier's counters (hits, misses, promotions...), labelled ``"1:memory"`` etc."""
        return {f"{i + 1}:{tier.kind}": tier.stats for i, tier in enumerate(self.tiers)}
