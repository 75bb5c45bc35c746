"""The :class:`~serverless_cache.resilience.Guard` for coroutines: the same breaker, verdicts,
retries and fail-open answers as :meth:`Guard.call`, for tiers that talk to their store
natively in asyncio (the Redis tier's ``redis.asyncio`` path)."""

from __future__ import annotations

import asyncio
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
    classify: it is re-raised. The store did not answer it, so the breaker's count stands
    (cancelled requests during an outage must not keep the breaker closed)."""
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
                if isinstance(exc, asyncio.CancelledError):
                    guard.breaker.record_abandoned()
                else:
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
