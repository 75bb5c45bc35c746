"""What every tier is built from: one frozen :class:`TierConfig`, whatever the framework.

Django's ``CACHES`` entry, Flask's ``CACHE_*`` settings and a layered cache's ``TIERS`` entries
all become a ``TierConfig``; :meth:`Tier.from_config` builds the tier from it, and each tier
reads LOCATION its own way (a store name, Redis URLs, a table name).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from serverless_cache.errors import ConfigurationError
from serverless_cache.options import parse_options


@dataclass(frozen=True)
class TierConfig:
    """One cache's configuration, as every tier receives it.

    ``name`` labels metrics and logs (empty: each tier picks one from its LOCATION);
    ``location`` is the tier's own (see each tier); ``options`` are matched case-insensitively
    to the tier's settings classes; ``key_prefix`` starts every key of this cache, so a shared
    tier's ``clear()`` removes exactly those; ``where`` names the settings in error messages;
    ``ignore`` lists option names (lower case) that the framework reads itself.
    """

    name: str = ""
    location: str | Sequence[str] = field(default="", repr=False)
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    key_prefix: str = ""
    where: str = "OPTIONS"
    ignore: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.options, Mapping):
            raise ConfigurationError(f"{self.where} must be a dict, got {type(self.options)}")
        if not isinstance(self.location, str | list | tuple):
            raise ConfigurationError(
                f"LOCATION must be a string or a list of strings, got {self.location!r}"
            )

    def parse(self, *settings_classes: type[Any]) -> list[Any]:
        """One instance of each settings class, filled from ``options`` (see parse_options)."""
        return parse_options(self.options, *settings_classes, where=self.where, ignore=self.ignore)

    def has_option(self, name: str) -> bool:
        """Whether ``options`` sets ``name`` (any case)."""
        return any(str(key).lower() == name for key in self.options)

    def locations(self) -> list[str]:
        """LOCATION as a list of non-empty strings (split on ``,`` and ``;`` when a string)."""
        raw = (
            self.location.replace(";", ",").split(",")
            if isinstance(self.location, str)
            else list(self.location)
        )
        return [str(part).strip() for part in raw if str(part).strip()]


#: Options that bound an in-process store; a shared store is bounded by its server.
LOCAL_LIMITS = ("max_entries", "cull_frequency", "max_bytes")


def refuse_local_limits(config: TierConfig, reason: str) -> None:
    """MAX_ENTRIES and friends would be silently ignored by this cache: refuse them."""
    for name in LOCAL_LIMITS:
        if config.has_option(name):
            raise ConfigurationError(
                f"{config.where}: option {name.upper()} bounds in-process caches only; "
                f"{reason}, so remove it"
            )
