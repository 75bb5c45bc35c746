"""Exceptions raised by serverless-cache; every one says what to do about it."""

from __future__ import annotations

#: The name to ``pip install``; the import package is ``serverless_cache`` (PyPI's
#: ``serverless-cache`` is an unrelated project with the same top-level module).
DISTRIBUTION = "lambda-tiered-cache"


def install_hint(extra: str) -> str:
    """The command that installs an optional dependency group, for error messages."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


class ServerlessCacheError(Exception):
    """Base class of every error this library raises on purpose."""


class ConfigurationError(ServerlessCacheError, ValueError):
    """An option is unknown or has a value the tier cannot use; the message names the option."""


class DecodeError(ServerlessCacheError):
    """A stored payload is tampered, foreign or corrupt; reads treat it as a miss."""


class CacheUnavailableError(ServerlessCacheError):
    """The store could not be reached and the tier is configured with ``fail_open=False``."""


class ValueTooLargeError(ServerlessCacheError, ValueError):
    """A value is larger than the tier can store, even after compression or chunking."""


class FactoryTimeoutError(ServerlessCacheError, TimeoutError):
    """A ``get_or_set`` factory outlived ``FACTORY_HARD_TIMEOUT`` and no fallback value existed."""
