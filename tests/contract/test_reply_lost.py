"""Contract rule 11 on every standalone shared stack: the store applied a write, and its reply
was lost on the way back (the proxy read it, discarded it and closed the client connection).

Never double-apply, never misreport: incr is not retried, add recognises its own write, and
the idempotent calls are retried once on a fresh connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from serverless_cache.errors import CacheUnavailableError
from serverless_cache.tiers.base import Tier
from tests.contract.conftest import Raw, Stack
from tests.fixtures.fault_proxy import FaultProxy


def _parts(stack: Stack) -> tuple[FaultProxy, Raw]:
    assert stack.proxy is not None and stack.raw is not None
    return stack.proxy, stack.raw


def _warm(tier: Tier) -> None:
    """Open the connection first: its handshake replies are not the call under test."""
    assert tier.set("warm-up", 1, None) is True
    assert tier.get("warm-up") == 1


@pytest.mark.parametrize("fail_open", [True, False], ids=["fail-open", "fail-closed"])
def test_incr_whose_reply_is_lost_is_applied_once_and_raises(
    lost_stack: Stack, fail_open: bool
) -> None:
    proxy, raw = _parts(lost_stack)
    tier = lost_stack.make(FAIL_OPEN=fail_open)
    _warm(tier)
    assert tier.set("n", 100, None) is True
    proxy.drop_replies(1)
    with pytest.raises(CacheUnavailableError):
        tier.incr("n", 1)
    assert proxy.dropped == 1
    assert raw.get_int("n") == 101  # applied by the store once, never retried into 102
    # Its outcome is unknown to the tier, so recovery undoes it: a miss, never a wrong count.
    assert tier.get("n", "miss") == "miss"
    assert not raw.exists("n")


def test_add_whose_reply_is_lost_recognises_its_own_write(lost_stack: Stack) -> None:
    proxy, raw = _parts(lost_stack)
    tier = lost_stack.make(FAIL_OPEN=False)
    _warm(tier)
    proxy.drop_replies(1)
    assert tier.add("k", "mine", None) is True
    assert proxy.dropped == 1
    assert raw.exists("k")
    assert tier.get("k") == "mine"
    assert tier.add("k", "again", None) is False
    assert tier.get("k") == "mine"


def test_add_whose_reply_is_lost_does_not_claim_another_writer_s_value(
    lost_stack: Stack,
) -> None:
    proxy, raw = _parts(lost_stack)
    tier = lost_stack.make(FAIL_OPEN=False)
    _warm(tier)
    raw.put_int("k", 1)  # another instance's value, already there
    proxy.drop_replies(1)
    assert tier.add("k", 2, None) is False
    assert proxy.dropped == 1
    assert raw.get_int("k") == 1


def _new_connections(proxy: FaultProxy, call: Callable[[], Any]) -> int:
    before = proxy.accepted
    call()
    return proxy.accepted - before


def test_set_whose_reply_is_lost_is_retried_on_a_fresh_connection(lost_stack: Stack) -> None:
    proxy, raw = _parts(lost_stack)
    tier = lost_stack.make(FAIL_OPEN=False)
    _warm(tier)
    usual = _new_connections(proxy, lambda: tier.set("other", 40, None))  # 0 with keep-alive
    proxy.drop_replies(1)
    assert _new_connections(proxy, lambda: tier.set("k", 41, None)) == usual + 1
    assert proxy.dropped == 1
    assert raw.get_int("k") == 41
    assert tier.get("k") == 41


def test_set_whose_reply_is_lost_returns_true(lost_stack: Stack) -> None:
    proxy, raw = _parts(lost_stack)
    tier = lost_stack.make()
    _warm(tier)
    proxy.drop_replies(1)
    assert tier.set("k", 41, None) is True
    assert proxy.dropped == 1
    assert raw.get_int("k") == 41


def test_get_whose_reply_is_lost_is_retried_on_a_fresh_connection(lost_stack: Stack) -> None:
    proxy, raw = _parts(lost_stack)
    tier = lost_stack.make(FAIL_OPEN=False)
    _warm(tier)
    raw.put_int("k", 42)  # behind the tier: no upper tier of a layered stack holds a copy
    raw.put_int("other", 1)
    found: list[Any] = []
    usual = _new_connections(proxy, lambda: found.append(tier.get("other")))
    proxy.drop_replies(1)
    assert _new_connections(proxy, lambda: found.append(tier.get("k"))) == usual + 1
    assert proxy.dropped == 1
    assert found == [1, 42]


def test_delete_whose_reply_is_lost_is_retried_on_a_fresh_connection(lost_stack: Stack) -> None:
    proxy, raw = _parts(lost_stack)
    tier = lost_stack.make(FAIL_OPEN=False)
    _warm(tier)
    raw.put_int("k", 43)
    raw.put_int("other", 1)
    usual = _new_connections(proxy, lambda: tier.delete("other"))
    proxy.drop_replies(1)
    # FAIL_OPEN=False: a delete that failed would raise CacheUnavailableError
    assert _new_connections(proxy, lambda: tier.delete("k")) == usual + 1
    assert proxy.dropped == 1
    assert raw.exists("k") is False
    assert tier.get("k", "gone") == "gone"


def test_a_delete_whose_reply_was_lost_still_says_the_key_was_present(lost_stack: Stack) -> None:
    tier = lost_stack.make()
    raw = lost_stack.raw
    assert raw is not None and lost_stack.proxy is not None
    raw.put_int("gone", 43)
    lost_stack.proxy.drop_replies(1)
    assert tier.delete("gone") is True  # was: False, the retry found it already removed
    assert not raw.exists("gone")
