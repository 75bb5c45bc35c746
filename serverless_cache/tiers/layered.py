"""Layered tier: an in-process L1 in front of shared tiers, with bounded staleness.

Tiers are ordered from the fastest (usually the execution context) to the authoritative one
(the last, usually Redis or DynamoDB). Rules, each chosen so that every instance sees writes:

- Reads: the first tier that has a key wins; a hit below is copied into the tiers above with a
  lifetime no longer than the source entry's remaining one, nor than each upper tier's ``CAP``
  counted from the moment the read started (so a copy of a value read just before another
  instance's write still expires within the cap of that write). A read that overlaps a write
  of this process promotes nothing, so it cannot put an older value over that write's copy.
- Writes go bottom-up: the last tier first; a key a tier refuses is not written above it but
  deleted there, so no upper tier keeps a value the shared tier did not accept.
- ``add`` and ``incr`` are decided by the last tier alone; upper copies follow its answer.
- A namespace epoch (a random token) lives in the last tier. ``clear()`` and
  ``invalidate_all()`` replace it; every instance reads it at most once per
  ``EPOCH_CHECK_INTERVAL`` and empties its in-process tiers when it changed.
- ``get_or_set`` runs one computation per key per process, and with ``LEASE`` one per key
  across instances through a short lease taken with ``add`` in the last tier.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from serverless_cache import registry
from serverless_cache.codec import Codec, CodecSettings
from serverless_cache.errors import ConfigurationError
from serverless_cache.metrics import TierStats, stats_for
from serverless_cache.options import parse_options, require_number
from serverless_cache.tiers.base import MISSING, Tier, logger
from serverless_cache.tiers.memory import MemorySettings, MemoryTier, memory_store

R = TypeVar("R")

#: Import paths of the tiers that TIER may name; imported only when used (cold start).
TIER_CLASSES = {
    "memory": "serverless_cache.tiers.memory.MemoryTier",
    "redis": "serverless_cache.tiers.redis.RedisTier",
    "dynamodb": "serverless_cache.tiers.dynamodb.DynamoDBTier",
}
#: Default CAP of an in-process upper tier: how stale an instance may be after a remote write.
DEFAULT_LOCAL_CAP = 10.0
#: The default CAP of a shared tier above the last one: a copy another instance's write raced
#: (or that a refused delete left behind) must not live there forever.
DEFAULT_SHARED_CAP = 60.0
#: Suffixes of the bookkeeping keys; a control character keeps them apart from user keys.
EPOCH_SUFFIX = "\x1flayered-epoch"
LEASE_SUFFIX = "\x1flease"
STALE_SUFFIX = "\x1fstale"
#: Taken off a promoted copy's lifetime: the upper tier starts counting a moment after we
#: computed it, and a network tier's expiry is known only to within a round trip.
PROMOTION_MARGIN = 0.01
#: Key of this process's configuration digests: a digest says nothing about the secrets hashed.
_DIGEST_KEY = os.urandom(16)


@dataclass(frozen=True)
class TierSpec:
    """One entry of TIERS: which tier, where, its own OPTIONS, and its CAP in seconds."""

    tier: str = ""
    location: str = field(default="", repr=False)
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    cap: float | None = None

    def __post_init__(self) -> None:
        if not self.tier or not isinstance(self.tier, str):
            raise ConfigurationError(
                "each TIERS entry needs TIER: 'memory', 'redis', 'dynamodb' or the import "
                "path of a Tier class with a from_options classmethod"
            )
        if not isinstance(self.options, Mapping):
            raise ConfigurationError(
                f"option OPTIONS of a TIERS entry must be a dict, got {self.options!r}"
            )
        require_number("cap", self.cap, optional=True)

    def __repr__(self) -> str:
        # OPTIONS may hold PASSWORD, SIGNING_KEY or AWS keys, and a LOCATION URL a password.
        return (
            f"TierSpec(tier={self.tier!r}, location={redacted_location(self.location)!r}, "
            f"options=<{len(self.options)} hidden>, cap={self.cap!r})"
        )


@dataclass(frozen=True)
class LayeredSettings:
    """OPTIONS of a layered cache (besides TIERS, which :func:`tier_specs` reads)."""

    tiers: Sequence[Mapping[str, Any]] = field(default=(), repr=False)  # holds secrets
    epoch_check_interval: float = 1.0
    lease: bool = False
    lease_ttl: float = 10.0
    lease_wait: float = 10.0
    lease_poll_interval: float = 0.05
    stale_ttl: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.lease, bool):
            raise ConfigurationError(f"option LEASE must be True or False, got {self.lease!r}")
        require_number("epoch_check_interval", self.epoch_check_interval)
        require_number("lease_ttl", self.lease_ttl, minimum=0.001)
        require_number("lease_wait", self.lease_wait)
        require_number("lease_poll_interval", self.lease_poll_interval, minimum=0.001)
        require_number("stale_ttl", self.stale_ttl)


def redacted_location(location: Any) -> Any:
    """``location`` with the credentials of any URL in it removed, for reprs."""
    from serverless_cache.tiers.redis import redact  # a pure function; redis is not imported

    if isinstance(location, str):
        return ",".join(redact(part) if "://" in part else part for part in location.split(","))
    if isinstance(location, list | tuple):
        return [redacted_location(str(part)) for part in location]
    return location


def config_digest(prefix: str, tiers: Any) -> str:
    """A short digest of the key prefix and TIERS, equal for equal configurations.

    It keeps two caches of one name but different prefixes or tiers from sharing their
    process-wide state and default L1 store (each would keep emptying the other's L1).
    """
    text = repr((prefix, canonical(tiers)))
    return hashlib.blake2b(text.encode(), digest_size=6, key=_DIGEST_KEY).hexdigest()


def canonical(value: Any) -> Any:
    """``value`` with mappings as sorted tuples of lower-cased keys, so equal configs match."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k).lower(), canonical(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(canonical(item) for item in value)
    return repr(value)


def tier_class(name: str) -> type[Tier]:
    """The Tier class named by TIER, imported now (so redis/boto3 load only when used)."""
    path = TIER_CLASSES.get(name.lower(), name)
    module_name, _, class_name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name) if module_name else None
    except (ImportError, AttributeError):
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, Tier) and hasattr(cls, "from_options")):
        raise ConfigurationError(
            f"TIER {name!r} is not one of {', '.join(TIER_CLASSES)} nor the import path of a "
            "Tier class with a from_options classmethod (is its extra installed?)"
        )
    return cls


