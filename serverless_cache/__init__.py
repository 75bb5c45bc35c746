"""serverless-cache: Django and Flask-Caching cache backends built for AWS Lambda.

Importing this package (or its Django and Flask adapters) never imports redis, boto3 or
botocore: those load when a tier that needs them is first used.
"""

from serverless_cache.codec import Codec, CodecSettings
from serverless_cache.errors import (
    CacheUnavailableError,
    ConfigurationError,
    DecodeError,
    FactoryTimeoutError,
    ServerlessCacheError,
    ValueTooLargeError,
)
from serverless_cache.tiers import MISSING, MemoryTier, Tier

__version__ = "0.1.0"

__all__ = [
    "MISSING",
    "CacheUnavailableError",
    "Codec",
    "CodecSettings",
    "ConfigurationError",
    "DecodeError",
    "FactoryTimeoutError",
    "MemoryTier",
    "ServerlessCacheError",
    "Tier",
    "ValueTooLargeError",
    "__version__",
]
