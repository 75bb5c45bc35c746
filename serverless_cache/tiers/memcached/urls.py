"""Memcached LOCATION: ``memcached://host:port`` URLs (or Django's ``host:port``), checked once.

A LOCATION that would only fail on the first request (no host, a port that is not a number,
another scheme) is a ConfigurationError when the configuration is parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

from serverless_cache.errors import ConfigurationError

DEFAULT_PORT: Final = 11211
_HINT: Final = "expected 'memcached://host:11211' (or 'host:11211'), several separated by commas"

Address = tuple[str, int]


def parse_locations(locations: Sequence[str]) -> tuple[Address, ...]:
    """The (host, port) of every LOCATION entry, in order, duplicates removed."""
    if not locations:
        raise ConfigurationError(f"LOCATION of a Memcached cache is empty; {_HINT}")
    addresses: dict[Address, None] = {}
    for index, location in enumerate(locations):
        where = f"Memcached LOCATION #{index + 1}" if len(locations) > 1 else "Memcached LOCATION"
        addresses[parse_address(location, where)] = None
    return tuple(addresses)


def parse_address(location: str, where: str) -> Address:
    """``memcached://host:port`` or ``host:port`` (port 11211 when omitted) as (host, port)."""
    text = location if "://" in location else f"memcached://{location}"
    parts = urlsplit(text)
    if parts.scheme != "memcached":
        raise ConfigurationError(f"{where} must start with memcached://, got {parts.scheme}://")
    if parts.username or parts.password or parts.query or parts.path.strip("/"):
        raise ConfigurationError(
            f"{where} ({parts.hostname}) has a user, path or query; Memcached takes none: {_HINT}"
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ConfigurationError(
            f"{where} has a port that is not a number (host {parts.hostname!r}); {_HINT}"
        ) from None
    if not parts.hostname:
        raise ConfigurationError(f"{where} has no host; {_HINT}")
    return (parts.hostname, port)


def show(address: Address) -> str:
    """``memcached://host:port``, for names, logs and reprs."""
    host, port = address
    return f"memcached://{host}:{port}"