def build_tier(spec: TierSpec, name: str, prefix: str, where: str, *, store: str = "") -> Tier:
    """Build one tier through its own ``from_options`` constructor.

    A memory tier without LOCATION uses the store ``store`` (default: ``name``) but keeps
    ``name`` for its metrics.
    """
    cls = tier_class(spec.tier)
    from_options: Callable[..., Tier] = cls.from_options  # type: ignore[attr-defined]
    options = dict(spec.options)
    if cls.kind == "memory":
        if spec.location or not store or not issubclass(cls, MemoryTier):
            return from_options(spec.location or name, options, where=where)
        memory, codec = parse_options(options, MemorySettings, CodecSettings, where=where)
        return cls(memory_store(store, memory), Codec(codec), stats_for(name, cls.kind))
    if cls.kind == "dynamodb":  # its LOCATION is the table name, as for the Django backend
        if spec.location:
            options = {"table_name": spec.location, **options}
        return from_options(options, key_prefix=prefix, where=where)
    return from_options(spec.location, options, where=where, name=name, prefix=prefix)


class _Flight:
    """One in-process computation of a key that other threads wait for."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.done = False
        self.value: Any = MISSING
        self.stale: Any = MISSING
        self.error: BaseException | None = None

    def publish_stale(self, value: Any) -> None:
        with self.condition:
            self.stale = value
            self.condition.notify_all()

    def finish(self, value: Any, error: BaseException | None) -> None:
        with self.condition:
            self.value, self.error, self.done = value, error, True
            self.condition.notify_all()

    def wait(self) -> Any:
        """The computed value, or the previous one as soon as the leader found it."""
        with self.condition:
            self.condition.wait_for(lambda: self.done or self.stale is not MISSING)
            if not self.done:
                return self.stale
            if self.error is not None:
                raise self.error
            return self.value


class LayeredState:
    """Process-wide state of one layered cache: the epoch seen last, the computations, and a
    count of this process's writes (a read that saw it change promotes nothing)."""

    def __init__(self) -> None:
        self.epoch: Any = MISSING
        self.next_check = 0.0
        self.check_lock = threading.Lock()
        self.flights: dict[str, _Flight] = {}
        self.flights_lock = threading.Lock()
        self.writes = 0
        self.writes_lock = threading.Lock()

    def count_write(self) -> None:
        """Called before a write touches any tier, so a read overlapping it sees the change."""
        with self.writes_lock:  # a lost increment could hide a write from a reader
            self.writes += 1


