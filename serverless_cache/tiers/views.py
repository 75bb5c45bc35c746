"""Tier views cached per process by configuration, for adapters that build a backend often.

Django builds a backend object per thread and per async context (under Mangum, nearly every
invocation), and parsing OPTIONS, checking URLs and building codecs each time would cost more
than the cache hit the backend serves. A view depends only on its configuration, so backends of
one configuration share one view, as Django's locmem backends share one store: a view is never
mutated by the Django adapter (Flask builds its backend once per app, and may assign a
serializer, so it builds its own). The cache is a registry entry, dropped by ``reset()`` and
``restore()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from serverless_cache import registry
from serverless_cache.tiers.base import Tier

#: Options-dict identities remembered at most (the settings' dicts: a handful per process).
_MAX_BY_IDENTITY = 64


class ViewCache:
    """Views by frozen configuration, with a fast path by the identity of the OPTIONS dict
    (Django passes the settings' own dict each time), checked against a snapshot of it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = registry.generation
        self.by_config: dict[Hashable, Tier] = {}
        self.by_identity: dict[Hashable, tuple[Mapping[str, Any], Any, Tier]] = {}

    def start_over(self, generation: int) -> None:
        with self.lock:
            self.by_config.clear()
            self.by_identity.clear()
            self.generation = generation

    def view(
        self, head: tuple[Any, ...], options: Mapping[str, Any], build: Callable[[], Tier]
    ) -> Tier:
        fast_key = (head, id(options))
        known = self.by_identity.get(fast_key)
        if known is not None and known[0] is options and known[1] == options:
            return known[2]
        frozen = freeze(options)
        key = (head, frozen) if frozen is not _UNFROZEN else None
        tier = self.by_config.get(key) if key is not None else None
        if tier is None:
            tier = build()  # raises ConfigurationError for a bad option, every time
            if key is None:
                return tier
            with self.lock:
                tier = self.by_config.setdefault(key, tier)
        with self.lock:
            if len(self.by_identity) >= _MAX_BY_IDENTITY:
                self.by_identity.clear()
            self.by_identity[fast_key] = (options, _snapshot(options), tier)
        return tier


def cached_view(
    head: tuple[Any, ...], options: Mapping[str, Any], build: Callable[[], Tier]
) -> Tier:
    """The view of the configuration ``head`` + ``options``, built by ``build`` once."""
    global _current
    cache = _current
    if cache is None or cache.generation != registry.generation:
        # Entries were dropped (reset, restore, discard): views may hold them, so start over.
        generation = registry.generation
        cache = _current = registry.get_or_create("views", None, ViewCache)
        if cache.generation != generation:
            cache.start_over(generation)
    return cache.view(head, options, build)


#: The registry's ViewCache, as last fetched.
_current: ViewCache | None = None


_UNFROZEN: Any = object()


def freeze(value: Any) -> Any:
    """A hashable form of an options value that tells ``1``, ``1.0`` and ``True`` apart;
    ``_UNFROZEN`` for a value that cannot be compared safely (it is then never shared)."""
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            frozen = freeze(item)
            if frozen is _UNFROZEN:
                return _UNFROZEN
            items.append((str(key).lower(), frozen))
        return (dict, tuple(sorted(items, key=lambda pair: pair[0])))
    if isinstance(value, list | tuple):
        parts = tuple(freeze(item) for item in value)
        return _UNFROZEN if any(p is _UNFROZEN for p in parts) else (tuple, parts)
    if value is None or type(value) in (str, bytes, int, float, bool):
        return (type(value), value)
    return (id(value), value) if isinstance(value, Hashable) else _UNFROZEN


def _snapshot(value: Any) -> Any:
    """A copy of nested dicts and lists, to notice a settings dict changed in place."""
    if isinstance(value, Mapping):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_snapshot(item) for item in value]
    return value
