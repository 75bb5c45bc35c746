"""Tiers for tests, built through the one construction path (build_tier + TierConfig)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from serverless_cache.stampede import StampedeSettings
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.dynamodb import DynamoDBTier
from serverless_cache.tiers.kinds import build_tier
from serverless_cache.tiers.layered import LayeredSettings, LayeredTier
from serverless_cache.tiers.memcached import MemcachedTier
from serverless_cache.tiers.memory import MemoryTier
from serverless_cache.tiers.redis import RedisTier

Options = Mapping[str, Any] | None


def memory(name: str, options: Options = None, *, location: str = "") -> MemoryTier:
    return cast(MemoryTier, build_tier("memory", TierConfig(name, location, options or {})))


def redis_tier(
    location: str | Sequence[str], options: Options = None, *, prefix: str = "", name: str = ""
) -> RedisTier:
    config = TierConfig(name, location, options or {}, prefix)
    return cast(RedisTier, build_tier("redis", config))


def dynamodb(options: Options = None, *, key_prefix: str = "", location: str = "") -> DynamoDBTier:
    config = TierConfig("", location, options or {}, key_prefix)
    return cast(DynamoDBTier, build_tier("dynamodb", config))


def memcached_tier(
    location: str | Sequence[str], options: Options = None, *, prefix: str = ""
) -> MemcachedTier:
    config = TierConfig("", location, options or {}, prefix)
    return cast(MemcachedTier, build_tier("memcached", config))


def layered_tier(name: str, options: Options = None, *, prefix: str = "") -> LayeredTier:
    config = TierConfig(name, "", options or {}, prefix)
    return cast(LayeredTier, build_tier("layered", config))


class SharedMemoryTier(MemoryTier):
    """A memory store standing in for a shared tier: every "instance" of a test process sees
    it, as every Lambda instance sees one Redis (TIER "tests.tiers.build.SharedMemoryTier")."""

    in_process = False


SHARED = "tests.tiers.build.SharedMemoryTier"


def split_settings(settings: Mapping[str, Any]) -> tuple[LayeredSettings, StampedeSettings]:
    """Keyword settings of a layered cache, split into its own and the stampede ones."""
    own = {k: v for k, v in settings.items() if k in LayeredSettings.__dataclass_fields__}
    rest = {k: v for k, v in settings.items() if k not in own}
    return LayeredSettings(**own), StampedeSettings(**rest)
