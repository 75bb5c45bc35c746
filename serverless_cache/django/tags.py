"""Django's ``cache_page`` with tags: the cached response (and its header list) is written with
``tags``, so ``cache.invalidate_tags(...)`` makes every page that shows a product a miss."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.middleware.cache import CacheMiddleware
from django.utils.decorators import decorator_from_middleware_with_args

from serverless_cache.errors import ConfigurationError
from serverless_cache.tags import check_tags

V = TypeVar("V", bound=Callable[..., Any])


class _TaggingCache:
    """The alias's backend, with every ``set`` written under the page's tags."""

    def __init__(self, cache: Any, tags: tuple[str, ...]) -> None:
        self._cache = cache
        self._tags = tags

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._cache.set(key, value, timeout, version, tags=self._tags)


class TaggedCacheMiddleware(CacheMiddleware):
    """Django's CacheMiddleware whose writes carry ``tags``."""

    def __init__(self, get_response: Any, tags: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(get_response, **kwargs)
        self.tags = check_tags(tags)

    @property
    def cache(self) -> Any:
        from serverless_cache.django.base import TierCache

        backend = caches[self.cache_alias]
        if not isinstance(backend, TierCache):
            raise ConfigurationError(
                f"cache_page(tags=...) needs a serverless_cache backend, but CACHES"
                f"[{self.cache_alias!r}] is {type(backend).__name__}"
            )
        return _TaggingCache(backend, self.tags)


def cache_page(
    timeout: float | None,
    *,
    tags: Sequence[str],
    cache: str | None = None,
    key_prefix: str | None = None,
) -> Callable[[V], V]:
    """``django.views.decorators.cache.cache_page`` whose entries are written with ``tags``."""
    return decorator_from_middleware_with_args(TaggedCacheMiddleware)(  # type: ignore[no-any-return]
        page_timeout=timeout, cache_alias=cache, key_prefix=key_prefix, tags=check_tags(tags)
    )
