"""Process-wide registry of long-lived objects: in-process stores, connection pools, clients.

Django builds a backend object per thread and per async context, and under Mangum nearly every
invocation is a new context. What must survive warm invocations therefore lives here, keyed by
its configuration, and backend objects are cheap views onto it (Django's ``locmem`` keeps its
stores in module-level dicts for the same reason).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_entries: dict[tuple[str, Hashable], Any] = {}


def get_or_create(kind: str, key: Hashable, factory: Callable[[], T]) -> T:
    """Return the entry for ``(kind, key)``, creating it with ``factory`` exactly once."""
    entry = _entries.get((kind, key))
    if entry is not None:
        return entry  # type: ignore[no-any-return]
    with _lock:
        entry = _entries.get((kind, key))
        if entry is None:
            entry = _entries[(kind, key)] = factory()
        return entry  # type: ignore[no-any-return]


def entries(kind: str | None = None) -> list[Any]:
    """The live entries, all or of one kind (for warm-up and diagnostics)."""
    with _lock:
        return [v for (k, _), v in _entries.items() if kind is None or k == kind]


def kinds() -> set[str]:
    """The kinds of the live entries ("memory", "redis"...)."""
    with _lock:
        return {kind for kind, _ in _entries}


def discard(kind: str | None = None) -> None:
    """Forget entries (all or one kind), calling ``close()`` on those that have it.

    Used after a SnapStart restore, where pooled connections and cached data are invalid,
    and by tests.
    """
    with _lock:
        doomed = [(k, v) for k, v in _entries.items() if kind is None or k[0] == kind]
        for k, _ in doomed:
            del _entries[k]
    for _, value in doomed:
        close = getattr(value, "close", None)
        if callable(close):
            close()
