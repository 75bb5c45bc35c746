"""The safety rule, framework-neutral."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from serverless_cache.http.policy import CachePolicy
from serverless_cache.http.safety import (
    ERROR_POLICY,
    SHAREABLE_STATUSES,
    ExchangeFacts,
    forget_logged,
    safe_policy,
)

SHARED = CachePolicy(public=True, max_age=60, s_maxage=600)


@pytest.fixture(autouse=True)
def fresh_log() -> Iterator[None]:
    forget_logged()
    yield
    forget_logged()


def facts(**changes: object) -> ExchangeFacts:
    fields: dict[str, object] = {
        "status": 200,
        "sets_cookie": False,
        "authorization": False,
        "sends_cookies": False,
        "varies_on_cookie": False,
    }
    fields.update(changes)
    return ExchangeFacts(**fields)  # type: ignore[arg-type]


def test_plain_exchange_keeps_the_policy() -> None:
    assert safe_policy(SHARED, facts(), where="v") is SHARED


@pytest.mark.parametrize(
    "changes",
    [
        {"sets_cookie": True},
        {"authorization": True},
        {"sends_cookies": True, "varies_on_cookie": True},
        {"varies_on_everything": True},
    ],
)
def test_personal_exchanges_are_downgraded(changes: dict[str, object]) -> None:
    assert safe_policy(SHARED, facts(**changes), where="v").cache_control == "private, max-age=60"
    forced = CachePolicy(public=True, s_maxage=600, force_shared=True)
    assert safe_policy(forced, facts(**changes), where="v") is forced


def test_cookies_alone_or_vary_cookie_alone_are_not_personal() -> None:
    sent = facts(sends_cookies=True, varies_on_cookie=False)
    assert safe_policy(SHARED, sent, where="v") is SHARED
    anonymous = facts(sends_cookies=False, varies_on_cookie=True)
    assert safe_policy(SHARED, anonymous, where="v") is SHARED


def test_expires_is_a_shared_lifetime() -> None:
    """Shared caches honour Expires when Cache-Control says nothing about them."""
    none = CachePolicy()
    assert safe_policy(none, facts(expires=True, sets_cookie=True), where="v").cache_control == (
        "private"
    )
    assert safe_policy(none, facts(expires=True, status=503), where="v") == ERROR_POLICY
    assert safe_policy(none, facts(expires=True, status=302), where="v").cache_control == (
        "private"
    )
    assert safe_policy(none, facts(expires=True), where="v") is none
    private = CachePolicy(private=True)
    assert safe_policy(private, facts(expires=True, status=503), where="v") is private


def test_personal_response_without_a_lifetime_is_made_private() -> None:
    """A CDN gives a response without Cache-Control its default TTL."""
    none = CachePolicy()
    assert safe_policy(none, facts(sets_cookie=True), where="v").cache_control == "private"
    revalidated = CachePolicy(no_cache=True)
    assert safe_policy(revalidated, facts(authorization=True), where="v").cache_control == (
        "private, no-cache"
    )
    # without a lifetime, the status rules do not invent one
    assert safe_policy(none, facts(status=503), where="v") is none
    assert safe_policy(none, facts(status=302), where="v") is none


def test_server_errors_never_keep_a_shared_lifetime() -> None:
    assert safe_policy(SHARED, facts(status=503), where="v") == ERROR_POLICY
    forced = CachePolicy(public=True, s_maxage=600, force_shared=True)
    assert safe_policy(forced, facts(status=500), where="v").cache_control == "no-store"
    browser_only = CachePolicy(private=True, max_age=5)
    assert safe_policy(browser_only, facts(status=500), where="v") is browser_only
    assert safe_policy(SHARED, facts(status=404), where="v") is SHARED


def test_downgrade_is_logged_once_per_view_and_reason(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "serverless_cache.http"):
        for _ in range(3):
            safe_policy(SHARED, facts(sets_cookie=True), where="view a")
        safe_policy(SHARED, facts(sets_cookie=True), where="view b")
        safe_policy(SHARED, facts(authorization=True), where="view a")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert "view a was downgraded to private because the response sets a cookie" in messages[0]
    assert "force_shared=True" in messages[0]


@pytest.mark.parametrize(
    "header",
    [
        "max-age=0, stale-while-revalidate=600",
        "max-age=0, stale-if-error=86400",
        "stale-while-revalidate=600",
    ],
)
def test_stale_only_lifetimes_are_protected_too(header: str) -> None:
    policy = CachePolicy.parse(header)
    assert safe_policy(policy, facts(sets_cookie=True), where="v").private
    assert safe_policy(policy, facts(status=503), where="v") == ERROR_POLICY


@pytest.mark.parametrize("status", [200, 203, 204, 300, 301, 304, 308, 404, 405, 410, 414])
def test_statuses_cached_by_default_keep_the_shared_lifetime(status: int) -> None:
    assert status in SHAREABLE_STATUSES
    assert safe_policy(SHARED, facts(status=status), where="v") is SHARED


@pytest.mark.parametrize("status", [201, 206, 302, 303, 307, 400, 401, 403, 409, 429, 451])
def test_other_statuses_are_downgraded_even_when_forced(status: int) -> None:
    assert safe_policy(SHARED, facts(status=status), where="v").cache_control == (
        "private, max-age=60"
    )
    forced = CachePolicy(public=True, max_age=60, s_maxage=600, force_shared=True)
    assert safe_policy(forced, facts(status=status), where="v").cache_control == (
        "private, max-age=60"
    )
    browser_only = CachePolicy(private=True, max_age=5)
    assert safe_policy(browser_only, facts(status=status), where="v") is browser_only


def test_status_downgrade_is_logged_once_per_view_and_status(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, "serverless_cache.http"):
        for _ in range(3):
            safe_policy(SHARED, facts(status=302), where="view a")
        safe_policy(SHARED, facts(status=429), where="view a")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "view a was downgraded to private because status 302" in messages[0]
    assert "force_shared" not in messages[0]
    assert "status 429" in messages[1]
