"""System checks: CACHES builds, and the edge safety rule's middleware and decorator order.

E001: a cache alias whose options are wrong is reported as an error naming the alias and the
option, instead of a traceback from the first code that builds it.
W001/W002: the ``edge_cache`` decorator runs before the session and CSRF middleware set their
cookies; it predicts what they will do, but only EdgeCacheMiddleware, placed first, sees every
cookie that is really sent (for instance one set by a third-party middleware).
W003: ``edge_cache`` must be inside ``cache_page``, not outside it.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.cache import caches
from django.core.checks import CheckMessage
from django.core.checks import Error as CheckError
from django.core.checks import Warning as CheckWarning

from serverless_cache.errors import ConfigurationError

Check = Callable[..., list[CheckMessage]]

EDGE_MIDDLEWARE = "serverless_cache.django.middleware.EdgeCacheMiddleware"
#: Middleware that set cookies after the view has returned.
COOKIE_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
)
HINT = f"Put {EDGE_MIDDLEWARE!r} first in MIDDLEWARE."


def check_caches(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """Build every alias of CACHES; a ConfigurationError becomes an error naming the alias."""
    errors: list[CheckMessage] = []
    for alias in getattr(settings, "CACHES", None) or {}:
        try:
            caches[alias]
        except ConfigurationError as exc:
            errors.append(
                CheckError(str(exc), obj=f"CACHES[{alias!r}]", id="serverless_cache.E001")
            )
    return errors


def _leaving_bad_aliases_to_check_caches(check: Check) -> Check:
    """A Django cache check that gives way when a cache cannot be built: Django's own checks
    build every alias and would end ``manage.py check`` with a traceback before
    :func:`check_caches` reports the same problem with its alias."""

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> list[CheckMessage]:
        try:
            return check(*args, **kwargs)
        except ConfigurationError:
            return []  # check_caches reports it

    return wrapper


def register_checks() -> None:
    """Register this app's checks (from its ``ready``) and make Django's cache checks give way."""
    checks.register(check_caches, checks.Tags.caches)
    checks.register(check_edge_middleware, checks.Tags.security)
    checks.register(check_cache_page_order, checks.Tags.security)
    registry = checks.registry.registry
    for deploy, registered in (
        (False, registry.registered_checks),
        (True, registry.deployment_checks),
    ):
        for check in list(registered):
            ours = hasattr(check, "__wrapped__")  # wrapped already (ready() ran before)
            if getattr(check, "__module__", "") == "django.core.checks.caches" and not ours:
                registered.discard(check)
                registry.register(
                    _leaving_bad_aliases_to_check_caches(check), *check.tags, deploy=deploy
                )


def check_cache_page_order(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn for every view where ``edge_cache`` wraps ``cache_page``."""
    from serverless_cache.django.routes import views_wrapping_cache_page

    try:
        found = views_wrapping_cache_page()
    except Exception:  # a broken URLconf is reported by Django's own URL check
        return []
    return [
        CheckWarning(
            f"View {name} at {path} has edge_cache outside cache_page: cache_page stores the "
            "response before the session middleware adds Vary: Cookie, so a logged-in "
            "user's page can be served to others with a shared lifetime.",
            hint="Put @cache_page outside (above) @edge_cache, so edge_cache sees the response "
            "first and marks a personal one private, which cache_page does not store.",
            id="serverless_cache.W003",
        )
        for path, name in found
    ]


def check_edge_middleware(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn when EdgeCacheMiddleware is not first, or missing where cookies are set late."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    if EDGE_MIDDLEWARE in middleware:
        if middleware[0] == EDGE_MIDDLEWARE:
            return []
        return [
            CheckWarning(
                "EdgeCacheMiddleware is not first in MIDDLEWARE, so it does not see the "
                "cookies set by the middleware before it and cannot keep those responses "
                "out of shared caches.",
                hint=HINT,
                id="serverless_cache.W001",
            )
        ]
    cookie_middleware = [name for name in COOKIE_MIDDLEWARE if name in middleware]
    if cookie_middleware and _uses_edge_cache():
        return [
            CheckWarning(
                f"Views use edge_cache with {' and '.join(cookie_middleware)} but without "
                "EdgeCacheMiddleware, so a cookie set by other middleware after the view can "
                "be sent with a shared-cache lifetime.",
                hint=HINT,
                id="serverless_cache.W002",
            )
        ]
    return []


def _uses_edge_cache() -> bool:
    """Whether a route of the URLconf has an edge policy (a broken URLconf is reported by
    Django's own URL check, not here)."""
    from serverless_cache.django.routes import edge_routes

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bool(edge_routes())
    except Exception:
        return False
