"""Typed settings objects built from Django ``OPTIONS`` or Flask ``CACHE_OPTIONS`` dicts.

Each tier declares a frozen dataclass of its options; :func:`parse_options` fills it from a
mapping whose keys may be upper or lower case, and rejects unknown keys with a message that
lists the known ones (and the closest, for a typo), so a mistake fails at start-up instead of
being silently ignored. Errors of values are prefixed with where the options came from.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any

from serverless_cache.errors import ConfigurationError


def parse_options(
    options: Mapping[str, Any] | None,
    *settings_classes: type[Any],
    where: str = "OPTIONS",
    ignore: frozenset[str] = frozenset(),
) -> list[Any]:
    """Split ``options`` among ``settings_classes`` and build one instance of each.

    Keys are matched case-insensitively to dataclass field names; keys in ``ignore`` (lower
    case) belong to the framework and are skipped.
    """
    owners: dict[str, int] = {}
    for index, cls in enumerate(settings_classes):
        for field in dataclasses.fields(cls):
            owners.setdefault(field.name, index)
    kwargs: list[dict[str, Any]] = [{} for _ in settings_classes]
    for raw_name, value in (options or {}).items():
        name = str(raw_name).lower()
        if name in ignore:
            continue
        if name not in owners:
            spell = str.upper if str(raw_name).isupper() else str
            close = difflib.get_close_matches(name, owners, n=1)
            hint = f"did you mean {spell(close[0])!r}? " if close else ""
            known = ", ".join(sorted(spell(n) for n in owners))
            raise ConfigurationError(
                f"{where}: unknown option {raw_name!r}; {hint}known options: {known}"
            )
        kwargs[owners[name]][name] = value
    try:
        return [cls(**kw) for cls, kw in zip(settings_classes, kwargs, strict=True)]
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def require_int(
    name: str, value: Any, *, minimum: int = 0, maximum: int | None = None, optional: bool = False
) -> None:
    """Raise ConfigurationError unless ``value`` is an int in range (or None if optional)."""
    if value is None and optional:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        bounds = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise ConfigurationError(
            f"option {name.upper()} must be an integer {bounds}"
            + (" or None" if optional else "")
            + f", got {value!r}"
            + _number_hint(name, value)
        )


def require_number(name: str, value: Any, *, minimum: float = 0, optional: bool = False) -> None:
    """Raise ConfigurationError unless ``value`` is a real number >= ``minimum``."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ConfigurationError(
            f"option {name.upper()} must be a number >= {minimum}"
            + (" or None" if optional else "")
            + f", got {value!r}"
            + _number_hint(name, value)
        )


def _number_hint(name: str, value: Any) -> str:
    """What to write instead of a string such as ``"32MB"`` or ``"1.5"``."""
    if not isinstance(value, str):
        return ""
    if name.endswith("bytes"):
        return " (a number of bytes, not a string: write 32 * 2**20 for 32 MiB)"
    return " (a number, not a string: write 10 rather than '10')"


def require_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """Raise ConfigurationError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigurationError(
            f"option {name.upper()} must be one of {', '.join(map(repr, choices))}, got {value!r}"
        )


def pop_option(options: dict[str, Any], name: str, default: Any = None) -> Any:
    """Remove and return the option ``name`` (lower case) from ``options``, in any case."""
    for key in list(options):
        if str(key).lower() == name:
            return options.pop(key)
    return default
