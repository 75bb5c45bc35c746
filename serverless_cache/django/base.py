"""Django's cache API over a :class:`~serverless_cache.tiers.base.Tier`, written once.

Every Django backend of this package is this class plus the kind of tier it builds: key
making, timeout translation, key validation warnings and Django's return values live here, so
they are the same on every tier. The tier is built from a TierConfig, as for Flask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache, default_key_func

from serverless_cache import stampede
from serverless_cache.errors import ConfigurationError
from serverless_cache.options import pop_option
from serverless_cache.tiers import asynchronous as aio
from serverless_cache.tiers.base import MISSING, Tier
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.kinds import build_tier
from serverless_cache.tiers.views import cached_view

R = TypeVar("R")

_MAX_KEY_LENGTH = 250
_NO_OPTIONS: Mapping[str, Any] = {}


class TierCache(BaseCache):
    """A Django cache backend whose storage is the tier of kind :attr:`tier_kind`."""

    #: The tier this backend builds ("memory", "redis", "dynamodb", "layered" or a path).
    tier_kind: str = ""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.location = location
        self._options = params.get("OPTIONS") or _NO_OPTIONS
        self._prefix = prefix = self._clear_prefix()
        where = location if isinstance(location, str) else tuple(location or ())
        # One view per configuration and process: Django builds a backend per async context.
        self._tier = cached_view((self.tier_kind, where, prefix), self._options, self._build)
        self._default_ttl = None if self.default_timeout is None else float(self.default_timeout)

    def _build(self) -> Tier:
        options = dict(self._options)
        pop_option(options, "edge_distribution_id")
        config = TierConfig(location=self.location or "", options=options, key_prefix=self._prefix)
        return build_tier(self.tier_kind, config)

    def _clear_prefix(self) -> str:
        """The start of every key of this cache, which a shared tier's clear() removes."""
        if not self.key_prefix:
            return ""
        if self.key_func is default_key_func:
            return f"{self.key_prefix}:"
        return str(self.key_prefix)

    @property
    def edge_distribution_id(self) -> str | None:
        """The CloudFront distribution whose paths recorded by edge_cache(tags=...) in this
        cache invalidate_tags purges (OPTIONS EDGE_DISTRIBUTION_ID; read when asked, since
        Django builds a backend per async context)."""
        distribution_id: str | None = pop_option(dict(self._options), "edge_distribution_id")
        return distribution_id

    @edge_distribution_id.setter
    def edge_distribution_id(self, value: str | None) -> None:
        raise ConfigurationError(
            "set OPTIONS['EDGE_DISTRIBUTION_ID'] in CACHES instead: Django builds a backend "
            "per async context, so a distribution set on one would be lost on the next"
        )

    @property
    def tier(self) -> Tier:
        """The tier behind this backend, for features beyond Django's API (ttl, locks...)."""
        return self._tier

    def _ttl(self, timeout: Any) -> float | None:
        """Django timeout -> tier ttl: DEFAULT_TIMEOUT, None = forever, <= 0 = expire now."""
        if timeout is DEFAULT_TIMEOUT:
            return self._default_ttl
        return None if timeout is None else float(timeout)

    def make_and_validate_key(self, key: Any, version: int | None = None) -> str:
        """Django's key, validated by a cheap check first and Django's own only if it fails."""
        if version is None:
            version = self.version
        if self.key_func is default_key_func:
            key = f"{self.key_prefix}:{version}:{key}"
        else:
            key = self.key_func(key, self.key_prefix, version)
        if len(key) > _MAX_KEY_LENGTH or not key.isprintable() or " " in key:
            self.validate_key(key)
        return key  # type: ignore[no-any-return]

    def _final_keys(self, keys: Iterable[Any], version: int | None) -> dict[str, Any]:
        """Final key -> the caller's key, for a batch: version and key function resolved once."""
        if version is None:
            version = self.version
        if self.key_func is not default_key_func:
            return {self.make_and_validate_key(key, version): key for key in keys}
        head = f"{self.key_prefix}:{version}:"
        by_final: dict[str, Any] = {}
        for key in keys:
            final = f"{head}{key}"
            if len(final) > _MAX_KEY_LENGTH or not final.isprintable() or " " in final:
                self.validate_key(final)
            by_final[final] = key
        return by_final

    # -- Django's API ----------------------------------------------------------------------
    def add(
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        *,
        tags: Sequence[str] | None = None,
    ) -> bool:
        final = self.make_and_validate_key(key, version)
        return self._tier.add(final, value, self._ttl(timeout), tags=tags)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._tier.get(self.make_and_validate_key(key, version), default)

    def set(
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        *,
        tags: Sequence[str] | None = None,
    ) -> None:
        final = self.make_and_validate_key(key, version)
        self._tier.set(final, value, self._ttl(timeout), tags=tags)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._tier.touch(self.make_and_validate_key(key, version), self._ttl(timeout))

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._tier.delete(self.make_and_validate_key(key, version))

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        by_final = self._final_keys(keys, version)
        found = self._tier.get_many(list(by_final))
        return {by_final[final]: value for final, value in found.items()}

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._tier.has(self.make_and_validate_key(key, version))

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        try:
            return self._tier.incr(self.make_and_validate_key(key, version), delta)
        except KeyError:
            raise ValueError(f"Key '{key}' not found") from None

    def set_many(
        self,
        data: Mapping[Any, Any],
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        *,
        tags: Sequence[str] | None = None,
    ) -> list[Any]:
        by_final = self._final_keys(data, version)
        items = {final: data[key] for final, key in by_final.items()}
        failed = self._tier.set_many(items, self._ttl(timeout), tags=tags)
        return [by_final[final] for final in failed]

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        self._tier.delete_many(list(self._final_keys(keys, version)))

    def clear(self) -> None:
        self._tier.clear()

    def close(self, **kwargs: Any) -> None:
        self._tier.close()

    def get_or_set(
        self,
        key: Any,
        default: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        *,
        tags: Sequence[str] | None = None,
    ) -> Any:
        """Django's get_or_set, computed once at a time (see :mod:`serverless_cache.stampede`)."""
        compute = default if callable(default) else lambda: default
        final = self.make_and_validate_key(key, version)
        return self._tier.get_or_set(final, compute, self._ttl(timeout), tags=tags)

    def invalidate_tags(self, *tags: str) -> bool:
        """Make every entry written with any of ``tags`` a miss, on every instance (see
        :mod:`serverless_cache.tags`), and with EDGE_DISTRIBUTION_ID purge the paths
        ``edge_cache(tags=...)`` recorded; False when the store or CloudFront did not take it."""
        from serverless_cache.http import edge_tags  # the edge code loads only when used

        return edge_tags.invalidate_tags(self._tier, tags, self.edge_distribution_id)

    def memoize(
        self, timeout: Any = DEFAULT_TIMEOUT, *, tags: Sequence[str] | None = None
    ) -> Callable[[Callable[..., R]], Callable[..., R]]:
        """Decorator caching a plain function's results, computed once at a time."""
        return stampede.memoize(
            self._tier, self._ttl(timeout), make_key=self.make_and_validate_key, tags=tags
        )

    # -- async: the contract's coroutines (serverless_cache.tiers.asynchronous), which await
    # the store where the tier talks to it in asyncio (Redis) and use a worker thread else --
    async def aadd(
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        *,
        tags: Sequence[str] | None = None,
    ) -> bool:
        final = self.make_and_validate_key(key, version)
        return await aio.add(self._tier, final, value, self._ttl(timeout), tags=tags)

    async def aget(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return await aio.get(self._tier, self.make_and_validate_key(key, version), default)

    async def aset(
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        *,
        tags: Sequence[str] | None = None,
    ) -> None:
        final = self.make_and_validate_key(key, version)
        await aio.set(self._tier, final, value, self._ttl(timeout), tags=tags)

    async def atouch(
        self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        final = self.make_and_validate_key(key, version)
        return await aio.touch(self._tier, final, self._ttl(timeout))

    async def adelete(self, key: Any, version: int | None = None) -> bool:
        return await aio.delete(self._tier, self.make_and_validate_key(key, version))

    async def aget_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        by_final = self._final_keys(keys, version)
        found = await aio.get_many(self._tier, list(by_final))
        return {by_final[final]: value for final, value in found.items()}

    async def ahas_key(self, key: Any, version: int | None = None) -> bool:
        return await aio.has(self._tier, self.make_and_validate_key(key, version))

    async def aincr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        try:
            return await aio.incr(self._tier, self.make_and_validate_key(key, version), delta)
        except KeyError:
            raise ValueError(f"Key '{key}' not found") from None

    async def aset_many(
        self,
        data: Mapping[Any, Any],
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        *,
        tags: Sequence[str] | None = None,
    ) -> list[Any]:
        by_final = self._final_keys(data, version)
        items = {final: data[key] for final, key in by_final.items()}
        failed = await aio.set_many(self._tier, items, self._ttl(timeout), tags=tags)
        return [by_final[final] for final in failed]

    async def adelete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        await aio.delete_many(self._tier, list(self._final_keys(keys, version)))

    async def aclear(self) -> None:
        await aio.run_sync(self._tier, self.clear)

    async def aclose(self, **kwargs: Any) -> None:
        await aio.run_sync(self._tier, self.close)

    async def aget_or_set(
        self,
        key: Any,
        default: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        *,
        tags: Sequence[str] | None = None,
    ) -> Any:
        return await aio.run_sync(
            self._tier, self.get_or_set, key, default, timeout, version, tags=tags
        )

    async def ainvalidate_tags(self, *tags: str) -> bool:
        return await aio.run_sync(self._tier, self.invalidate_tags, *tags)


__all__ = ["DEFAULT_TIMEOUT", "MISSING", "TierCache"]
