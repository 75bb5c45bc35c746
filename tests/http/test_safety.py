"""The safety rule, framework-neutral."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from serverless_cache.http.policy import CachePolicy
from serverless_cache.http.safety import ERROR_POLICY, ExchangeFacts, forget_logged, safe_policy

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
        "request_cookies": {},
        "session_cookie": "sessionid",
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
        {"request_cookies": {"sessionid": "x"}, "varies_on_cookie": True},
    ],
)
def test_personal_exchanges_are_downgraded(changes: dict[str, object]) -> None:
    assert safe_policy(SHARED, facts(**changes), where="v").cache_control == "private, max-age=60"
    forced = CachePolicy(public=True, s_maxage=600, force_shared=True)
    assert safe_policy(forced, facts(**changes), where="v") is forced


def test_session_cookie_alone_is_not_personal() -> None:
    sent = facts(request_cookies={"sessionid": "x"}, varies_on_cookie=False)
    assert safe_policy(SHARED, sent, where="v") is SHARED
    other = facts(request_cookies={"theme": "dark"}, varies_on_cookie=True)
    assert safe_policy(SHARED, other, where="v") is SHARED


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