class LayeredTier(Tier):
    """Tiers composed fastest first; the last one is authoritative and shared."""

    kind = "layered"

    def __init__(
        self,
        tiers: Sequence[Tier],
        caps: Sequence[float | None],
        settings: LayeredSettings,
        *,
        name: str = "default",
        prefix: str = "",
        config: str = "",
    ) -> None:
        """``name`` labels the metrics; the process-wide state is shared by the tiers of one
        ``name``, ``prefix`` and ``config`` (a digest of the configuration)."""
        if len(tiers) < 2 or len(caps) != len(tiers):
            raise ConfigurationError("a layered tier needs at least two tiers and one cap each")
        super().__init__(tiers[-1].codec, stats_for(name, self.kind))
        self.tiers = list(tiers)
        self.caps = list(caps)
        self.caps[-1] = None
        self.settings = settings
        self.name = name
        self.first = self.tiers[0]
        self.last = self.tiers[-1]
        self.epoch_key = prefix + EPOCH_SUFFIX
        # The epoch matters only to in-process tiers; shared ones are emptied by clear() itself.
        self.local_tiers = [t for t in self.tiers[:-1] if not t.blocking]
        self.state: LayeredState = registry.get_or_create(
            "layered", (name, prefix, config), LayeredState
        )
        if not self.local_tiers:
            self.state.next_check = float("inf")

    @classmethod
    def from_options(
        cls,
        name: str,
        options: Mapping[str, Any] | None,
        *,
        prefix: str = "",
        where: str = "OPTIONS",
        ignore: frozenset[str] = frozenset(),
    ) -> LayeredTier:
        """Build from OPTIONS: TIERS (fastest first) and the layered settings."""
        (settings,) = parse_options(options, LayeredSettings, where=where, ignore=ignore)
        if not isinstance(settings.tiers, list | tuple) or len(settings.tiers) < 2:
            raise ConfigurationError(
                f"{where}: option TIERS must be a list of at least two tiers, fastest first, e.g. "
                "[{'TIER': 'memory', 'CAP': 10}, {'TIER': 'redis', 'LOCATION': 'redis://...'}]"
            )
        config = config_digest(prefix, settings.tiers)
        tiers: list[Tier] = []
        caps: list[float | None] = []
        for index, raw in enumerate(settings.tiers):
            at = f"{where}['TIERS'][{index}]"
            if not isinstance(raw, Mapping):
                raise ConfigurationError(f"{at} must be a dict with TIER, LOCATION, OPTIONS, CAP")
            (spec,) = parse_options(raw, TierSpec, where=at)
            tier = build_tier(spec, name, prefix, f"{at}['OPTIONS']", store=f"{name}#{config}")
            tiers.append(tier)
            cap = spec.cap
            if cap is None and index < len(settings.tiers) - 1:
                cap = DEFAULT_SHARED_CAP if tier.blocking else DEFAULT_LOCAL_CAP
            caps.append(cap)
        return cls(tiers, caps, settings, name=name, prefix=prefix, config=config)

    # -- epoch -----------------------------------------------------------------------------
    def _check_epoch(self) -> None:
        """Read the shared epoch (one thread at a time) and empty local tiers if it moved."""
        state = self.state
        if not state.check_lock.acquire(blocking=False):
            return
        try:
            state.next_check = time.monotonic() + self.settings.epoch_check_interval
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
        token = uuid.uuid4().hex
        if self.last.add(self.epoch_key, token, None):
            return token
        return self.last.get(self.epoch_key, MISSING)

    def invalidate_all(self) -> bool:
        """Empty every instance's in-process tiers (within the check interval); keep shared ones."""
        for tier in self.local_tiers:
            tier.clear()
        return self._bump_epoch()

    def _bump_epoch(self) -> bool:
        token = uuid.uuid4().hex
        stored = self.last.set(self.epoch_key, token, None)
        if stored:
            self.state.epoch = token
        return stored

    # -- reads -----------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        if time.monotonic() >= self.state.next_check:
            self._check_epoch()
        value = self.first.get(key, MISSING)
        if value is not MISSING:
            self.stats.hits += 1
            return value
        found = self._read_below({}, [key])
        return found[key][0] if key in found else default

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        return {key: value for key, (value, _) in self.get_entries(keys).items()}

    def get_entries(self, keys: Sequence[str]) -> dict[str, tuple[Any, float | None]]:
        if time.monotonic() >= self.state.next_check:
            self._check_epoch()
        found = self.first.get_entries(keys)
        self.stats.hits += len(found)
        missing = [key for key in keys if key not in found]
        return self._read_below(found, missing) if missing else found

    def _read_below(
        self, found: dict[str, tuple[Any, float | None]], missing: list[str]
    ) -> dict[str, tuple[Any, float | None]]:
        """Ask each lower tier for the keys still missing, promoting what it has."""
        started = time.time()
        writes = self.state.writes
        for index in range(1, len(self.tiers)):
            entries = self.tiers[index].get_entries(missing)
            if entries:
                self._promote(index, entries, started, writes)
                found.update(entries)
                self.stats.hits += len(entries)
                missing = [key for key in missing if key not in entries]
            if not missing:
                break
        self.stats.misses += len(missing)
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
        now = time.time()
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

    def ttl(self, key: str) -> float | None:
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

    def set_many(self, items: Mapping[str, Any], ttl: float | None) -> list[str]:
        self.state.count_write()
        return self._write_up(items, ttl, len(self.tiers))

    def set(self, key: str, value: Any, ttl: float | None) -> bool:
        self.state.count_write()
        return not self._write_up({key: value}, ttl, len(self.tiers))

    def _drop_above(self, below: int, keys: Sequence[str]) -> None:
        for tier in reversed(self.tiers[:below]):
            tier.delete_many(keys)

    def _drop_above_last(self, keys: Sequence[str]) -> None:
        self._drop_above(len(self.tiers) - 1, keys)

    def add(self, key: str, value: Any, ttl: float | None) -> bool:
        self.state.count_write()
        stored = self.last.add(key, value, ttl)
        if stored:
            self._write_up({key: value}, ttl, len(self.tiers) - 1)
        else:
            self._drop_above_last([key])
        return stored

    def incr(self, key: str, delta: int = 1, *, create: bool = False) -> int:
        # Upper copies are dropped, not updated: the new expiry is known only to the last tier.
        self.state.count_write()
        try:
            return self.last.incr(key, delta, create=create)
        finally:
            self._drop_above_last([key])

    def delete(self, key: str) -> bool:
        self.state.count_write()
        present = self.last.delete(key)
        if self.settings.stale_ttl > 0:  # else get_or_set would still serve the deleted value
            self.last.delete(key + STALE_SUFFIX)
        self._drop_above_last([key])
        return present

    def delete_many(self, keys: Sequence[str]) -> bool:
        self.state.count_write()
        below = (
            [*keys, *(key + STALE_SUFFIX for key in keys)] if self.settings.stale_ttl > 0 else keys
        )
        deleted = self.last.delete_many(below)
        return all([tier.delete_many(keys) for tier in reversed(self.tiers[:-1])]) and deleted

    def touch(self, key: str, ttl: float | None) -> bool:
        self.state.count_write()
        touched = self.last.touch(key, ttl)
        for index in reversed(range(len(self.tiers) - 1)):
            tier = self.tiers[index]
            if touched:
                tier.touch(key, self._capped(index, ttl))
            else:
                tier.delete(key)
        return touched

    def clear(self) -> bool:
        self.state.count_write()
        cleared = all([tier.clear() for tier in reversed(self.tiers)])
        return self._bump_epoch() and cleared

    def close(self) -> None:
        for tier in self.tiers:
            tier.close()

    # -- stampede protection ---------------------------------------------------------------
    def get_or_set(self, key: str, compute: Callable[[], Any], ttl: float | None) -> Any:
        """The cached value of ``key``, or ``compute()`` stored, computed once at a time.

        Threads of this process wait for one computation; with LEASE, instances wait for the
        one holding the lease in the last tier (at most LEASE_WAIT, and a crashed holder's lease
        lapses after LEASE_TTL). Waiters get the previous value at once when STALE_TTL kept it.
        """
        value = self.get(key, MISSING)
        if value is not MISSING:
            return value
        state = self.state
        with state.flights_lock:
            flight = state.flights.get(key)
            leader = flight is None
            if flight is None:
                flight = state.flights[key] = _Flight()
        if not leader:
            return flight.wait()
        try:
            value = self._fill(key, compute, ttl, flight)
        except BaseException as exc:
            flight.finish(MISSING, exc)
            raise
        finally:
            with state.flights_lock:
                state.flights.pop(key, None)
        flight.finish(value, None)
        return value

    def _fill(
        self, key: str, compute: Callable[[], Any], ttl: float | None, flight: _Flight
    ) -> Any:
        # A leader that finished since our read wrote its value here too: no round trip needed.
        value = MISSING if self.first.blocking else self.first.get(key, MISSING)
        if value is not MISSING:
            return value
        stale = MISSING
        if self.settings.stale_ttl > 0:
            stale = self.last.get(key + STALE_SUFFIX, MISSING)
            if stale is not MISSING:
                flight.publish_stale(stale)
        if not self.settings.lease:
            return self._compute(key, compute, ttl)
        lease_key = key + LEASE_SUFFIX
        deadline = time.monotonic() + self.settings.lease_wait
        while True:
            taken_at = time.monotonic()
            token = self._take_lease(lease_key)
            if token is not None:
                try:
                    value = self.get(key, MISSING)  # the previous holder may have just finished
                    return value if value is not MISSING else self._compute(key, compute, ttl)
                finally:
                    if token:
                        self._release_lease(lease_key, token, taken_at)
            if stale is not MISSING:
                return stale
            if time.monotonic() >= deadline:
                logger.info("serverless_cache: lease on %r still held; computing anyway", key)
                return self._compute(key, compute, ttl)
            time.sleep(self.settings.lease_poll_interval)
            value = self.get(key, MISSING)
            if value is not MISSING:
                return value

    def _take_lease(self, lease_key: str) -> str | None:
        """A token if this caller holds the lease now, "" if the store is unreachable, None if
        another caller holds it."""
        for _ in range(2):
            token = uuid.uuid4().hex
            if self.last.add(lease_key, token, self.settings.lease_ttl):
                return token
            if self.last.get(lease_key, MISSING) is not MISSING:
                return None
        return ""  # add refused twice yet no lease is visible: the shared tier is unreachable

    def _release_lease(self, lease_key: str, token: str, taken_at: float) -> None:
        """Delete the lease if it is still ours: surely so within half its lifetime (counted
        from before we asked for it), else only if the store still holds our token."""
        if time.monotonic() - taken_at < self.settings.lease_ttl / 2 or (
            self.last.get(lease_key, MISSING) == token
        ):
            self.last.delete(lease_key)

    def _compute(self, key: str, compute: Callable[[], Any], ttl: float | None) -> Any:
        value = compute()
        self.set(key, value, ttl)
        if self.settings.stale_ttl > 0 and ttl is not None and ttl > 0:
            self.last.set(key + STALE_SUFFIX, value, ttl + self.settings.stale_ttl)
        return value

    def memoize(
        self, ttl: float | None, *, make_key: Callable[[str], str] = str
    ) -> Callable[[Callable[..., R]], Callable[..., R]]:
        """Decorator caching a plain function's results through :meth:`get_or_set`.

        The key is the function's qualified name and a digest of ``repr`` of its arguments,
        so arguments must have a stable repr (numbers, strings, tuples...).
        """

        def decorator(function: Callable[..., R]) -> Callable[..., R]:
            name = f"{function.__module__}.{function.__qualname__}"

            @functools.wraps(function)
            def wrapper(*args: Any, **kwargs: Any) -> R:
                arguments = repr((args, sorted(kwargs.items()))).encode()
                digest = hashlib.blake2b(arguments, digest_size=16).hexdigest()
                key = make_key(f"memoize:{name}:{digest}")
                return self.get_or_set(key, lambda: function(*args, **kwargs), ttl)  # type: ignore[no-any-return]

            return wrapper

        return decorator

    def stats_by_tier(self) -> dict[str, TierStats]:
        """Each tier's counters (hits, misses, promotions...), labelled ``"1:memory"`` etc."""
        return {f"{i + 1}:{tier.kind}": tier.stats for i, tier in enumerate(self.tiers)}
