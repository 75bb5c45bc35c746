"""Flask view decorators and the ``EdgeCache`` extension (default policy, safety rule).

``@edge_cache(max_age=60, s_maxage=300)`` decorates a view function, a class-based view or a
whole blueprint. Flask saves the session (and sets its cookie and ``Vary: Cookie``) after
every ``after_request`` hook, so :class:`EdgeCache` runs the edge-header pipeline
(:mod:`serverless_cache.http.pipeline`) again one level lower, on the WSGI headers that are
really sent; without it the decorators log a warning. Only GET and HEAD responses get a
policy.
"""

from __future__ import annotations

import functools
import inspect
import logging
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, request
from flask.globals import _cv_request
from flask.sessions import SessionMixin
from flask.views import View
from werkzeug.datastructures import EnvironHeaders, Headers
from werkzeug.wrappers import Response

from serverless_cache.errors import ConfigurationError
from serverless_cache.http import edge_tags
from serverless_cache.http.pipeline import Later, finish
from serverless_cache.http.policy import (
    NO_EDGE_CACHE,
    CachePolicy,
    build_policy,
    policy_from_setting,
)
from serverless_cache.http.policy import POLICY_ATTRIBUTE as POLICY_ATTRIBUTE  # for routes.py
from serverless_cache.tags import check_tags

V = TypeVar("V")

#: WSGI environ keys through which a view tells the extension what it decided.
FORCE_SHARED_KEY = "serverless_cache.force_shared"
ENDPOINT_KEY = "serverless_cache.endpoint"
CONFIG_KEY = "EDGE_CACHE_DEFAULT"
#: Where :class:`EdgeCache` registers itself in ``app.extensions``.
EXTENSION_KEY = "serverless_cache.edge"
MISSING_EXTENSION = (
    "edge_cache is used in Flask app %r without EdgeCache(app): cookies set by after_request "
    "hooks and extensions after the view are not seen, so such a response can leave with a "
    "shared lifetime. Add EdgeCache(app)."
)

logger = logging.getLogger("serverless_cache.http")


def edge_cache(policy: CachePolicy | None = None, /, **directives: Any) -> Callable[[V], V]:
    """Decorate a view, a class-based view or a blueprint with ``policy`` (or directives).

    With ``tags=[...]`` and ``cache=`` (a Flask-Caching ``Cache`` on a serverless_cache
    backend), each path a shared cache may keep is recorded under the tags in that cache; its
    backend's ``invalidate_tags`` then also purges those paths at CloudFront
    (``CACHE_OPTIONS["edge_distribution_id"]``): see :mod:`..http.edge_tags`.
    """
    tags: Sequence[str] | None = directives.pop("tags", None)
    cache: Any = directives.pop("cache", None)
    tagging = None
    if tags:
        if cache is None:
            raise ConfigurationError("edge_cache(tags=...) needs cache=: the Flask-Caching Cache")
        tagging = EdgeTagging(check_tags(tags), cache)
    return _decorator(build_policy(policy, directives), tagging)


class EdgeTagging:
    """The tags of an ``edge_cache`` view and the Flask-Caching Cache that records its paths."""

    def __init__(self, tags: tuple[str, ...], cache: Any) -> None:
        self.tags = tags
        self.cache = cache

    def record(self, path: str, final: CachePolicy) -> None:
        from serverless_cache.flask.base import TierCache

        lifetime = edge_tags.edge_lifetime(final)
        if lifetime is None:
            return
        backend = self.cache.cache
        if not isinstance(backend, TierCache):
            raise ConfigurationError(
                "edge_cache(tags=...) records paths in its cache=, whose CACHE_TYPE must be a "
                f"serverless_cache backend, not {type(backend).__name__}"
            )
        edge_tags.record(backend.tier, self.tags, path, lifetime)


def no_edge_cache(target: V) -> V:
    """Decorate a view (or blueprint) so no cache keeps its responses."""
    return _decorator(NO_EDGE_CACHE)(target)


def _decorator(policy: CachePolicy, tagging: EdgeTagging | None = None) -> Callable[[V], V]:
    def decorate(target: V) -> V:
        if isinstance(target, Blueprint):
            target.after_request(lambda response: apply_policy(response, policy, tagging))
        elif isinstance(target, type) and issubclass(target, View):
            target.decorators = [*target.decorators, _decorator(policy, tagging)]
        else:
            target = _wrap(target, policy, tagging)  # type: ignore[arg-type]
        setattr(target, POLICY_ATTRIBUTE, policy)
        return target

    return decorate


