"""Django cache backends, one per tier: each only says how to build its tier."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.base import default_key_func

from serverless_cache.django.base import DJANGO_OPTIONS, TierCache
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.dynamodb import DynamoDBTier
from serverless_cache.tiers.memory import MemoryTier


class ExecutionContextCache(TierCache):
    """In-process LRU + TTL cache that survives warm invocations; ``LOCATION`` names the store.

    OPTIONS: Django's ``MAX_ENTRIES`` and ``CULL_FREQUENCY``, plus ``MAX_BYTES`` and the codec
    options (``SERIALIZER``, ``COMPRESS_MIN_BYTES``, ``SIGNING_KEY``...).
    """

    def build_tier(self, location: str, options: dict[str, Any]) -> Tier:
        return MemoryTier.from_options(location or "default", options)


class DynamoDBCache(TierCache):
    """DynamoDB cache; ``LOCATION`` is the table name (create it with
    ``manage.py create_dynamodb_cache_table``).

    OPTIONS: ``REGION_NAME``, ``ENDPOINT_URL``, ``CONNECT_TIMEOUT``, ``READ_TIMEOUT``,
    ``MAX_ATTEMPTS``, ``CONSISTENT_READ``, ``MAX_VALUE_BYTES``, ``CLEAR_SEGMENTS``,
    ``SCAN_PAGE_SIZE``, ``FAIL_OPEN`` and the breaker options, and the codec options.
    ``clear()`` removes the keys of this cache's KEY_PREFIX only.
    """

    def build_tier(self, location: str, options: dict[str, Any]) -> Tier:
        if location:
            options = {"table_name": location, **options}
        # Keys are "prefix:version:key" with Django's key function: clear() needs "prefix:".
        prefix = f"{self.key_prefix}:" if self.key_func is default_key_func else self.key_prefix
        return DynamoDBTier.from_options(options, key_prefix=prefix, ignore=DJANGO_OPTIONS)
