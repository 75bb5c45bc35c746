"""Framework-neutral HTTP caching: the cache policy, its headers and the safety rule."""

from serverless_cache.http.policy import CachePolicy
from serverless_cache.http.safety import ERROR_POLICY, ExchangeFacts, final_policy, safe_policy

__all__ = ["ERROR_POLICY", "CachePolicy", "ExchangeFacts", "final_policy", "safe_policy"]
