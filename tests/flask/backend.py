"""The backend behind a ``flask_caching.Cache``, typed as what ``CACHE_TYPE`` made it."""

from __future__ import annotations

from typing import cast

from flask_caching import Cache

from serverless_cache.flask.base import TierCache


def backend_of(cache: Cache) -> TierCache:
    """``cache.cache``, typed SimpleCache by Flask-Caching; our ``CACHE_TYPE`` makes a TierCache."""
    return cast(TierCache, cache.cache)
