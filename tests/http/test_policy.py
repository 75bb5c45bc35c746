"""CachePolicy: validation, rendering, parsing round trips and merging."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serverless_cache.errors import ConfigurationError
from serverless_cache.http.policy import CachePolicy, build_policy, policy_from_setting

ages = st.none() | st.integers(min_value=0, max_value=10**9)
header_names = st.sampled_from(["Accept-Language", "Accept", "Origin", "X-Tenant", "Cookie"])


@st.composite
def policies(draw: st.DrawFn) -> CachePolicy:
    """Random valid policies: contradictory combinations are steered away from."""
    no_store = draw(st.booleans())
    visibility = draw(st.sampled_from(["public", "private", None]))
    fields: dict[str, object] = {
        "no_store": no_store,
        "no_cache": draw(st.booleans()),
        "must_revalidate": draw(st.booleans()),
        "vary": tuple(draw(st.lists(header_names, unique=True, max_size=3))),
        "extensions": tuple(draw(st.lists(st.sampled_from(["no-transform"]), max_size=1))),
    }
    if visibility == "private":
        fields["private"] = True
    if not no_store:
        fields["public"] = visibility == "public"
        fields["max_age"] = draw(ages)
        fields["stale_while_revalidate"] = draw(ages)
        fields["stale_if_error"] = draw(ages)
        if visibility != "private":
            fields["s_maxage"] = draw(ages)
        fields["immutable"] = (
            fields["max_age"] is not None and not fields["no_cache"] and draw(st.booleans())
        )
    return CachePolicy(**fields)  # type: ignore[arg-type]


@given(policies())
def test_parse_of_rendered_headers_is_the_same_policy(policy: CachePolicy) -> None:
    assert CachePolicy.parse(policy.cache_control, policy.vary_header) == policy


@given(policies())
def test_rendering_is_one_well_formed_header(policy: CachePolicy) -> None:
    value = policy.cache_control
    assert "\n" not in value and not value.startswith(",") and ",," not in value
    directives = [part.split("=")[0] for part in value.split(", ") if part]
    assert len(directives) == len(set(directives))
    assert all(d == d.lower() for d in directives)


@given(policies(), policies())
def test_merging_never_shares_more_than_either_side(a: CachePolicy, b: CachePolicy) -> None:
    merged = a.merge(b)
    if not (a.is_shared and b.is_shared):
        assert not (merged.public and (a.private or b.private or a.no_store or b.no_store))
    if a.no_store or b.no_store:
        assert merged.no_store and merged.shared_max_age is None
    for name in ("max_age", "s_maxage"):
        values = [v for v in (getattr(a, name), getattr(b, name)) if v is not None]
        if values and not merged.no_store and not (name == "s_maxage" and merged.private):
            assert getattr(merged, name) == min(values)
    assert {v.lower() for v in merged.vary} == {v.lower() for v in (*a.vary, *b.vary)}


def test_rendering_has_a_fixed_order_and_spelling() -> None:
    policy = CachePolicy(
        max_age=60,
        s_maxage=300,
        stale_while_revalidate=30,
        stale_if_error=86400,
        public=True,
        must_revalidate=True,
        vary=("Accept-Language", "accept-language", "Origin"),
    )
    assert policy.cache_control == (
        "public, must-revalidate, max-age=60, s-maxage=300, "
        "stale-while-revalidate=30, stale-if-error=86400"
    )
    assert policy.response_headers() == {
        "Cache-Control": policy.cache_control,
        "Vary": "Accept-Language, Origin",
    }
    assert CachePolicy().response_headers() == {}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_age": -1}, "max_age must be a whole number of seconds >= 0"),
        ({"s_maxage": 1.5}, "s_maxage must be a whole number"),
        ({"max_age": True}, "max_age must be a whole number"),
        ({"public": True, "private": True}, "public and private contradict"),
        ({"private": True, "s_maxage": 60}, "s_maxage is for shared caches"),
        ({"no_store": True, "max_age": 60}, "no_store forbids keeping the response, so max_age"),
        ({"no_store": True, "public": True}, "so public"),
        ({"immutable": True}, "immutable needs max_age"),
        ({"immutable": True, "max_age": 9, "no_cache": True}, "contradicts no_cache"),
        ({"vary": ["Accept Language"]}, "not a valid header name"),
        ({"vary": ["*"]}, "use no_store=True"),
        ({"query_strings": ["a,b"]}, "not a valid cache-key name"),
        ({"extensions": ["s-max-age=60"]}, "did you mean 's-maxage'"),
        ({"extensions": ["max-age=60"]}, "pass max_age=... instead"),
        ({"public": "yes"}, "public must be True or False"),
    ],
)
def test_bad_policies_are_clear_errors(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CachePolicy(**fields)  # type: ignore[arg-type]


def test_decorator_arguments_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 's_maxage'"):
        build_policy(None, {"s_max_age": 60})
    with pytest.raises(ConfigurationError, match="at least one directive"):
        build_policy(None, {})
    with pytest.raises(ConfigurationError, match="not both"):
        build_policy(CachePolicy(max_age=1), {"max_age": 2})
    assert build_policy(None, {"max_age": 5}) == CachePolicy(max_age=5)


def test_parse_is_lenient_and_reports_misspellings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "serverless_cache.http"):
        policy = CachePolicy.parse(
            'Public, MAX-AGE="60", s-max-age=300, no-transform, max-age=30, stale-if-error=x',
            "Accept, *",
        )
    assert policy == CachePolicy(
        public=True, max_age=30, vary=("Accept",), extensions=("no-transform",)
    )
    assert "did you mean 's-maxage'" in caplog.text
    assert "stale-if-error='x' is not a number" in caplog.text
    assert CachePolicy.parse(None) == CachePolicy()
    # contradictions in a foreign header resolve towards caching less
    assert CachePolicy.parse("public, private, s-maxage=60, max-age=5") == CachePolicy(
        private=True, max_age=5
    )
    assert CachePolicy.parse("no-store, max-age=60, immutable") == CachePolicy(no_store=True)


def test_merge_follows_patch_cache_control_and_keeps_extensions() -> None:
    existing = CachePolicy.parse("max-age=30, no-transform", "Cookie")
    merged = CachePolicy(public=True, max_age=300, s_maxage=600, vary=("Accept",)).merge(existing)
    assert merged.cache_control == "public, max-age=30, s-maxage=600, no-transform"
    assert merged.vary == ("Cookie", "Accept")
    private = CachePolicy(public=True, s_maxage=600).merge(CachePolicy(private=True, max_age=10))
    assert private.cache_control == "private, max-age=10"
    assert CachePolicy(max_age=60).merge(CachePolicy(no_store=True)).cache_control == "no-store"


def test_shared_lifetime_and_private_downgrade() -> None:
    policy = CachePolicy(public=True, max_age=60, s_maxage=600, vary=("Accept",))
    assert policy.shared_max_age == 600 and policy.is_shared
    assert CachePolicy(max_age=60).shared_max_age == 60
    downgraded = policy.as_private()
    assert downgraded.cache_control == "private, max-age=60"
    assert not downgraded.is_shared and downgraded.vary == ("Accept",)
    assert CachePolicy(private=True, max_age=60).shared_max_age is None


def test_cache_key_inputs() -> None:
    policy = CachePolicy(
        max_age=1, vary=("Accept-Language", "Cookie"), headers=("X-Tenant", "accept-language")
    )
    assert policy.key_headers() == ("Accept-Language", "X-Tenant")
    assert policy.key_cookies() == ("*",)
    assert dataclasses.replace(policy, cookies=("theme",)).key_cookies() == ("theme",)


@pytest.mark.parametrize(
    "header",
    [
        "max-age=0, stale-while-revalidate=600",
        "max-age=0, stale-if-error=86400",
        "stale-while-revalidate=600",
        "stale-if-error=600",
        "max-age=0",
        "public",
    ],
)
def test_stale_directives_and_max_age_zero_are_shared(header: str) -> None:
    """CloudFront keeps these (it honours SWR/SIE and applies its DefaultTTL without max-age)."""
    policy = CachePolicy.parse(header)
    assert policy.is_shared
    assert not policy.as_private().is_shared
    assert not CachePolicy.parse(header + ", private").is_shared


def test_no_directive_with_a_lifetime_is_not_shared() -> None:
    assert not CachePolicy().is_shared
    assert not CachePolicy(must_revalidate=True).is_shared
    assert not CachePolicy(private=True, max_age=0, stale_while_revalidate=5).is_shared


def test_no_cache_has_no_shared_lifetime() -> None:
    """A shared cache that cannot revalidate (API Gateway) must not keep a no-cache response."""
    policy = CachePolicy(no_cache=True, max_age=60, s_maxage=600)
    assert policy.shared_max_age is None
    assert policy.is_shared  # still stored by caches that revalidate: the safety rule applies


@pytest.mark.parametrize("value", ["²", "١٢", "1²", "+5", "-1", ""])
def test_parse_ignores_non_ascii_digits(value: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "serverless_cache.http"):
        assert CachePolicy.parse(f"max-age={value}") == CachePolicy()
    assert "is not a number" in caplog.text


def test_policy_from_setting() -> None:
    assert policy_from_setting(None, "X") is None
    policy = CachePolicy(public=True, max_age=5)
    assert policy_from_setting(policy, "X") is policy
    assert policy_from_setting({"public": True, "max_age": 5}, "X") == policy
    with pytest.raises(ConfigurationError, match=r"^X must be a CachePolicy or a dict"):
        policy_from_setting("public", "X")
    with pytest.raises(ConfigurationError, match=r"^X: edge_cache: unknown directive 'max_ag'"):
        policy_from_setting({"max_ag": 5}, "X")


def test_stage_cache_needs_a_lifetime_api_gateway_can_keep() -> None:
    assert CachePolicy(public=True, s_maxage=60, stage_cache=True).stage_cache
    for fields in ({"private": True, "max_age": 60}, {"no_cache": True, "max_age": 60}, {}):
        with pytest.raises(ConfigurationError, match="stage_cache needs a shared lifetime"):
            CachePolicy(stage_cache=True, **fields)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="stage_cache must be True or False"):
        CachePolicy(max_age=5, stage_cache="yes")  # type: ignore[arg-type]


def test_merging_into_a_private_header_drops_stage_cache() -> None:
    policy = CachePolicy(public=True, s_maxage=60, stage_cache=True)
    merged = policy.merge(CachePolicy.parse("private, max-age=5"))
    assert not merged.stage_cache and merged.private
    assert policy.as_private().stage_cache is False
