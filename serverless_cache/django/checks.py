"""System check: the edge safety rule needs EdgeCacheMiddleware first in MIDDLEWARE.

The ``edge_cache`` decorator runs before the session and CSRF middleware set their cookies;
it predicts what they will do, but only the middleware, placed first, sees every cookie that
is really sent (for instance one set by a third-party middleware).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage
from django.core.checks import Warning as CheckWarning

EDGE_MIDDLEWARE = "serverless_cache.django.middleware.EdgeCacheMiddleware"
#: Middleware that set cookies after the view has returned.
COOKIE_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
)
HINT = f"Put {EDGE_MIDDLEWARE!r} first in MIDDLEWARE."


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
