"""Stampede protection and fail-safe for every tier's ``get_or_set``: one computation per key
at a time, and an answer even when the factory or the store fails.

- **Single flight per process**: threads missing the same key wait for one computation.
- **Lease across instances** (``LEASE``): the computing instance holds a short lease taken with
  ``add`` in the authoritative tier; others poll for the value (at most ``LEASE_WAIT``), and a
  crashed holder's lease lapses after ``LEASE_TTL``.
- **Fallback copies** (``STALE_TTL``, ``FAIL_SAFE_MAX_AGE``): every stored entry gets a copy
  kept that much longer (``key + STALE_SUFFIX``). With ``STALE_TTL`` it is handed to waiters at
  once while the leader computes; with ``FAIL_SAFE_MAX_AGE`` it answers when the factory
  raises, or when the store is unreachable (a layered cache keeps one in its L1).
- **Factory timeouts** (``FACTORY_SOFT_TIMEOUT``, ``FACTORY_HARD_TIMEOUT``): see
  :mod:`serverless_cache.factory`.
- **Eager refresh** (``EAGER_REFRESH``, a fraction of the ttl): past it, one caller holding the
  lease recomputes the entry while everyone else keeps the current value, so a hot key never
  expires under load. **Jitter** (``JITTER``) shortens each computed ttl by up to that fraction.

The computed value is stored with ``add`` and the winner read back, as Django's
``get_or_set`` does, so concurrent instances agree on one value.
"""

from __future__ import annotations

import functools
import hashlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from serverless_cache import clock, factory, registry
from serverless_cache import tags as tagging
from serverless_cache.errors import ConfigurationError, FactoryTimeoutError
from serverless_cache.options import require_number
from serverless_cache.tags import Tagged

if TYPE_CHECKING:
    from serverless_cache.tiers.base import Tier

R = TypeVar("R")
#: What starts the suffix of every bookkeeping key (leases, fallback copies, a layered
#: cache's epoch): a control character keeps them apart from user keys.
BOOKKEEPING = "\x1f"
LEASE_SUFFIX = BOOKKEEPING + "lease"
STALE_SUFFIX = BOOKKEEPING + "stale"


@dataclass(frozen=True)
class StampedeSettings:
    """OPTIONS that every tier accepts for its ``get_or_set``."""

    lease: bool = False
    lease_ttl: float = 10.0
    lease_wait: float = 10.0
    lease_poll_interval: float = 0.05
    stale_ttl: float = 0.0
    fail_safe_max_age: float = 0.0
    factory_soft_timeout: float | None = None
    factory_hard_timeout: float | None = None
    eager_refresh: float | None = None
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.lease, bool):
            raise ConfigurationError(f"option LEASE must be True or False, got {self.lease!r}")
        require_number("lease_ttl", self.lease_ttl, minimum=0.001)
        require_number("lease_wait", self.lease_wait)
        require_number("lease_poll_interval", self.lease_poll_interval, minimum=0.001)
        require_number("stale_ttl", self.stale_ttl)
        require_number("fail_safe_max_age", self.fail_safe_max_age)
        soft, hard = self.factory_soft_timeout, self.factory_hard_timeout
        require_number("factory_soft_timeout", soft, minimum=0.001, optional=True)
        require_number("factory_hard_timeout", hard, minimum=0.001, optional=True)
        if soft is not None and hard is not None and soft >= hard:
            raise ConfigurationError(
                f"option FACTORY_SOFT_TIMEOUT ({soft}) must be shorter than "
                f"FACTORY_HARD_TIMEOUT ({hard}): the soft one answers with the fallback first"
            )
        _require_fraction("eager_refresh", self.eager_refresh, "0.8 refreshes once 80 % passed")
        _require_fraction("jitter", self.jitter, "0.1 shortens each by up to 10 %")

    @property
    def fallback_life(self) -> float:
        """How much longer than its entry a fallback copy is kept (0: none are kept)."""
        return max(self.stale_ttl, self.fail_safe_max_age)


def _require_fraction(name: str, value: Any, example: str) -> None:
    """None, or a number from 0 (excluded for EAGER_REFRESH) up to 1 (excluded)."""
    if value is None or (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (0 < value < 1 or (value == 0 and name == "jitter"))
    ):
        return
    lowest = "from 0" if name == "jitter" else "above 0"
    raise ConfigurationError(
        f"option {name.upper()} must be a fraction of the timeout {lowest} and below 1, or "
        f"None to turn it off ({example}), got {value!r}"
    )


