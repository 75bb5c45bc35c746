"""AWS helpers: the Lambda runtime wrapper (warm-ups, cold starts, tier warming, metrics)."""

from serverless_cache.aws.lambda_runtime import (
    after_restore,
    configured_tiers,
    is_warmup_event,
    serverless_handler,
    warm_tiers,
)

__all__ = [
    "after_restore",
    "configured_tiers",
    "is_warmup_event",
    "serverless_handler",
    "warm_tiers",
]
