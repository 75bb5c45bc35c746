"""Fail-open policy, circuit breaker, retries and throttled logs, decided once for every tier.

On Lambda a dead cache must not make every request wait for a timeout and then fail. A
:class:`Guard` runs each store call. Each tier only *classifies* its store's exceptions into a
:class:`Fault`; what follows is decided here, the same way for every tier:

- ``ANSWERED``: the store replied with an error (bad input, WRONGTYPE, validation). It is a
  miss or a dropped write, and never counts towards the breaker: the store is healthy.
- ``DROPPED``: the connection broke, so the request may or may not have been applied. An
  idempotent call (get, set, delete, touch) is retried once; ``incr`` is never retried, and
  ``add`` is retried only through a call that recognises its own write (a write token).
- ``FAILED``: a timeout or any other failure: counted, never retried.

After ``breaker_threshold`` consecutive failures the :class:`CircuitBreaker` opens and calls
are not attempted for ``breaker_cooldown`` seconds; then a single probe call decides, and the
first answer closes it. A write that failed or was skipped is reported through ``on_failure``
(the tier's recovery journal, :mod:`serverless_cache.recovery`).
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

from serverless_cache import clock, registry
from serverless_cache.errors import CacheUnavailableError, ConfigurationError
from serverless_cache.metrics import TierStats
from serverless_cache.options import require_int, require_number

T = TypeVar("T")
logger = logging.getLogger("serverless_cache")

#: The fallback of a call that has none to give (incr cannot invent a number): the caller raises.
UNREACHABLE: Final[Any] = object()
#: ``retry=SAME``: retry a dropped call by calling it again (the call is idempotent).
SAME: Final[Any] = object()
DEFAULT_LOG_INTERVAL = 60.0


class Fault(enum.Enum):
    """What a store exception means for the caller, the breaker and a retry."""

    ANSWERED = "answered"
    DROPPED = "dropped"
    FAILED = "failed"


Classifier = Callable[[BaseException], "Fault | None"]


@dataclass(frozen=True)
class ResilienceSettings:
    """How a network tier behaves when its store cannot be reached."""

    fail_open: bool = True
    breaker_threshold: int = 3
    breaker_cooldown: float = 1.0
    log_interval: float = DEFAULT_LOG_INTERVAL
    recovery_max_keys: int = 1000

    def __post_init__(self) -> None:
        if not isinstance(self.fail_open, bool):
            raise ConfigurationError(
                f"option FAIL_OPEN must be True or False, got {self.fail_open!r}"
            )
        require_int("breaker_threshold", self.breaker_threshold, minimum=1)
        require_number("breaker_cooldown", self.breaker_cooldown)
        require_number("log_interval", self.log_interval)
        require_int("recovery_max_keys", self.recovery_max_keys, minimum=1)


class ThrottledLog:
    """Warnings of one cache or client: the first of a burst, then one per ``interval`` per
    topic, each saying how many similar ones were not logged."""

    def __init__(self, interval: float = DEFAULT_LOG_INTERVAL) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}

    def warning(self, topic: str, message: str, *args: Any) -> None:
        with self._lock:
            now = clock.monotonic()
            if now - self._last.get(topic, -float("inf")) < self.interval:
                self._unlogged[topic] = self._unlogged.get(topic, 0) + 1
                return
            suppressed = self._unlogged.pop(topic, 0)
            self._last[topic] = now
        suffix = f" ({suppressed} similar not logged)" if suppressed else ""
        logger.warning("serverless_cache: " + message + suffix, *args)


def throttled_log(name: str, interval: float = DEFAULT_LOG_INTERVAL) -> ThrottledLog:
    """The process-wide throttled log of the cache or client called ``name``."""
    return registry.get_or_create("log", (name, interval), lambda: ThrottledLog(interval))


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
        self.log = ThrottledLog()

    def allow(self) -> bool:
        """Whether a call may go to the store now; cheap when closed."""
        if self.failures < self.threshold:
            return True
        with self._lock:
            if self._probing or clock.monotonic() < self.open_until:
                return False
            self._probing = True
            return True

    def record_success(self) -> None:
        if self.failures or self._probing:
            with self._lock:
                self.failures = 0
                self._probing = False

    def record_abandoned(self) -> None:
        """A call that ended before the store answered (its caller cancelled it): the count
        stands, and a probe it was ends, so the next caller probes."""
        if self._probing:
            with self._lock:
                self._probing = False

    def record_failure(self) -> None:
        with self._lock:
            self.failures += 1
            self._probing = False
            if self.failures >= self.threshold:
                self.open_until = clock.monotonic() + self.cooldown


class Guard:
    """Runs store calls of one tier view under its fail-open policy and shared breaker."""

    def __init__(
        self,
        name: str,
        settings: ResilienceSettings,
        breaker: CircuitBreaker,
        stats: TierStats,
        classify: Classifier,
    ) -> None:
        self.name = name
        self.settings = settings
        self.breaker = breaker
        self.stats = stats
        self.classify = classify
        breaker.log.interval = settings.log_interval

    def call(
        self,
        operation: str,
        fn: Callable[[], T],
        fallback: T,
        *,
        retry: Any = SAME,
        on_failure: Callable[[], None] | None = None,
    ) -> T:
        """``fn()``, or ``fallback`` when the store fails or the breaker is open (fail-open).

        ``retry`` is what to call once after a ``DROPPED`` failure: ``SAME`` (``fn`` again,
        for idempotent calls), another callable (one that recognises its own write), or None.
        ``on_failure`` is called whenever ``fn`` did not surely take effect (skipped, failed,
        refused), before the fallback is returned or the error raised.
        """
        if not self.breaker.allow():
            if on_failure is not None:
                on_failure()
            return self.refused(fallback)
        attempt: Callable[[], T] = fn
        retried = False
        while True:
            started = clock.monotonic()
            try:
                result = attempt()
            except BaseException as exc:
                self.stats.observe(clock.monotonic() - started)
                fault = self.fault_of(exc)
                if fault is None:  # the caller's error (KeyError, TypeError): the store answered
                    self.breaker.record_success()
                    raise
                if fault is Fault.DROPPED and not retried and retry is not None:
                    attempt, retried = (fn if retry is SAME else retry), True
                    continue
                if on_failure is not None:
                    on_failure()
                return self._failed(operation, exc, fault, fallback)
            self.stats.observe(clock.monotonic() - started)
            self.breaker.record_success()
            return result

    def refused(self, fallback: T) -> T:
        """What a call the open breaker does not let through returns (or raises)."""
        self.stats.errors += 1
        if self.settings.fail_open:
            return fallback
        raise CacheUnavailableError(
            f"{self.name}: not called after {self.breaker.failures} consecutive failures; "
            f"the circuit breaker retries within {self.settings.breaker_cooldown:g}s"
        )

    def fault_of(self, exc: BaseException) -> Fault | None:
        """The store's verdict on ``exc``; None when it is the caller's error."""
        fault = self.classify(exc)
        if fault is None and isinstance(exc, CacheUnavailableError):
            return Fault.FAILED  # a tier's own verdict (a retry that cannot decide)
        return fault

    def _failed(self, operation: str, exc: BaseException, fault: Fault, fallback: T) -> T:
        if fault is Fault.ANSWERED:
            self.breaker.record_success()
        else:
            self.breaker.record_failure()
        self.stats.errors += 1
        self.breaker.log.warning(
            fault.value,
            "%s %s failed (%s: %s); %s",
            self.name,
            operation,
            type(exc).__name__,
            exc,
            "serving misses and dropping writes" if self.settings.fail_open else "raising",
        )
        if self.settings.fail_open:
            return fallback
        if isinstance(exc, CacheUnavailableError):
            raise exc
        if fault is Fault.ANSWERED:
            raise CacheUnavailableError(
                f"{self.name}: the store refused {operation} ({type(exc).__name__}: {exc})"
            ) from exc
        raise CacheUnavailableError(
            f"{self.name}: {operation} failed ({type(exc).__name__}: {exc}); check that the "
            "store is reachable from this function, or set FAIL_OPEN to True to treat "
            "failures as misses"
        ) from exc


class _HasBreaker(Protocol):
    breaker: CircuitBreaker


C = TypeVar("C", bound=_HasBreaker)


class SharedClient(Generic[C]):
    """A tier view's handle on a process-wide client in the registry, and its :class:`Guard`.

    The client (and its breaker) is created on first use and fetched again once the registry
    was discarded (a SnapStart restore): views built before keep working. ``classify`` is
    called only when a call failed, so the store's library is imported late.
    """

    def __init__(
        self,
        kind: str,
        key: Hashable,
        factory: Callable[[CircuitBreaker], C],
        name: str,
        settings: ResilienceSettings,
        stats: TierStats,
        classify: Classifier,
    ) -> None:
        threshold, cooldown = settings.breaker_threshold, settings.breaker_cooldown
        self.kind = kind
        #: Views that differ only in fail-open or logging settings share the client and breaker.
        self.key = (key, threshold, cooldown)
        self.factory = lambda: factory(CircuitBreaker(threshold, cooldown))
        self.name = name
        self.settings = settings
        self.stats = stats
        self.classify = classify
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

    def call(
        self,
        operation: str,
        fn: Callable[[], T],
        fallback: T,
        *,
        retry: Any = SAME,
        on_failure: Callable[[], None] | None = None,
    ) -> T:
        """``fn()`` under this view's guard (see :meth:`Guard.call`)."""
        return self.guard.call(operation, fn, fallback, retry=retry, on_failure=on_failure)

    @property
    def guard(self) -> Guard:
        """This view's guard, on the breaker of the current shared client."""
        guard = self._guard
        if guard is None or self._generation != registry.generation:
            breaker = self.client.breaker  # first: a fresh client drops the old guard
            guard = self._guard = Guard(
                self.name, self.settings, breaker, self.stats, self.classify
            )
        return guard
