"""Process-wide state, all in one place: stores, clients, counters, the runtime's state.

Django builds a backend object per thread and per async context, and under Mangum nearly every
invocation is a new context. What must survive warm invocations therefore lives here, keyed by
its configuration, and backend objects are cheap views onto it (Django's ``locmem`` keeps its
stores in module-level dicts for the same reason).

Two hooks act on every entry: :func:`restore` after a SnapStart restore (an entry with a
``restore()`` method forgets what the snapshot froze, in place; any other, such as a client
with pooled sockets, is closed and dropped) and :func:`reset` for tests (``reset()`` in place,
or dropped). Entries kept in place stay shared with the views built before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_entries: dict[tuple[str, Hashable], Any] = {}
#: Bumped whenever entries are dropped: a view holding an entry compares it to know it is stale.
generation = 0
_restore_hook_registered = False


def get_or_create(kind: str, key: Hashable, factory: Callable[[], T]) -> T:
    """Return the entry for ``(kind, key)``, creating it with ``factory`` exactly once."""
    entry = _entries.get((kind, key))
    if entry is not None:
        return entry  # type: ignore[no-any-return]
    if not _restore_hook_registered:
        _register_restore_hook()
    with _lock:
        entry = _entries.get((kind, key))
        if entry is None:
            entry = _entries[(kind, key)] = factory()
        return entry


def _register_restore_hook() -> None:
    """When the first backend is built: SnapStart's after-restore hook, ahead of the app's."""
    global _restore_hook_registered
    _restore_hook_registered = True
    from serverless_cache.aws.snapstart import register_hooks

    register_hooks()


def entries(kind: str | None = None) -> list[Any]:
    """The live entries, all or of one kind (for warm-up and diagnostics)."""
    with _lock:
        return [v for (k, _), v in _entries.items() if kind is None or k == kind]


def kinds() -> set[str]:
    """The kinds of the live entries ("memory", "redis"...)."""
    with _lock:
        return {kind for kind, _ in _entries}


def discard(kind: str | None = None) -> None:
    """Drop entries (all or one kind), calling ``close()`` on those that have it."""
    _drop(lambda key, value: kind is None or key[0] == kind)


def restore() -> None:
    """After a SnapStart restore: entries with ``restore()`` forget the snapshot in place; the
    others (clients, pooled connections, whose sockets are dead) are dropped."""
    kept = [value for value in entries() if callable(getattr(value, "restore", None))]
    _drop(lambda key, value: not callable(getattr(value, "restore", None)))
    for value in kept:
        value.restore()


def reset() -> None:
    """For tests: entries with ``reset()`` start over in place; every other one is dropped."""
    kept = [value for value in entries() if callable(getattr(value, "reset", None))]
    _drop(lambda key, value: not callable(getattr(value, "reset", None)))
    for value in kept:
        value.reset()


def _drop(doomed_if: Callable[[tuple[str, Hashable], Any], bool]) -> None:
    global generation
    with _lock:
        generation += 1
        doomed = [(k, v) for k, v in _entries.items() if doomed_if(k, v)]
        for k, _ in doomed:
            del _entries[k]
    for _, value in doomed:
        close = getattr(value, "close", None)
        if callable(close):
            close()
