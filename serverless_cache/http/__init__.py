"""Framework-neutral HTTP caching: the cache policy, its headers and the safety rule."""

from serverless_cache.http.pipeline import Later, finish
from serverless_cache.http.policy import CachePolicy
from serverless_cache.http.safety import ERROR_POLICY, ExchangeFacts, safe_policy

__all__ = ["ERROR_POLICY", "CachePolicy", "ExchangeFacts", "Later", "finish", "safe_policy"]
