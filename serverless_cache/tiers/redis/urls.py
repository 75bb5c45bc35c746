"""Redis LOCATION URLs: checked when the configuration is parsed, redacted wherever shown.

A URL that would only fail on the first request (a port that is not a number, options
redis-py would apply that break the tier, a password whose ``#`` or ``?`` was not
percent-encoded) is a ConfigurationError here, and no message ever shows a credential.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from urllib.parse import parse_qs, urlsplit

from serverless_cache.errors import ConfigurationError

SCHEMES: Final = ("redis", "rediss", "unix")
#: URL query options that would change what the tier reads back from redis-py.
REFUSED_QUERY: Final = {
    "decode_responses": "the tier stores bytes and decodes them itself",
    "protocol": "the tier speaks RESP2",
}
_GLOB_SPECIAL: Final = str.maketrans({c: "\\" + c for c in "*?[]\\"})
_HINT: Final = (
    "expected 'redis://[user:password@]host:port/db' (percent-encode '#', '?', '@' and '/' "
    "in a password as %23, %3F, %40 and %2F)"
)


def parse_locations(locations: Sequence[str]) -> tuple[str, ...]:
    """The URLs of LOCATION, each checked; the first is the primary."""
    if not locations:
        raise ConfigurationError(
            "LOCATION of a Redis cache must be a URL such as 'redis://host:6379/0' "
            "(or several, the first being the primary)"
        )
    for index, url in enumerate(locations):
        check_url(url, f"Redis LOCATION #{index + 1}" if len(locations) > 1 else "Redis LOCATION")
    return tuple(locations)


def check_url(url: str, where: str) -> None:
    """Raise ConfigurationError (without the URL's credentials) unless ``url`` is usable."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        if "@" in url:  # it holds credentials: show none of it
            shown = f"{parts.scheme}://..." if parts.scheme else "a value without a scheme"
        else:
            shown = repr(url) + ("" if parts.scheme else f" (did you mean 'redis://{url}'?)")
        raise ConfigurationError(
            f"{where} must start with redis://, rediss:// or unix://, got {shown}"
        )
    if parts.fragment or "@" in parts.query or "@" in parts.path:
        raise ConfigurationError(f"{where} is not a valid URL: {_HINT}")
    if parts.scheme != "unix":
        try:
            port = parts.port
        except ValueError:
            raise ConfigurationError(
                f"{where} has a port that is not a number (host {parts.hostname!r}); {_HINT}"
            ) from None
        if not parts.hostname:
            raise ConfigurationError(f"{where} has no host; {_HINT}")
        db = parts.path.strip("/")
        if db and not db.isdigit():
            raise ConfigurationError(
                f"{where} ({redact(url)}) names database {db!r}; it must be a number"
            )
        del port
    for name in parse_qs(parts.query):
        if name.lower() in REFUSED_QUERY:
            raise ConfigurationError(
                f"{where} ({redact(url)}) sets {name}: remove it, {REFUSED_QUERY[name.lower()]}"
            )


def redact(url: str) -> str:
    """``url`` without its credentials, for logs, reprs and metric names."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def glob_escape(text: str) -> str:
    """``text`` as a literal inside a SCAN MATCH pattern."""
    return text.translate(_GLOB_SPECIAL)
