"""Flask-Caching backends, one per tier: each only says how to build its tier.

Use the import path as ``CACHE_TYPE``, e.g.
``CACHE_TYPE = "serverless_cache.flask.ExecutionContextCache"``.
"""

from __future__ import annotations

from typing import Any

from serverless_cache.flask.base import TierCache
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.memory import MemoryTier


class ExecutionContextCache(TierCache):
    """In-process LRU + TTL cache that survives warm invocations.

    ``CACHE_OPTIONS``: ``name`` (the process-wide store; default ``"flask"``, use the same name
    as a Django ``LOCATION`` to share one), ``max_entries`` (default ``CACHE_THRESHOLD``),
    ``max_bytes`` and the codec options.
    """

    @classmethod
    def build_tier(cls, config: dict[str, Any], options: dict[str, Any]) -> Tier:
        name = options.pop("name", "flask")
        if config.get("CACHE_THRESHOLD") and not any(k.lower() == "max_entries" for k in options):
            options["max_entries"] = config["CACHE_THRESHOLD"]
        return MemoryTier.from_options(name, options, where="CACHE_OPTIONS")
