"""The get_or_set options are checked when a cache is built, with errors that name them."""

from __future__ import annotations

from typing import Any

import pytest

from serverless_cache.errors import ConfigurationError
from tests.tiers.build import memory

BAD: dict[str, tuple[dict[str, Any], str]] = {
    "soft not below hard": (
        {"FACTORY_SOFT_TIMEOUT": 2, "FACTORY_HARD_TIMEOUT": 1},
        "FACTORY_SOFT_TIMEOUT (2) must be shorter than FACTORY_HARD_TIMEOUT (1)",
    ),
    "soft zero": ({"FACTORY_SOFT_TIMEOUT": 0}, "option FACTORY_SOFT_TIMEOUT must be a number"),
    "hard as text": ({"FACTORY_HARD_TIMEOUT": "1"}, "write 10 rather than '10'"),
    "eager one": ({"EAGER_REFRESH": 1}, "option EAGER_REFRESH must be a fraction"),
    "eager zero": ({"EAGER_REFRESH": 0}, "None to turn it off"),
    "eager as text": ({"EAGER_REFRESH": "0.8"}, "got '0.8'"),
    "jitter negative": ({"JITTER": -0.1}, "option JITTER must be a fraction"),
    "jitter bool": ({"JITTER": True}, "option JITTER must be a fraction"),
    "max age negative": ({"FAIL_SAFE_MAX_AGE": -1}, "option FAIL_SAFE_MAX_AGE must be a number"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_option_fails_when_the_cache_is_built(case: str) -> None:
    options, message = BAD[case]
    with pytest.raises(ConfigurationError) as raised:
        memory(f"bad-{case}", options)
    assert message in str(raised.value)


def test_good_options_build() -> None:
    tier = memory(
        "good",
        {
            "FAIL_SAFE_MAX_AGE": 3600,
            "FACTORY_SOFT_TIMEOUT": 0.1,
            "FACTORY_HARD_TIMEOUT": 2,
            "EAGER_REFRESH": 0.9,
            "JITTER": 0,
        },
    )
    assert tier.stampede.fallback_life == 3600