def _wrap(view: Callable[..., Any], policy: CachePolicy, tagging: EdgeTagging | None) -> Any:
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_view(*args: Any, **kwargs: Any) -> Response:
            response = current_app.make_response(await view(*args, **kwargs))
            return apply_policy(response, policy, tagging)

        return async_view

    @functools.wraps(view)
    def sync_view(*args: Any, **kwargs: Any) -> Response:
        return apply_policy(current_app.make_response(view(*args, **kwargs)), policy, tagging)

    return sync_view


def apply_policy(
    response: Response, policy: CachePolicy, tagging: EdgeTagging | None = None
) -> Response:
    """Run the edge-header pipeline on a response of the current request (and record its
    path under the view's tags when a shared cache may keep it)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if EXTENSION_KEY not in app.extensions:
        _warn_without_extension(app)
    session = _untouched_session()
    final = finish(
        _ResponseHeaders(response.headers),
        request.headers,
        method=request.method,
        status=response.status_code,
        policy=policy,
        where=f"endpoint {request.endpoint}",
        later=Later(
            sets_cookie=_session_will_set_cookie(app),
            varies_on_cookie=bool(getattr(session, "accessed", False)),
        ),
    )
    if final.force_shared:
        request.environ[FORCE_SHARED_KEY] = True
    if tagging is not None and response.status_code == 200:
        tagging.record(request.path, final)
    return response


_warned_apps: weakref.WeakSet[Flask] = weakref.WeakSet()


def _warn_without_extension(app: Flask) -> None:
    """Say once per app that the decorators alone miss cookies set after the view."""
    if app in _warned_apps:
        return
    _warned_apps.add(app)
    logger.warning(MISSING_EXTENSION, app.name)


class _ResponseHeaders:
    """The pipeline's view of Werkzeug headers: repeated headers read as one joined value."""

    def __init__(self, headers: Headers) -> None:
        self.headers = headers

    def get(self, name: str) -> str | None:
        values = self.headers.getlist(name)
        return ", ".join(values) if values else None

    def set(self, name: str, value: str) -> None:
        self.headers[name] = value

    def delete(self, name: str) -> None:
        self.headers.pop(name, None)


def _untouched_session() -> SessionMixin | None:
    """The request's session, read without setting its ``accessed`` flag (since Flask 3.1.3
    the ``session`` proxy sets it, which would add ``Vary: Cookie`` to every response)."""
    state = vars(_cv_request.get())
    return state.get("_session", state.get("session"))


def _session_will_set_cookie(app: Flask) -> bool:
    """Whether saving the session will send a cookie, read without marking it accessed."""
    sess = _untouched_session()
    if sess is None or app.session_interface.is_null_session(sess):
        return False
    if getattr(sess, "modified", False):
        return True
    permanent = dict.get(sess, "_permanent", False) if isinstance(sess, dict) else False
    return bool(sess) and bool(permanent) and bool(app.config["SESSION_REFRESH_EACH_REQUEST"])


class EdgeCache:
    """Flask extension: a default policy for GET/HEAD responses without ``Cache-Control``
    (``EDGE_CACHE_DEFAULT`` in the app config, or ``default=``) and the safety rule on every
    response, applied to the headers actually sent, after the session is saved.
    """

    def __init__(self, app: Flask | None = None, *, default: CachePolicy | None = None) -> None:
        self.default = default
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        default = self.default or policy_from_setting(app.config.get(CONFIG_KEY), CONFIG_KEY)
        app.before_request(_remember_endpoint)
        app.wsgi_app = _SafetyMiddleware(app.wsgi_app, default)  # type: ignore[method-assign]
        app.extensions[EXTENSION_KEY] = self


def _remember_endpoint() -> None:
    request.environ[ENDPOINT_KEY] = request.endpoint


class _SafetyMiddleware:
    """WSGI layer that rewrites ``Cache-Control`` in ``start_response``."""

    def __init__(self, wsgi_app: Any, default: CachePolicy | None) -> None:
        self.wsgi_app = wsgi_app
        self.default = default

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        def patched(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, self.finish(environ, status, headers), exc_info)

        return self.wsgi_app(environ, patched)  # type: ignore[no-any-return]

    def finish(
        self, environ: dict[str, Any], status: str, header_list: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        headers = Headers(header_list)
        own = "Cache-Control" in headers or "Expires" in headers
        where = environ.get(ENDPOINT_KEY) or environ.get("PATH_INFO", "?")
        finish(
            _ResponseHeaders(headers),
            EnvironHeaders(environ),
            method=environ.get("REQUEST_METHOD", "GET"),
            status=int(status.split()[0]),
            policy=None if own else self.default,
            where=f"endpoint {where}",
            force_shared=bool(environ.get(FORCE_SHARED_KEY)),
        )
        return headers.to_wsgi_list()
