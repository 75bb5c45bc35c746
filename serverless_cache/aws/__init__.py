"""AWS helpers: the Lambda runtime wrapper (warm-ups, cold starts, tier warming, metrics); API
Gateway stage cache settings and CloudFront cache policies, generated from the same
:class:`~serverless_cache.http.CachePolicy` the views send, and CloudFront invalidation.
boto3 is imported only by the functions that call AWS.
"""

from serverless_cache.aws.lambda_runtime import (
    configured_tiers,
    is_warmup_event,
    serverless_handler,
    warm_tiers,
)
from serverless_cache.aws.snapstart import after_restore

__all__ = [
    "after_restore",
    "configured_tiers",
    "is_warmup_event",
    "serverless_handler",
    "warm_tiers",
]
