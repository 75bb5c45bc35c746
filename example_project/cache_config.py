"""The example apps' cache configuration, chosen from the environment.

``EXAMPLE_CACHE_TIERS`` lists the tiers, fastest first (default ``memory``: the execution
context tier alone, nothing to run).
"""

from __future__ import annotations

import os
from typing import Any

#: The tiers this configuration can build (the shared tiers join when their backends exist).
SUPPORTED_TIERS = ("memory",)
#: Seconds a product stays cached.
PRODUCT_TTL = 300
#: Seconds API Gateway's stage cache and CloudFront keep a response (``s-maxage``).
EDGE_TTL = 60
#: Seconds a rendered page stays cached (``cache_page`` / ``@cache.cached``).
PAGE_TTL = 60


def tier_names() -> list[str]:
    """The configured tiers, e.g. ``["memory"]``."""
    names = os.environ.get("EXAMPLE_CACHE_TIERS", "memory")
    return [name.strip() for name in names.split(",") if name.strip()]


def _check(names: list[str]) -> None:
    if names != ["memory"]:
        raise ValueError(f"unsupported EXAMPLE_CACHE_TIERS {names!r}; use 'memory'")


def django_caches() -> dict[str, dict[str, Any]]:
    """Django's ``CACHES`` for the configured tiers."""
    _check(tier_names())
    return {
        "default": {
            "BACKEND": "serverless_cache.django.ExecutionContextCache",
            "LOCATION": "example-django",
            "TIMEOUT": PRODUCT_TTL,
            "OPTIONS": {"MAX_ENTRIES": 5_000},
        }
    }


def flask_config() -> dict[str, Any]:
    """Flask-Caching's config for the configured tiers."""
    _check(tier_names())
    return {
        "CACHE_TYPE": "serverless_cache.flask.ExecutionContextCache",
        "CACHE_DEFAULT_TIMEOUT": PRODUCT_TTL,
        "CACHE_OPTIONS": {"name": "example-flask", "max_entries": 5_000},
    }
