"""Stampede protection for every tier's ``get_or_set``: one computation per key at a time.

- **Single flight per process**: threads missing the same key wait for one computation.
- **Lease across instances** (``LEASE``): the computing instance holds a short lease taken with
  ``add`` in the authoritative tier; others poll for the value (at most ``LEASE_WAIT``), and a
  crashed holder's lease lapses after ``LEASE_TTL``.
- **Stale value to waiters** (``STALE_TTL``): a copy kept that much longer than the value is
  handed to waiters at once while the leader computes.

The computed value is stored with ``add`` and the winner read back, as Django's
``get_or_set`` does, so concurrent instances agree on one value.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from serverless_cache import clock, registry
from serverless_cache.errors import ConfigurationError
from serverless_cache.options import require_number

if TYPE_CHECKING:
    from serverless_cache.tiers.base import Tier

R = TypeVar("R")
#: Suffixes of the bookkeeping keys; a control character keeps them apart from user keys.
LEASE_SUFFIX = "\x1flease"
STALE_SUFFIX = "\x1fstale"


@dataclass(frozen=True)
class StampedeSettings:
    """OPTIONS that every tier accepts for its ``get_or_set``."""

    lease: bool = False
    lease_ttl: float = 10.0
    lease_wait: float = 10.0
    lease_poll_interval: float = 0.05
    stale_ttl: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.lease, bool):
            raise ConfigurationError(f"option LEASE must be True or False, got {self.lease!r}")
        require_number("lease_ttl", self.lease_ttl, minimum=0.001)
        require_number("lease_wait", self.lease_wait)
        require_number("lease_poll_interval", self.lease_poll_interval, minimum=0.001)
        require_number("stale_ttl", self.stale_ttl)


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


def get_or_set(tier: Tier, key: str, compute: Callable[[], Any], ttl: float | None) -> Any:
    """The cached value of ``key``, or ``compute()`` stored, computed once at a time."""
    value = tier.get(key, _NONE)
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
    authority = tier.authority
    stale = _NONE
    if settings.stale_ttl > 0:
        stale = authority.get(key + STALE_SUFFIX, _NONE)
        if stale is not _NONE:
            flight.publish_stale(stale)
    if not settings.lease:
        return _compute(tier, key, compute, ttl)
    lease_key = key + LEASE_SUFFIX
    deadline = clock.monotonic() + settings.lease_wait
    while True:
        taken_at = clock.monotonic()
        token = _take_lease(authority, lease_key, settings.lease_ttl)
        if token is not None:
            try:
                value = tier.get(key, _NONE)  # the previous holder may have just finished
                return value if value is not _NONE else _compute(tier, key, compute, ttl)
            finally:
                if token:
                    _release_lease(authority, lease_key, token, taken_at, settings.lease_ttl)
        if stale is not _NONE:
            return stale
        if clock.monotonic() >= deadline:
            tier.log.warning("lease", "lease on %r still held; computing anyway", key)
            return _compute(tier, key, compute, ttl)
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


def _compute(tier: Tier, key: str, compute: Callable[[], Any], ttl: float | None) -> Any:
    """Compute, store with ``add``, and answer with the value that won."""
    value = compute()
    if not tier.add(key, value, ttl):
        winner = tier.get(key, _NONE)
        if winner is not _NONE:
            value = winner
    stale_ttl = tier.stampede.stale_ttl
    if stale_ttl > 0 and ttl is not None and ttl > 0:
        tier.authority.set(key + STALE_SUFFIX, value, ttl + stale_ttl)
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