class _Flight:
    """One in-process computation of a key that other threads wait for."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.done = False
        self.value: Any = None
        self.stale: Any = _NONE
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
            self.condition.wait_for(lambda: self.done or self.stale is not _NONE)
            if not self.done:
                return self.stale
            if self.error is not None:
                raise self.error
            return self.value


_NONE: Any = object()


class Flights:
    """The computations in progress for one cache, by key (process-wide, in the registry)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_key: dict[str, _Flight] = {}


def get_or_set(
    tier: Tier,
    key: str,
    compute: Callable[[], Any],
    ttl: float | None,
    *,
    tags: Sequence[str] | None = None,
) -> Any:
    """The cached value of ``key``, or ``compute()`` stored, computed once at a time; with
    ``tags``, stored under the versions they had before ``compute`` started, so an
    invalidation during it is not lost."""
    checked = tagging.check_tags(tags)
    if not checked:
        return _get_or_set(tier, key, compute, ttl)

    def tagged_compute() -> Tagged:
        versions = tier.tag_versions(checked)  # before compute: a later invalidation wins
        return Tagged(compute(), versions)

    result = _get_or_set(tier, key, tagged_compute, ttl)
    return result.value if type(result) is Tagged else result


def _get_or_set(tier: Tier, key: str, compute: Callable[[], Any], ttl: float | None) -> Any:
    fraction = tier.stampede.eager_refresh
    if fraction is None:
        value = tier.get(key, _NONE)
    else:
        value, expires_at = tier.refresh_entry(key, _NONE)
        if value is not _NONE and _refresh_due(fraction, expires_at, ttl):
            return _refresh_early(tier, key, compute, ttl, value)
    if value is not _NONE:
        return value
    flights: Flights = registry.get_or_create("flights", tier.identity, Flights)
    with flights.lock:
        flight = flights.by_key.get(key)
        leader = flight is None
        if flight is None:
            flight = flights.by_key[key] = _Flight()
    if not leader:
        return flight.wait()
    try:
        value = _fill(tier, key, compute, ttl, flight)
    except BaseException as exc:
        flight.finish(None, exc)
        raise
    finally:
        with flights.lock:
            flights.by_key.pop(key, None)
    flight.finish(value, None)
    return value


def _fill(
    tier: Tier, key: str, compute: Callable[[], Any], ttl: float | None, flight: _Flight
) -> Any:
    settings = tier.stampede
    fallback = _NONE
    if settings.fallback_life > 0:
        fallback = tier.fallback(key, _NONE)
        if fallback is not _NONE:
            if settings.stale_ttl > 0:
                flight.publish_stale(fallback)
            if settings.fail_safe_max_age > 0 and tier.unreachable():
                return _fail_safe(tier, key, fallback, "the store is unreachable")
    if not settings.lease:
        return _compute(tier, key, compute, ttl, fallback)
    authority = tier.authority
    lease_key = key + LEASE_SUFFIX
    deadline = clock.monotonic() + settings.lease_wait
    while True:
        taken_at = clock.monotonic()
        token = _take_lease(authority, lease_key, settings.lease_ttl)
        if token is not None:
            try:
                value = tier.get(key, _NONE)  # the previous holder may have just finished
                return value if value is not _NONE else _compute(tier, key, compute, ttl, fallback)
            finally:
                if token:
                    _release_lease(authority, lease_key, token, taken_at, settings.lease_ttl)
        if fallback is not _NONE and settings.stale_ttl > 0:
            return fallback
        if clock.monotonic() >= deadline:
            tier.log.warning("lease", "lease on %r still held; computing anyway", key)
            return _compute(tier, key, compute, ttl, fallback)
        time.sleep(settings.lease_poll_interval)
        value = tier.get(key, _NONE)
        if value is not _NONE:
            return value


def _take_lease(authority: Tier, lease_key: str, lease_ttl: float) -> str | None:
    """A token if this caller holds the lease now, "" if the store is unreachable, None if
    another caller holds it."""
    for _ in range(2):
        token = uuid.uuid4().hex
        if authority.add(lease_key, token, lease_ttl):
            return token
        if authority.get(lease_key, _NONE) is not _NONE:
            return None
    return ""  # add refused twice yet no lease is visible: the shared tier is unreachable


def _release_lease(
    authority: Tier, lease_key: str, token: str, taken_at: float, lease_ttl: float
) -> None:
    """Delete the lease if it is still ours: surely so within half its lifetime (counted
    from before we asked for it), else only if the store still holds our token."""
    if clock.monotonic() - taken_at < lease_ttl / 2 or authority.get(lease_key, _NONE) == token:
        authority.delete(lease_key)


