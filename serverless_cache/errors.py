"""Exceptions raised by serverless-cache; every one says what to do about it."""

from __future__ import annotations

import functools
import importlib.util
import sys

#: The name to ``pip install``; the import package is ``serverless_cache`` (PyPI's
#: ``serverless-cache`` is an unrelated project with the same top-level module).
DISTRIBUTION = "lambda-tiered-cache"


def install_hint(extra: str) -> str:
    """The command that installs an optional dependency group, for error messages."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


@functools.cache
def installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it; asked once per process
    (``find_spec`` reads the file system on every call)."""
    return module in sys.modules or importlib.util.find_spec(module) is not None


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
