"""Tagged forms of Flask-Caching's ``cached`` and ``memoize``: what they store (and what the
decorated function caches while it runs) is written with ``tags``, so
``cache.cache.invalidate_tags(...)`` makes it a miss on every instance.

Flask-Caching's decorators call the backend's ``set`` themselves; the tags reach it through a
context variable set around the decorated call, which this package's backends read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from serverless_cache.tags import check_tags

F = TypeVar("F", bound=Callable[..., Any])

_writing: ContextVar[tuple[str, ...]] = ContextVar("serverless_cache_flask_tags", default=())


#: The tags writes of the current call carry (none outside a tagged decorator): the context
#: variable's own getter, so that every write does not pay for a Python call.
context_tags: Callable[[], tuple[str, ...]] = _writing.get


@contextmanager
def writing_tags(tags: Sequence[str]) -> Iterator[None]:
    """Every write through a serverless_cache Flask backend in this block carries ``tags``
    (added to those of an enclosing block)."""
    token = _writing.set(tuple(dict.fromkeys((*_writing.get(), *check_tags(tags)))))
    try:
        yield
    finally:
        _writing.reset(token)


def _tagging(decorator: Callable[[F], F], tags: Sequence[str]) -> Callable[[F], F]:
    checked = check_tags(tags)

    def decorate(function: F) -> F:
        cached = decorator(function)

        @functools.wraps(cached)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with writing_tags(checked):
                return cached(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def cached(cache: Any, *, tags: Sequence[str], **options: Any) -> Callable[[F], F]:
    """``cache.cached(**options)`` (a Flask-Caching ``Cache``) with its entries tagged."""
    return _tagging(cache.cached(**options), tags)


def memoize(cache: Any, *, tags: Sequence[str], **options: Any) -> Callable[[F], F]:
    """``cache.memoize(**options)`` with its entries (and memoize versions) tagged."""
    return _tagging(cache.memoize(**options), tags)
