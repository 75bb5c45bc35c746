"""Running a ``get_or_set`` factory under FACTORY_SOFT_TIMEOUT and FACTORY_HARD_TIMEOUT.

Without a timeout the factory runs in the caller's thread, as it always did. With one it runs in
a daemon thread that the caller waits for: at the soft timeout the caller takes the fallback
value (when there is one), at the hard timeout it stops waiting anyway. The factory is never
interrupted (Python cannot), and its result is stored when it finishes, but only within the same
invocation: on Lambda a process is frozen once the response is returned, and a result that
finishes after a thaw was computed from data of an earlier invocation, so it is dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from serverless_cache import metrics, registry
from serverless_cache.errors import FactoryTimeoutError

#: ``run`` timed out and the caller must answer with its fallback.
TIMED_OUT: Any = object()


def invocation() -> tuple[int, int]:
    """What identifies the current invocation (a SnapStart restore starts a new series)."""
    return registry.generation, metrics.invocation_number()


class _Job:
    """One factory call in a thread; what to do with a result that comes too late."""

    def __init__(self, compute: Callable[[], Any], store_late: Callable[[Any], None]) -> None:
        self.compute = compute
        self.store_late = store_late
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.abandoned = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.started_in = invocation()

    def run(self) -> None:
        try:
            self.value = self.compute()
        except BaseException as exc:  # handed to the caller, or dropped when it left
            self.error = exc
        with self.lock:
            self.done.set()
            late = self.abandoned
        if late and self.error is None and invocation() == self.started_in:
            self.store_late(self.value)

    def abandon(self) -> bool:
        """Stop waiting; False if the result arrived meanwhile (the caller takes it)."""
        with self.lock:
            self.abandoned = not self.done.is_set()
            return self.abandoned


def run(
    compute: Callable[[], Any],
    *,
    soft_timeout: float | None,
    hard_timeout: float | None,
    has_fallback: bool,
    store_late: Callable[[Any], None],
) -> Any:
    """``compute()``, or TIMED_OUT once the soft timeout passed (with a fallback to answer) or
    the hard one; without a fallback past the hard timeout, FactoryTimeoutError."""
    wait = hard_timeout
    if has_fallback and soft_timeout is not None:
        wait = soft_timeout if wait is None else min(wait, soft_timeout)
    if wait is None:
        return compute()
    job = _Job(compute, store_late)
    threading.Thread(target=job.run, name="serverless-cache-factory", daemon=True).start()
    if not job.done.wait(wait) and job.abandon():
        if has_fallback:
            return TIMED_OUT
        raise FactoryTimeoutError(
            f"the factory did not finish within FACTORY_HARD_TIMEOUT ({hard_timeout:g}s) and "
            "no fallback value exists; it keeps running and its result is stored if it "
            "finishes within this invocation"
        )
    if job.error is not None:
        raise job.error
    return job.value
