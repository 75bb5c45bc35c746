"""Django view decorators that give a response its edge cache policy.

``@edge_cache(max_age=60, s_maxage=300)`` runs the edge-header pipeline
(:mod:`serverless_cache.http.pipeline`): the policy is merged into whatever ``Cache-Control``
the view set (Django's ``patch_cache_control`` rules, see :meth:`CachePolicy.merge`), its
``Vary`` names are added and the safety rule is applied. Works on function
views, class-based views (decorate the class) and async views. Only GET and HEAD responses
get a policy: nothing else is cached at the edge.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from serverless_cache.errors import ConfigurationError
from serverless_cache.http import edge_tags
from serverless_cache.http.pipeline import Later, finish
from serverless_cache.http.policy import NO_EDGE_CACHE, CachePolicy, build_policy
from serverless_cache.http.policy import POLICY_ATTRIBUTE as POLICY_ATTRIBUTE  # for routes.py
from serverless_cache.tags import check_tags

V = TypeVar("V")

#: Set on a response whose policy has ``force_shared``, so the middleware respects it too.
FORCE_SHARED_ATTRIBUTE = "serverless_cache_force_shared"
#: Set on a view where ``edge_cache`` wraps ``cache_page``: the unsafe order (check W003).
WRAPS_CACHE_PAGE_ATTRIBUTE = "serverless_cache_wraps_cache_page"


def edge_cache(policy: CachePolicy | None = None, /, **directives: Any) -> Callable[[V], V]:
    """Decorate a view so its GET/HEAD responses carry ``policy`` (or these directives).

    With ``tags=[...]``, each path a shared cache may keep is recorded under them in the
    cache alias ``cache=`` ("default"); its ``invalidate_tags`` then also purges those paths
    at CloudFront (its OPTIONS["EDGE_DISTRIBUTION_ID"]): see :mod:`..http.edge_tags`.
    """
    tags: Sequence[str] | None = directives.pop("tags", None)
    cache: str = directives.pop("cache", "default")
    tagging = EdgeTagging(check_tags(tags), cache) if tags else None
    return _decorator(build_policy(policy, directives), tagging)


@dataclass(frozen=True)
class EdgeTagging:
    """The tags of an ``edge_cache`` view and the cache alias that records its paths."""

    tags: tuple[str, ...]
    cache: str

    def record(self, path: str, final: CachePolicy) -> None:
        from django.core.cache import caches

        from serverless_cache.django.base import TierCache

        lifetime = edge_tags.edge_lifetime(final)
        if lifetime is None:
            return
        backend = caches[self.cache]
        if not isinstance(backend, TierCache):
            raise ConfigurationError(
                f"edge_cache(tags=...) records paths in CACHES[{self.cache!r}], which must be "
                f"a serverless_cache backend, not {type(backend).__name__}"
            )
        edge_tags.record(backend.tier, self.tags, path, lifetime)


def no_edge_cache(view: V) -> V:
    """Decorate a view so no cache (edge or browser) keeps its responses."""
    return _decorator(NO_EDGE_CACHE)(view)


def _decorator(policy: CachePolicy, tagging: EdgeTagging | None = None) -> Callable[[V], V]:
    def decorate(view: V) -> V:
        where = f"view {view.__module__}.{view.__qualname__}"  # type: ignore[attr-defined]
        if isinstance(view, type):
            dispatch = view.dispatch  # type: ignore[attr-defined]
            view.dispatch = _wrap(dispatch, policy, 1, where, tagging)  # type: ignore[attr-defined]
            setattr(view, POLICY_ATTRIBUTE, policy)
            return view
        wrapped = _wrap(view, policy, 0, where, tagging)  # type: ignore[arg-type]
        setattr(wrapped, POLICY_ATTRIBUTE, policy)
        if wraps_cache_page(view):
            setattr(wrapped, WRAPS_CACHE_PAGE_ATTRIBUTE, True)
        return wrapped  # type: ignore[no-any-return]

    return decorate


def wraps_cache_page(view: Any) -> bool:
    """Whether ``view`` is (or wraps) a ``cache_page`` view: Django's middleware decorators
    keep the middleware in the closures of the wrapper they return."""
    from django.middleware.cache import UpdateCacheMiddleware

    pending, seen = [view], set[int]()
    while pending and len(seen) < 50:
        function = pending.pop()
        if id(function) in seen:
            continue
        seen.add(id(function))
        for cell in getattr(function, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if isinstance(value, UpdateCacheMiddleware):
                return True
            if inspect.isfunction(value):
                pending.append(value)
        if hasattr(function, "__wrapped__"):
            pending.append(function.__wrapped__)
    return False


def _wrap(
    view: Callable[..., Any],
    policy: CachePolicy,
    request_index: int,
    where: str,
    tagging: EdgeTagging | None = None,
) -> Any:

    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_view(*args: Any, **kwargs: Any) -> Any:
            response = await view(*args, **kwargs)
            request = args[request_index]
            return apply_policy(request, response, policy, where=where, tagging=tagging)

        return async_view

    @functools.wraps(view)
    def sync_view(*args: Any, **kwargs: Any) -> Any:
        response = view(*args, **kwargs)
        if inspect.isawaitable(response):  # the dispatch() of an async class-based view
            return _finish_later(args[request_index], response, policy, where, tagging)
        return apply_policy(args[request_index], response, policy, where=where, tagging=tagging)

    return sync_view


async def _finish_later(
    request: HttpRequest,
    pending: Awaitable[HttpResponseBase],
    policy: CachePolicy,
    where: str,
    tagging: EdgeTagging | None,
) -> HttpResponseBase:
    return apply_policy(request, await pending, policy, where=where, tagging=tagging)


def apply_policy(
    request: HttpRequest,
    response: HttpResponseBase,
    policy: CachePolicy | None,
    *,
    where: str,
    tagging: EdgeTagging | None = None,
) -> HttpResponseBase:
    """Run the edge-header pipeline on a Django response (and record its path under the
    view's tags when a shared cache may keep it)."""
    final = finish(
        _ResponseHeaders(response),
        request.headers,
        method=request.method or "GET",
        status=response.status_code,
        policy=policy,
        where=where,
        force_shared=getattr(response, FORCE_SHARED_ATTRIBUTE, False),
        later=_later(request),
    )
    if final.force_shared:
        setattr(response, FORCE_SHARED_ATTRIBUTE, True)
    if tagging is not None and response.status_code == 200:
        tagging.record(request.path, final)
    return response


class _ResponseHeaders:
    """The pipeline's view of a Django response: ``response.cookies`` count as Set-Cookie."""

    def __init__(self, response: HttpResponseBase) -> None:
        self.response = response

    def get(self, name: str) -> str | None:
        values = [self.response[name]] if self.response.has_header(name) else []
        if name.lower() == "set-cookie":
            values += [morsel.OutputString() for morsel in self.response.cookies.values()]
        return ", ".join(values) if values else None

    def set(self, name: str, value: str) -> None:
        self.response[name] = value

    def delete(self, name: str) -> None:
        if self.response.has_header(name):
            del self.response[name]


def _later(request: HttpRequest) -> Later:
    """What the session and CSRF middleware will do after the view (the decorator runs before
    them): set their cookies, and add ``Vary: Cookie`` for a session that was read."""
    session = getattr(request, "session", None)
    return Later(
        sets_cookie=bool(request.META.get("CSRF_COOKIE_NEEDS_UPDATE"))
        or _session_will_set_cookie(request, session),
        varies_on_cookie=bool(getattr(session, "accessed", False)),
    )


def _session_will_set_cookie(request: HttpRequest, session: Any) -> bool:
    """Whether SessionMiddleware will send the session cookie: when the session was modified
    or is saved on every request, or when it deletes the cookie of an empty session."""
    if session is None:
        return False
    if getattr(session, "modified", False):
        return True
    is_empty = getattr(session, "is_empty", None)
    if is_empty is None:
        return False
    if is_empty():
        return settings.SESSION_COOKIE_NAME in request.COOKIES
    return bool(settings.SESSION_SAVE_EVERY_REQUEST)
