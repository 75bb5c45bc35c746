"""Flask view decorators and the ``EdgeCache`` extension (default policy, safety rule).

``@edge_cache(max_age=60, s_maxage=300)`` decorates a view function, a class-based view or a
whole blueprint. Flask saves the session (and sets its cookie and ``Vary: Cookie``) after
every ``after_request`` hook, so :class:`EdgeCache` enforces the safety rule one level lower,
on the WSGI headers that are really sent. Only GET and HEAD responses get a policy.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, request
from flask.globals import _cv_request
from flask.sessions import SessionMixin
from flask.views import View
from werkzeug.datastructures import Headers
from werkzeug.http import parse_cookie
from werkzeug.wrappers import Response

from serverless_cache.http.policy import (
    NO_EDGE_CACHE,
    SAFE_METHODS,
    CachePolicy,
    build_policy,
    policy_from_setting,
)
from serverless_cache.http.policy import POLICY_ATTRIBUTE as POLICY_ATTRIBUTE  # for routes.py
from serverless_cache.http.safety import ExchangeFacts, final_policy, varies_on_cookie

V = TypeVar("V")

#: WSGI environ keys through which a view tells the extension what it decided.
FORCE_SHARED_KEY = "serverless_cache.force_shared"
ENDPOINT_KEY = "serverless_cache.endpoint"
CONFIG_KEY = "EDGE_CACHE_DEFAULT"


def edge_cache(policy: CachePolicy | None = None, /, **directives: Any) -> Callable[[V], V]:
    """Decorate a view, a class-based view or a blueprint with ``policy`` (or directives)."""
    return _decorator(build_policy(policy, directives))


def no_edge_cache(target: V) -> V:
    """Decorate a view (or blueprint) so no cache keeps its responses."""
    return _decorator(NO_EDGE_CACHE)(target)


def _decorator(policy: CachePolicy) -> Callable[[V], V]:
    def decorate(target: V) -> V:
        if isinstance(target, Blueprint):
            target.after_request(lambda response: apply_policy(response, policy))
        elif isinstance(target, type) and issubclass(target, View):
            target.decorators = [*target.decorators, _decorator(policy)]
        else:
            target = _wrap(target, policy)  # type: ignore[arg-type]
        setattr(target, POLICY_ATTRIBUTE, policy)
        return target

    return decorate


def _wrap(view: Callable[..., Any], policy: CachePolicy) -> Any:
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_view(*args: Any, **kwargs: Any) -> Response:
            return apply_policy(current_app.make_response(await view(*args, **kwargs)), policy)

        return async_view

    @functools.wraps(view)
    def sync_view(*args: Any, **kwargs: Any) -> Response:
        return apply_policy(current_app.make_response(view(*args, **kwargs)), policy)

    return sync_view


def apply_policy(response: Response, policy: CachePolicy) -> Response:
    """Merge ``policy`` into the response's headers and apply the safety rule."""
    if request.method not in SAFE_METHODS:
        return response
    if policy.vary:
        response.vary.update(policy.vary)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    facts = ExchangeFacts(
        status=response.status_code,
        sets_cookie="Set-Cookie" in response.headers or _session_will_set_cookie(app),
        authorization="Authorization" in request.headers,
        request_cookies=request.cookies,
        session_cookie=app.session_interface.get_cookie_name(app),
        varies_on_cookie=varies_on_cookie(response.headers.get("Vary"))
        or bool(getattr(_untouched_session(), "accessed", False)),
    )
    final = final_policy(
        response.headers.get("Cache-Control"),
        response.headers.get("Vary"),
        facts,
        policy=policy,
        where=f"endpoint {request.endpoint}",
    )
    _write(response.headers, final)
    if final.force_shared:
        request.environ[FORCE_SHARED_KEY] = True
    return response


def _untouched_session() -> SessionMixin | None:
    """The request's session, read without setting its ``accessed`` flag (since Flask 3.1.3
    the ``session`` proxy sets it, which would add ``Vary: Cookie`` to every response)."""
    state = vars(_cv_request.get())
    return state.get("_session", state.get("session"))  # type: ignore[no-any-return]


def _session_will_set_cookie(app: Flask) -> bool:
    """Whether saving the session will send a cookie, read without marking it accessed."""
    sess = _untouched_session()
    if sess is None or app.session_interface.is_null_session(sess):
        return False
    if getattr(sess, "modified", False):
        return True
    permanent = dict.get(sess, "_permanent", False) if isinstance(sess, dict) else False
    return bool(sess) and bool(permanent) and bool(app.config["SESSION_REFRESH_EACH_REQUEST"])


def _write(headers: Headers, final: CachePolicy) -> None:
    if final.cache_control:
        headers["Cache-Control"] = final.cache_control
    else:
        headers.pop("Cache-Control", None)


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
        app.wsgi_app = _SafetyMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, default, app.session_interface.get_cookie_name(app)
        )


def _remember_endpoint() -> None:
    request.environ[ENDPOINT_KEY] = request.endpoint


class _SafetyMiddleware:
    """WSGI layer that rewrites ``Cache-Control`` in ``start_response``."""

    def __init__(self, wsgi_app: Any, default: CachePolicy | None, session_cookie: str) -> None:
        self.wsgi_app = wsgi_app
        self.default = default
        self.session_cookie = session_cookie

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        def patched(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, self.finish(environ, status, headers), exc_info)

        return self.wsgi_app(environ, patched)  # type: ignore[no-any-return]

    def finish(
        self, environ: dict[str, Any], status: str, header_list: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        headers = Headers(header_list)
        policy = None
        if environ.get("REQUEST_METHOD") in SAFE_METHODS and "Cache-Control" not in headers:
            policy = self.default
        if policy is None and "Cache-Control" not in headers:
            return header_list
        if policy is not None and policy.vary:
            known = {v.strip().lower() for v in headers.get("Vary", "").split(",")}
            added = [v for v in policy.vary if v.lower() not in known]
            if added:
                headers["Vary"] = ", ".join(filter(None, [headers.get("Vary"), *added]))
        facts = ExchangeFacts(
            status=int(status.split()[0]),
            sets_cookie="Set-Cookie" in headers,
            authorization="HTTP_AUTHORIZATION" in environ,
            request_cookies=parse_cookie(environ),
            session_cookie=self.session_cookie,
            varies_on_cookie=varies_on_cookie(headers.get("Vary")),
        )
        where = environ.get(ENDPOINT_KEY) or environ.get("PATH_INFO", "?")
        final = final_policy(
            headers.get("Cache-Control"),
            headers.get("Vary"),
            facts,
            policy=policy,
            force_shared=bool(environ.get(FORCE_SHARED_KEY)),
            where=f"endpoint {where}",
        )
        _write(headers, final)
        return headers.to_wsgi_list()
