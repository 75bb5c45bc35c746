"""AWS helpers: the Lambda runtime wrapper (warm-ups, cold starts, tier warming, metrics); API
Gateway stage cache settings and CloudFront cache policies, generated from the same
:class:`~serverless_cache.http.CachePolicy` the views send, and CloudFront invalidation.
boto3 is imported only by the functions that call AWS.

The names below load on first use: building a cache registers the SnapStart hook
(``serverless_cache.aws.snapstart``) without loading the runtime wrapper.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from serverless_cache.aws.lambda_runtime import (
        configured_tiers,
        is_warmup_event,
        serverless_handler,
        warm_tiers,
    )
    from serverless_cache.aws.snapstart import after_restore

_LAZY = {
    "configured_tiers": "serverless_cache.aws.lambda_runtime",
    "is_warmup_event": "serverless_cache.aws.lambda_runtime",
    "serverless_handler": "serverless_cache.aws.lambda_runtime",
    "warm_tiers": "serverless_cache.aws.lambda_runtime",
    "after_restore": "serverless_cache.aws.snapstart",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "after_restore",
    "configured_tiers",
    "is_warmup_event",
    "serverless_handler",
    "warm_tiers",
]
