"""What every tier on the network shares: a process-wide client, its guard, and its options.

A network tier names its client (kind, key, factory) and classifies its store's exceptions;
fail-open, the breaker and retries then come from :mod:`serverless_cache.resilience`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from serverless_cache.codec import Codec
from serverless_cache.resilience import (
    SAME,
    CircuitBreaker,
    Fault,
    ResilienceSettings,
    SharedClient,
    throttled_log,
)
from serverless_cache.stampede import StampedeSettings
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.config import TierConfig

T = TypeVar("T")


class NetworkTier(Tier):
    """A tier whose store is reached over the network through a shared client."""

    def __init__(
        self,
        config: TierConfig,
        codec: Codec,
        stampede: StampedeSettings | None,
        resilience: ResilienceSettings,
        *,
        client: tuple[str, Hashable, Callable[[CircuitBreaker], Any]],
        label: str,
    ) -> None:
        super().__init__(config, codec, stampede)
        self.resilience = resilience
        self.log = throttled_log(f"{self.kind}:{config.name}", resilience.log_interval)
        kind, key, factory = client
        self._client_key = key
        self._shared: SharedClient[Any] = SharedClient(
            kind, key, factory, label, resilience, self.stats, self.classify
        )

    @property
    def identity(self) -> Hashable:
        return (self.kind, self._client_key, self.location_key, self.key_prefix)

    @property
    def location_key(self) -> Hashable:
        """What of LOCATION the client key leaves out (a DynamoDB table): none by default."""
        return None

    @property
    def fail_open(self) -> bool:
        return self.resilience.fail_open

    @staticmethod
    def classify(exc: BaseException) -> Fault | None:
        """What a store exception means (see :class:`~serverless_cache.resilience.Fault`);
        None for an exception that is not the store's (it reaches the caller)."""
        raise NotImplementedError

    def _run(self, operation: str, fn: Callable[[], T], fallback: T, *, retry: Any = SAME) -> T:
        return self._shared.call(operation, fn, fallback, retry=retry)
