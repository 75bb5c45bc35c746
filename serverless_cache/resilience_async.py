"""The :class:`~serverless_cache.resilience.Guard` for coroutines: the same breaker, verdicts,
retries and fail-open answers as :meth:`Guard.call`, for tiers that talk to their store
natively in asyncio (the Redis tier's ``redis.asyncio`` path)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from serverless_cache import clock
from serverless_cache.resilience import SAME, Fault, Guard

T = TypeVar("T")


async def guarded(
    guard: Guard,
    operation: str,
    fn: Callable[[], Awaitable[T]],
    fallback: T,
    *,
    retry: Any = SAME,
    on_failure: Callable[[], None] | None = None,
) -> T:
    """``await fn()`` under ``guard`` (see :meth:`Guard.call`; ``retry`` is a coroutine
    function here). A cancelled call is the caller's, as any exception the tier does not
    classify: it is re-raised, and a breaker probe it was ends as the sync path's would."""
    if not guard.breaker.allow():
        if on_failure is not None:
            on_failure()
        return guard.refused(fallback)
    attempt = fn
    retried = False
    while True:
        started = clock.monotonic()
        try:
            result = await attempt()
        except BaseException as exc:
            guard.stats.observe(clock.monotonic() - started)
            fault = guard.fault_of(exc)
            if fault is None:
                guard.breaker.record_success()
                raise
            if fault is Fault.DROPPED and not retried and retry is not None:
                attempt, retried = (fn if retry is SAME else retry), True
                continue
            if on_failure is not None:
                on_failure()
            return guard._failed(operation, exc, fault, fallback)
        guard.stats.observe(clock.monotonic() - started)
        guard.breaker.record_success()
        return result
