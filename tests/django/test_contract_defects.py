"""Django-facing defects the tier contract v2 fixed."""

from __future__ import annotations

from django.core.cache import caches
from django.test import override_settings

BACKEND = "serverless_cache.django.ExecutionContextCache"


def test_two_aliases_sharing_a_store_each_enforce_their_own_limits() -> None:
    config = {
        "big": {"BACKEND": BACKEND, "LOCATION": "shared", "OPTIONS": {"MAX_ENTRIES": 50}},
        "small": {
            "BACKEND": BACKEND,
            "LOCATION": "shared",
            "OPTIONS": {"MAX_ENTRIES": 30, "CULL_FREQUENCY": 3},
        },
    }
    with override_settings(CACHES=config):
        big, small = caches["big"], caches["small"]
        for i in range(40):
            big.set(f"b{i}", i)
        assert len(big.tier.store.data) == 40
        small.set("s", 1)  # over the small alias's 30: it culls a third, as LocMemCache does
        assert len(small.tier.store.data) == 40 - 40 // 3 + 1  # was 41: big's limits applied
        assert big.tier.limits.max_entries == 50
        assert small.tier.limits.max_entries == 30
