"""Flask-Caching's (cachelib's) cache API over a Tier, written once.

cachelib's conventions differ from Django's: ``timeout=0`` means never expire, ``None`` means
the default, ``inc`` on a missing key starts from zero, and ``get`` returns ``None`` for a miss.
Backends are created by Flask-Caching through :meth:`TierCache.factory` when ``CACHE_TYPE`` is
this class's import path; the tier is built from a TierConfig, as for Django.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Flask
from flask_caching.backends.base import BaseCache

from serverless_cache import stampede
from serverless_cache.codec import Codec, Serializer
from serverless_cache.errors import CacheUnavailableError
from serverless_cache.flask.tags import context_tags
from serverless_cache.http import edge_tags
from serverless_cache.options import pop_option
from serverless_cache.tiers.base import MISSING, Tier
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.kinds import build_tier

Timeout = int | dt.timedelta | None
R = TypeVar("R")
WHERE = "CACHE_OPTIONS"


def _seconds_to_ttl(seconds: int) -> float | None:
    return None if seconds == 0 else float(seconds) if seconds > 0 else -1.0


class TierCache(BaseCache):
    """A Flask-Caching backend whose storage is the tier of kind :attr:`tier_kind`."""

    #: The tier this backend builds ("memory", "redis", "dynamodb", "layered" or a path).
    tier_kind: str = ""

    def __init__(
        self,
        tier: Tier,
        default_timeout: int | dt.timedelta = 300,
        key_prefix: str = "",
        ignore_delete_many_errors: bool = False,
    ) -> None:
        super().__init__(self._to_seconds(default_timeout), ignore_delete_many_errors)
        self._tier = tier
        self.key_prefix = key_prefix or ""
        self._default_ttl = _seconds_to_ttl(self.default_timeout)
        #: The CloudFront distribution whose paths recorded by edge_cache(tags=...) in this
        #: cache invalidate_tags purges (see serverless_cache.http.edge_tags).
        self.edge_distribution_id: str | None = None

    @classmethod
    def tier_config(cls, config: dict[str, Any], options: dict[str, Any]) -> TierConfig:
        """The TierConfig from the app config and the ``CACHE_OPTIONS`` left over."""
        return TierConfig(
            name=pop_option(options, "name") or "",
            location=pop_option(options, "location") or "",
            options=options,
            key_prefix=config.get("CACHE_KEY_PREFIX") or "",
            where=WHERE,
        )

    @classmethod
    def factory(
        cls, app: Flask, config: dict[str, Any], args: list[Any], kwargs: dict[str, Any]
    ) -> TierCache:
        """Flask-Caching's constructor hook: ``kwargs`` holds CACHE_OPTIONS and the timeout."""
        options = dict(kwargs)
        default_timeout = pop_option(options, "default_timeout", 300)
        ignore_errors = pop_option(options, "ignore_delete_many_errors", False)
        distribution_id = pop_option(options, "edge_distribution_id")
        key_prefix = pop_option(options, "key_prefix", config.get("CACHE_KEY_PREFIX") or "")
        # The tier sees the prefix in effect (a tier's clear() removes only its keys).
        tier_config = cls.tier_config({**config, "CACHE_KEY_PREFIX": key_prefix}, options)
        tier = build_tier(cls.tier_kind, tier_config)
        backend = cls(tier, default_timeout, key_prefix, ignore_errors)
        backend.edge_distribution_id = distribution_id
        return backend

    @property
    def tier(self) -> Tier:
        return self._tier

    @property
    def serializer(self) -> Serializer | None:
        """The serializer Flask-Caching assigns from ``CACHE_SERIALIZER`` (None: the codec's)."""
        return self._tier.codec.serializer

    @serializer.setter
    def serializer(self, serializer: Serializer | None) -> None:
        self._tier.set_codec(Codec(self._tier.codec.settings, serializer))

    def _ttl(self, timeout: Timeout) -> float | None:
        """cachelib timeout -> tier ttl: None = default, 0 = forever, < 0 = expire now."""
        if timeout is None:
            return self._default_ttl
        return _seconds_to_ttl(self._to_seconds(timeout))

    def get(self, key: str) -> Any:
        return self._tier.get(self.key_prefix + key)

    def delete(self, key: str) -> bool:
        return self._tier.delete(self.key_prefix + key)

    def get_many(self, *keys: str) -> list[Any]:
        full = [self.key_prefix + key for key in keys]
        found = self._tier.get_many(full)
        return [found.get(key) for key in full]

    def get_dict(self, *keys: str) -> dict[str, Any]:
        return dict(zip(keys, self.get_many(*keys), strict=True))

    def set(
        self, key: str, value: Any, timeout: Timeout = None, *, tags: Sequence[str] = ()
    ) -> bool:
        ttl = self._default_ttl if timeout is None else self._ttl(timeout)
        extra = context_tags()
        if extra or tags:
            return self._tier.set(self.key_prefix + key, value, ttl, tags=[*tags, *extra])
        return self._tier.set(self.key_prefix + key, value, ttl)  # the hot path: no tags

    def add(
        self, key: str, value: Any, timeout: Timeout = None, *, tags: Sequence[str] = ()
    ) -> bool:
        tags = [*tags, *context_tags()]
        return self._tier.add(self.key_prefix + key, value, self._ttl(timeout), tags=tags)

    def set_many(
        self, mapping: dict[str, Any], timeout: Timeout = None, *, tags: Sequence[str] = ()
    ) -> list[Any]:
        items = {self.key_prefix + key: value for key, value in mapping.items()}
        tags = [*tags, *context_tags()]
        failed = set(self._tier.set_many(items, self._ttl(timeout), tags=tags))
        return [key for key in mapping if self.key_prefix + key not in failed]

    def delete_many(self, *keys: str) -> list[Any]:
        if self._tier.delete_many([self.key_prefix + key for key in keys]):
            return list(keys)
        return []  # the store could not be reached (fail-open): no key is known deleted

    def has(self, key: str) -> bool:
        return self._tier.has(self.key_prefix + key)

    def clear(self) -> bool:
        return self._tier.clear()

    def inc(self, key: str, delta: int = 1) -> int | None:
        """cachelib's inc: the new value, or None when the value is not an integer (or out of
        range), or when the store cannot be reached and the cache fails open."""
        try:
            return self._tier.incr(self.key_prefix + key, delta, create=True)
        except (TypeError, OverflowError):
            return None
        except CacheUnavailableError:
            if self._tier.fail_open:
                return None
            raise

    def dec(self, key: str, delta: int = 1) -> int | None:
        return self.inc(key, -delta)

    def get_or_set(
        self,
        key: str,
        compute: Callable[[], Any],
        timeout: Timeout = None,
        *,
        tags: Sequence[str] = (),
    ) -> Any:
        """The cached value of ``key``, or ``compute()`` stored, computed once at a time."""
        tags = [*tags, *context_tags()]
        return self._tier.get_or_set(self.key_prefix + key, compute, self._ttl(timeout), tags=tags)

    def invalidate_tags(self, *tags: str) -> bool:
        """Make every entry written with any of ``tags`` a miss, on every instance (see
        :mod:`serverless_cache.tags`), and with CACHE_OPTIONS["edge_distribution_id"] purge
        the paths ``edge_cache(tags=...)`` recorded; False when either did not take it."""
        return edge_tags.invalidate_tags(self._tier, tags, self.edge_distribution_id)

    def memoize(
        self, timeout: Timeout = None, *, tags: Sequence[str] = ()
    ) -> Callable[[Callable[..., R]], Callable[..., R]]:
        """Decorator caching a plain function's results through :meth:`get_or_set`
        (``cache.cache.memoize(60)``): unlike Flask-Caching's ``Cache.memoize``, a missing
        value is computed once at a time, with the stampede options of the tier."""
        return stampede.memoize(
            self._tier, self._ttl(timeout), make_key=lambda key: self.key_prefix + key, tags=tags
        )


__all__ = ["MISSING", "TierCache"]