def _compute(
    tier: Tier,
    key: str,
    compute: Callable[[], Any],
    ttl: float | None,
    fallback: Any,
    *,
    replace: bool = False,
) -> Any:
    """Compute under the factory timeouts and store: with ``add``, answering the value that
    won, or (``replace``, an eager refresh) with ``set``. A factory that raises or times out
    is answered with ``fallback`` when the settings allow it; for a refresh, the error is
    raised and a timeout answered with ``factory.TIMED_OUT``."""
    settings = tier.stampede
    if settings.jitter and ttl is not None and ttl > 0:
        ttl *= 1 - settings.jitter * random.random()

    def store(value: Any) -> Any:
        if replace:
            tier.set(key, value, ttl)
            return value
        if tier.add(key, value, ttl):
            return value
        winner = tier.get(key, _NONE)
        return value if winner is _NONE else winner

    try:
        value = factory.run(
            compute,
            key=(tier.identity, key),
            soft_timeout=settings.factory_soft_timeout,
            hard_timeout=settings.factory_hard_timeout,
            has_fallback=fallback is not _NONE,
            store_late=store,
        )
    except FactoryTimeoutError:
        tier.stats.factory_timeouts += 1
        raise
    except Exception as exc:
        if fallback is _NONE or replace or settings.fail_safe_max_age <= 0:
            raise
        # The exception's type only: its message may carry a database URL and its password.
        return _fail_safe(tier, key, fallback, f"the factory raised {type(exc).__name__}")
    if value is factory.TIMED_OUT:
        tier.stats.factory_timeouts += 1
        if replace:
            return value
        return _fail_safe(tier, key, fallback, "the factory outlived its timeout")
    return store(value)


def _fail_safe(tier: Tier, key: str, fallback: Any, reason: str) -> Any:
    """Answer with the fallback copy: counted, and logged once per burst."""
    tier.stats.fail_safe += 1
    tier.log.warning(
        "fail-safe", "%s cache %r: serving the last known value of %r: %s",
        tier.kind, tier.name, key, reason,
    )  # fmt: skip
    return fallback


# -- eager refresh ---------------------------------------------------------------------------
def _refresh_due(fraction: float, expires_at: float | None, ttl: float | None) -> bool:
    """Whether less than ``1 - fraction`` of ``ttl`` is left (never for entries that do not
    expire, or whose expiry this read could not tell)."""
    if expires_at is None or ttl is None or ttl <= 0:
        return False
    return expires_at - clock.time() <= (1 - fraction) * ttl


def _refresh_early(
    tier: Tier, key: str, compute: Callable[[], Any], ttl: float | None, current: Any
) -> Any:
    """Recompute ``key`` before it expires if no one else does (in this process: a flight; in
    the fleet: the lease); everyone else keeps ``current``."""
    flights: Flights = registry.get_or_create("flights", tier.identity, Flights)
    with flights.lock:
        if key in flights.by_key:
            return current
        flight = flights.by_key[key] = _Flight()
    try:
        value = _refresh_under_lease(tier, key, compute, ttl, current)
    finally:  # waiters (a miss of the same key meanwhile) take the current value at worst
        flight.finish(current, None)
        with flights.lock:
            flights.by_key.pop(key, None)
    return value


def _refresh_under_lease(
    tier: Tier, key: str, compute: Callable[[], Any], ttl: float | None, current: Any
) -> Any:
    """The refreshed value, or ``current`` when another holds the lease or the refresh fails.
    A failed or unfinished refresh keeps the lease until it lapses: one attempt per LEASE_TTL
    across the fleet, not one per hit while the database fails."""
    authority = tier.authority
    lease_key, lease_ttl = key + LEASE_SUFFIX, tier.stampede.lease_ttl
    token, taken_at = uuid.uuid4().hex, clock.monotonic()
    if not authority.add(lease_key, token, lease_ttl):  # held elsewhere, or unreachable
        return current
    tier.stats.eager_refreshes += 1
    try:
        value = _compute(tier, key, compute, ttl, current, replace=True)
    except Exception as exc:
        tier.log.warning(
            "eager", "%s cache %r: refreshing %r failed (%s); keeping its current value",
            tier.kind, tier.name, key, type(exc).__name__,
        )  # fmt: skip
        return current
    if value is factory.TIMED_OUT:  # the refresh stores its value when it finishes
        return current
    _release_lease(authority, lease_key, token, taken_at, lease_ttl)
    return value


def memoize(
    tier: Tier,
    ttl: float | None,
    *,
    make_key: Callable[[str], str] = str,
    tags: Sequence[str] | None = None,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Decorator caching a plain function's results through :func:`get_or_set` (the tier's,
    with ``tags``: see :mod:`serverless_cache.tags`).

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
            result: R = tier.get_or_set(key, lambda: function(*args, **kwargs), ttl, tags=tags)
            return result

        return wrapper

    return decorator
