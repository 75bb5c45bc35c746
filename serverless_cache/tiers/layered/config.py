"""A layered cache's configuration: its settings, its TIERS entries, and building them.

Each TIERS entry becomes a :class:`~serverless_cache.tiers.config.TierConfig` and is built
through :func:`~serverless_cache.tiers.kinds.build_tier`, the same path as any cache. An
in-process tier without LOCATION gets a store of its own per layered configuration.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from serverless_cache.codec import Codec
from serverless_cache.errors import ConfigurationError
from serverless_cache.options import require_choice, require_number
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.kinds import TIER_CLASSES, tier_class

#: Default CAP of an in-process upper tier: how stale an instance may be after a remote write.
DEFAULT_LOCAL_CAP = 10.0
#: The default CAP of a shared tier above the last one: a copy another instance's write raced
#: (or that a refused delete left behind) must not live there forever.
DEFAULT_SHARED_CAP = 60.0
#: Key of this process's configuration digests: a digest says nothing about the secrets hashed.
_DIGEST_KEY = os.urandom(16)
EXAMPLE = "[{'TIER': 'memory', 'CAP': 10}, {'TIER': 'redis', 'LOCATION': 'redis://...'}]"


@dataclass(frozen=True)
class TierSpec:
    """One entry of TIERS: which tier, where, its own OPTIONS, and its CAP in seconds."""

    tier: str = ""
    location: str | Sequence[str] = field(default="", repr=False)
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    cap: float | None = None

    def __post_init__(self) -> None:
        if not self.tier or not isinstance(self.tier, str):
            raise ConfigurationError(
                f"each TIERS entry needs TIER: one of {', '.join(TIER_CLASSES)} or the import "
                "path of a Tier class"
            )
        if not isinstance(self.options, Mapping):
            raise ConfigurationError(
                f"option OPTIONS of a TIERS entry must be a dict, got {type(self.options)}"
            )
        require_number("cap", self.cap, optional=True)

    def __repr__(self) -> str:
        # OPTIONS may hold PASSWORD, SIGNING_KEY or AWS keys, and a LOCATION URL a password.
        return (
            f"TierSpec(tier={self.tier!r}, location={redacted_location(self.location)!r}, "
            f"options=<{len(self.options)} hidden>, cap={self.cap!r})"
        )


@dataclass(frozen=True)
class LayeredSettings:
    """OPTIONS of a layered cache besides the stampede options every tier has."""

    tiers: Sequence[Mapping[str, Any]] = field(default=(), repr=False)  # holds secrets
    epoch_check_interval: float = 1.0
    #: "epoch": other instances' writes reach this L1 within its CAP (clear() and
    #: invalidate_tags within EPOCH_CHECK_INTERVAL); "push": within milliseconds, by Redis
    #: invalidation messages (see serverless_cache.tiers.redis.tracking).
    invalidation: str = "epoch"

    def __post_init__(self) -> None:
        require_number("epoch_check_interval", self.epoch_check_interval)
        require_choice("invalidation", self.invalidation, ("epoch", "push"))


def redacted_location(location: Any) -> Any:
    """``location`` with the credentials of any URL in it removed, for reprs."""
    from serverless_cache.tiers.redis.urls import redact  # pure; redis is not imported

    if isinstance(location, str):
        return ",".join(redact(part) if "://" in part else part for part in location.split(","))
    if isinstance(location, list | tuple):
        return [redacted_location(str(part)) for part in location]
    return location


def config_digest(prefix: str, tiers: Any) -> str:
    """A short digest of the key prefix and TIERS, equal for equal configurations.

    It keeps two caches of one name but different prefixes or tiers from sharing their
    process-wide state and default L1 store (each would keep emptying the other's L1).
    """
    text = repr((prefix, canonical(tiers)))
    return hashlib.blake2b(text.encode(), digest_size=6, key=_DIGEST_KEY).hexdigest()


def canonical(value: Any) -> Any:
    """``value`` with mappings as sorted tuples of lower-cased keys, so equal configs match."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k).lower(), canonical(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(canonical(item) for item in value)
    return repr(value)


def build_tiers(
    config: TierConfig, settings: LayeredSettings, digest: str
) -> tuple[list[Tier], list[float | None]]:
    """The tiers of TIERS, fastest first, and each one's cap (None for the last)."""
    entries = settings.tiers
    if not isinstance(entries, list | tuple) or len(entries) < 2:
        raise ConfigurationError(
            f"{config.where}: option TIERS must be a list of at least two tiers, fastest "
            f"first, e.g. {EXAMPLE}"
        )
    tiers: list[Tier] = []
    caps: list[float | None] = []
    for index, raw in enumerate(entries):
        at = f"{config.where}['TIERS'][{index}]"
        if not isinstance(raw, Mapping):
            raise ConfigurationError(f"{at} must be a dict with TIER, LOCATION, OPTIONS, CAP")
        (spec,) = TierConfig(options=raw, where=at).parse(TierSpec)
        cls = tier_class(spec.tier)
        location = spec.location or (f"{config.name}#{digest}" if cls.in_process else "")
        tier = cls.from_config(
            TierConfig(config.name, location, spec.options, config.key_prefix, f"{at}['OPTIONS']")
        )
        last = index == len(entries) - 1
        if last and tier.in_process:
            raise ConfigurationError(
                f"{at}: the last tier decides add and incr for every instance, so it must be "
                f"shared (redis, dynamodb...), not {spec.tier!r}; order TIERS fastest first, "
                f"e.g. {EXAMPLE}"
            )
        cap = spec.cap
        if cap is None and not last:
            cap = DEFAULT_LOCAL_CAP if tier.in_process else DEFAULT_SHARED_CAP
        tiers.append(tier)
        caps.append(None if last else cap)
    return tiers, caps


def share_codec(tiers: Sequence[Tier]) -> Codec | None:
    """The first tier's codec, now also that of the tiers below that encode alike, so a
    write encodes its value once for all of them (None: no other tier does)."""
    codec = tiers[0].codec
    alike = [tier for tier in tiers[1:] if codec.same_as(tier.codec)]
    for tier in alike:
        if tier.codec is not codec:
            tier.set_codec(codec)
    return codec if alike else None
