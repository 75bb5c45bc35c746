"""Render generated CloudFormation/SAM documents as JSON or YAML (no YAML library needed)."""

from __future__ import annotations

import json
import re
from typing import Any

from serverless_cache.errors import ConfigurationError

FORMATS = ("yaml", "json")
_PLAIN = re.compile(r"^[A-Za-z/][A-Za-z0-9_./~:-]*$")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})


def render(document: Any, fmt: str) -> str:
    """``document`` (dicts, lists, str, int, bool) as JSON or YAML text ending in a newline."""
    if fmt == "json":
        return json.dumps(document, indent=2) + "\n"
    if fmt == "yaml":
        return "\n".join(_yaml(document, 0)) + "\n"
    raise ConfigurationError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def _yaml(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{_scalar(key)}:")
                lines.extend(_yaml(item, indent + 1))
            else:
                lines.append(f"{pad}{_scalar(key)}: {_yaml(item, 0)[0]}")
        return lines
    if isinstance(value, list):
        if not value:
            return [pad + "[]"]
        lines = []
        for item in value:
            nested = _yaml(item, indent + 1)
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines.extend(nested[1:])
        return lines
    return [pad + _scalar(value)]
