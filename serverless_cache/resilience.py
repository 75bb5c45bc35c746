"""Fail-open policy and circuit breaker, shared by the network tiers.

On Lambda a dead cache must not make every request wait for a timeout and then fail. A
:class:`Guard` runs each store call: a failure is counted, logged at most once per burst, and
(under ``fail_open``) turned into the caller's fallback, a miss or a dropped write. After
``breaker_threshold`` consecutive failures the :class:`CircuitBreaker` opens and calls are not
attempted for ``breaker_cooldown`` seconds; then a single probe call decides whether it closes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

from serverless_cache import registry
from serverless_cache.errors import CacheUnavailableError, ConfigurationError
from serverless_cache.metrics import TierStats
from serverless_cache.options import require_int, require_number

T = TypeVar("T")
logger = logging.getLogger("serverless_cache")
Errors = tuple[type[BaseException], ...]

#: The fallback of a call that has none to give (incr cannot invent a number): the caller raises.
UNREACHABLE: Final[Any] = object()


@dataclass(frozen=True)
class ResilienceSettings:
    """How a network tier behaves when its store cannot be reached."""

    fail_open: bool = True
    breaker_threshold: int = 3
    breaker_cooldown: float = 5.0
    log_interval: float = 60.0

    def __post_init__(self) -> None:
        if not isinstance(self.fail_open, bool):
            raise ConfigurationError(
                f"option FAIL_OPEN must be True or False, got {self.fail_open!r}"
            )
        require_int("breaker_threshold", self.breaker_threshold, minimum=1)
        require_number("breaker_cooldown", self.breaker_cooldown)
        require_number("log_interval", self.log_interval)


class CircuitBreaker:
    """Closed until ``threshold`` consecutive failures, then open for ``cooldown`` seconds.

    After the cooldown exactly one caller is let through as a probe (half-open); its success
    closes the breaker, its failure opens it for another cooldown. One breaker is shared by
    every view of the same client, so the whole process backs off, and logs, together.
    """

    def __init__(self, threshold: int, cooldown: float) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.open_until = 0.0
        self._probing = False
        self._lock = threading.Lock()
        self._last_log = -float("inf")
        self._unlogged = 0

    def allow(self) -> bool:
        """Whether a call may go to the store now; cheap when closed."""
        if self.failures < self.threshold:
            return True
        with self._lock:
            if self._probing or time.monotonic() < self.open_until:
                return False
            self._probing = True
            return True

    def record_success(self) -> None:
        if self.failures:
            with self._lock:
                self.failures = 0
                self._probing = False

    def record_failure(self) -> None:
        with self._lock:
            self.failures += 1
            self._probing = False
            if self.failures >= self.threshold:
                self.open_until = time.monotonic() + self.cooldown

    def log_turn(self, interval: float) -> int | None:
        """For a failure to log: None if one was logged less than ``interval`` ago, else how
        many went unlogged since (the first failure of a burst is always logged)."""
        with self._lock:
            now = time.monotonic()
            if now - self._last_log < interval:
                self._unlogged += 1
                return None
            unlogged, self._unlogged, self._last_log = self._unlogged, 0, now
            return unlogged


class Guard:
    """Runs store calls of one tier under its fail-open policy and shared breaker."""

    def __init__(
        self,
        name: str,
        settings: ResilienceSettings,
        breaker: CircuitBreaker,
        stats: TierStats,
        errors: tuple[type[BaseException], ...],
        answered: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.name = name
        self.settings = settings
        self.breaker = breaker
        self.stats = stats
        self.errors = errors
        #: Among ``errors``, those a healthy store answers with (Redis WRONGTYPE...): they are a
        #: miss or a dropped write like any failure, but do not count towards the breaker.
        self.answered = answered

    def call(self, operation: str, fn: Callable[[], T], fallback: T) -> T:
        """``fn()``, or ``fallback`` when the store fails or the breaker is open (fail-open)."""
        if not self.breaker.allow():
            self.stats.errors += 1
            if self.settings.fail_open:
                return fallback
            raise CacheUnavailableError(
                f"{self.name}: not called after {self.breaker.failures} consecutive failures; "
                f"the circuit breaker retries within {self.settings.breaker_cooldown:g}s"
            )
        started = time.perf_counter()
        try:
            result = fn()
        except self.errors as exc:
            self.stats.observe(time.perf_counter() - started)
            if isinstance(exc, self.answered):
                self.breaker.record_success()
            else:
                self.breaker.record_failure()
            self.stats.errors += 1
            self._log(operation, exc)
            if self.settings.fail_open:
                return fallback
            raise CacheUnavailableError(
                f"{self.name}: {operation} failed ({type(exc).__name__}: {exc}); check that the "
                "store is reachable from this function, or set FAIL_OPEN to True to treat "
                "failures as misses"
            ) from exc
        except BaseException:
            # The store answered; the error (a missing key for incr...) is the caller's. Without
            # this, a half-open probe that raised would leave the breaker waiting forever.
            self.breaker.record_success()
            raise
        self.stats.observe(time.perf_counter() - started)
        self.breaker.record_success()
        return result

    def _log(self, operation: str, exc: BaseException) -> None:
        """Log the first failure of a burst, then at most once per ``log_interval``."""
        suppressed = self.breaker.log_turn(self.settings.log_interval)
        if suppressed is None:
            return
        logger.warning(
            "serverless_cache: %s %s failed (%s: %s); serving %s%s",
            self.name,
            operation,
            type(exc).__name__,
            exc,
            "misses and dropping writes" if self.settings.fail_open else "errors",
            f" ({suppressed} similar failures not logged)" if suppressed else "",
        )


class _HasBreaker(Protocol):
    breaker: CircuitBreaker


C = TypeVar("C", bound=_HasBreaker)


class SharedClient(Generic[C]):
    """A tier view's handle on a process-wide client in the registry, and its :class:`Guard`.

    The client (and its breaker) is created on first use and fetched again once the registry
    was discarded (a SnapStart restore): views built before keep working. ``errors`` and
    ``answered`` are called when the guard is built, so the store's library is imported late.
    """

    def __init__(
        self,
        kind: str,
        key: Hashable,
        factory: Callable[[CircuitBreaker], C],
        name: str,
        settings: ResilienceSettings,
        stats: TierStats,
        errors: Callable[[], Errors],
        answered: Callable[[], Errors] = tuple,
    ) -> None:
        threshold, cooldown = settings.breaker_threshold, settings.breaker_cooldown
        self.kind = kind
        #: Views that differ only in fail-open or logging settings share the client and breaker.
        self.key = (key, threshold, cooldown)
        self.factory = lambda: factory(CircuitBreaker(threshold, cooldown))
        self.name = name
        self.settings = settings
        self.stats = stats
        self.errors = errors
        self.answered = answered
        self._client: C
        self._generation = -1  # no client yet (the registry's generation starts at 0)
        self._guard: Guard | None = None

    @property
    def client(self) -> C:
        """The shared client, fetched again once the registry was discarded."""
        if self._generation != registry.generation:
            generation = registry.generation
            self._client = registry.get_or_create(self.kind, self.key, self.factory)
            self._generation, self._guard = generation, None
        return self._client

    def call(self, operation: str, fn: Callable[[], T], fallback: T) -> T:
        """``fn()`` under this view's guard (see :meth:`Guard.call`)."""
        guard = self._guard
        if guard is None or self._generation != registry.generation:
            breaker = self.client.breaker  # first: a fresh client drops the old guard
            guard = self._guard = Guard(
                self.name, self.settings, breaker, self.stats, self.errors(), self.answered()
            )
        return guard.call(operation, fn, fallback)
