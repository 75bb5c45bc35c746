"""Running a ``get_or_set`` factory under FACTORY_SOFT_TIMEOUT and FACTORY_HARD_TIMEOUT.

Without a timeout the factory runs in the caller's thread, as it always did. With one it runs in
a daemon thread that the caller waits for: at the soft timeout the caller takes the fallback
value (when there is one), at the hard timeout it stops waiting anyway. The factory is never
interrupted (Python cannot), and its result is stored when it finishes, but only within the same
invocation: on Lambda a process is frozen once the response is returned, and a result that
finishes after a thaw was computed from data of an earlier invocation, so it is dropped.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Hashable
from typing import Any

from serverless_cache import metrics, registry
from serverless_cache.errors import FactoryTimeoutError

#: ``run`` timed out and the caller must answer with its fallback.
TIMED_OUT: Any = object()


def invocation() -> tuple[int, int]:
    """What identifies the current invocation (a SnapStart restore starts a new series)."""
    return registry.generation, metrics.invocation_number()


class Running:
    """The factories still running in threads, by cache and key (a registry entry): a caller
    that finds one waits for it rather than starting another."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[Hashable, _Job] = {}

    def restore(self) -> None:
        """Threads of the snapshot did not survive it."""
        with self.lock:
            self.jobs.clear()


class _Job:
    """One factory call in a thread; what to do with a result that comes too late."""

    def __init__(
        self, compute: Callable[[], Any], store_late: Callable[[Any], None], key: Hashable
    ) -> None:
        self.key = key
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
        running = _running()
        with running.lock:
            if running.jobs.get(self.key) is self:
                del running.jobs[self.key]
        if late and self.error is None and invocation() == self.started_in:
            self.store_late(self.value)

    def abandon(self) -> bool:
        """Stop waiting; False if the result arrived meanwhile (the caller takes it)."""
        with self.lock:
            self.abandoned = not self.done.is_set()
            return self.abandoned


def _running() -> Running:
    return registry.get_or_create("factories", None, Running)


def run(
    compute: Callable[[], Any],
    *,
    key: Hashable,
    soft_timeout: float | None,
    hard_timeout: float | None,
    has_fallback: bool,
    store_late: Callable[[Any], None],
) -> Any:
    """``compute()``, or TIMED_OUT once the soft timeout passed (with a fallback to answer) or
    the hard one; without a fallback past the hard timeout, FactoryTimeoutError. While the
    factory of ``key`` still runs, a later call waits for it instead of starting another.

    The thread runs in a copy of the caller's context (Flask's ``current_app``, ``g``); a
    Django factory there gets a database connection of its own, as in any thread."""
    wait = hard_timeout
    if has_fallback and soft_timeout is not None:
        wait = soft_timeout if wait is None else min(wait, soft_timeout)
    if wait is None:
        return compute()
    running = _running()
    with running.lock:
        job = running.jobs.get(key)
        if job is None:
            job = running.jobs[key] = _Job(compute, store_late, key)
            context = contextvars.copy_context()
            thread = threading.Thread(
                target=context.run, args=(job.run,), name="serverless-cache-factory", daemon=True
            )
            thread.start()
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
