"""Flask-Caching backends, one per tier: each only says how to build its tier.

Use the import path as ``CACHE_TYPE``, e.g.
``CACHE_TYPE = "serverless_cache.flask.ExecutionContextCache"``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from serverless_cache.flask.base import TierCache
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.dynamodb import DynamoDBTier
from serverless_cache.tiers.memory import MemoryTier


class ExecutionContextCache(TierCache):
    """In-process LRU + TTL cache that survives warm invocations.

    ``CACHE_OPTIONS``: ``name`` (the shared store; default ``"default"``), ``max_entries``
    (default ``CACHE_THRESHOLD`` when set), ``max_bytes`` and the codec options.
    """

    @classmethod
    def build_tier(cls, config: dict[str, Any], options: dict[str, Any]) -> Tier:
        name = options.pop("name", "default")
        if config.get("CACHE_THRESHOLD") and not any(k.lower() == "max_entries" for k in options):
            options["max_entries"] = config["CACHE_THRESHOLD"]
        return MemoryTier.from_options(name, options, where="CACHE_OPTIONS")


class DynamoDBCache(TierCache):
    """DynamoDB cache. ``CACHE_OPTIONS``: ``table_name`` (default ``"serverless-cache"``),
    ``region_name``, ``endpoint_url``, timeouts, ``fail_open``... and the codec options.

    ``clear()`` removes the keys starting with ``CACHE_KEY_PREFIX`` only (the whole table when
    the prefix is empty).
    """

    @classmethod
    def factory(
        cls, app: Flask, config: dict[str, Any], args: list[Any], kwargs: dict[str, Any]
    ) -> TierCache:
        # The tier must know the prefix actually used, which a key_prefix kwarg may override.
        prefix = kwargs.get("key_prefix", config.get("CACHE_KEY_PREFIX") or "")
        return super().factory(app, {**config, "CACHE_KEY_PREFIX": prefix}, args, kwargs)

    @classmethod
    def build_tier(cls, config: dict[str, Any], options: dict[str, Any]) -> Tier:
        prefix = config.get("CACHE_KEY_PREFIX") or ""
        return DynamoDBTier.from_options(options, key_prefix=prefix, where="CACHE_OPTIONS")
