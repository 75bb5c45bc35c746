"""The safety rule: never let a shared cache keep one caller's response for everybody.

Framework-neutral; :mod:`serverless_cache.http.pipeline` gathers the facts (status, cookies,
request credentials) and calls :func:`safe_policy` on the policy a response is about to be
sent with.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from serverless_cache.http.policy import CachePolicy

logger = logging.getLogger("serverless_cache.http")

#: What a 5xx response is sent with when its policy had a shared lifetime.
ERROR_POLICY = CachePolicy(no_store=True)

#: Statuses a shared cache may keep by default whose answer is the same for every caller:
#: RFC 9110's heuristically cacheable ones (15.1; 501 left out, as every 5xx gets no-store)
#: and 304, which carries the policy of the 200 it revalidates (RFC 9110 15.4.5).
SHAREABLE_STATUSES = frozenset({200, 203, 204, 300, 301, 304, 308, 404, 405, 410, 414})
_FORCE_HINT = "; pass force_shared=True to the policy to share it anyway"

_logged: set[tuple[str, str]] = set()
_logged_lock = threading.Lock()


@dataclass(frozen=True)
class ExchangeFacts:
    """What the safety rule needs to know about one request and its response."""

    status: int
    sets_cookie: bool
    authorization: bool
    sends_cookies: bool
    varies_on_cookie: bool
    varies_on_everything: bool = False
    expires: bool = False


def safe_policy(policy: CachePolicy, facts: ExchangeFacts, *, where: str) -> CachePolicy:
    """``policy`` as it may be emitted for this exchange.

    A response has a shared lifetime when its ``Cache-Control`` gives one, or when it has an
    ``Expires`` header and nothing that forbids shared caches (``private``, ``no-store``,
    ``no-cache``). Such a response:

    - never keeps it on a 5xx (an outage is not cached at the edge): ``no-store``;
    - is downgraded to ``private`` on any other status not in :data:`SHAREABLE_STATUSES` (a
      redirect to a login page, a 429, a 401...), ``force_shared`` or not: the policy was
      written for the view's normal answer.

    Unless the view said ``force_shared=True``, a response is downgraded to ``private`` when it
    is personal: it sets a cookie, the request carried ``Authorization`` (shared caches may
    store such answers only when told to, RFC 9111 3.5, and a lifetime tells them to), the
    request carried any cookie and the response varies on ``Cookie``, or the response varies on
    everything (``Vary: *``; CloudFront ignores ``Vary``). This also applies to a personal
    response without any lifetime of its own, since a CDN then applies its default TTL.

    Each downgrade is logged once per ``where`` and reason.
    """
    if policy.private or policy.no_store:
        return policy
    explicit = policy.is_shared or (facts.expires and not policy.no_cache)
    if explicit and facts.status >= 500:
        return ERROR_POLICY
    if explicit and facts.status not in SHAREABLE_STATUSES:
        _log_once(where, f"status {facts.status} is not one shared caches keep for everybody")
        return policy.as_private()
    if policy.force_shared:
        return policy
    reason = _personal(facts)
    if reason is None:
        return policy
    _log_once(where, reason + _FORCE_HINT)
    return policy.as_private()


def _personal(facts: ExchangeFacts) -> str | None:
    """Why the response belongs to one caller, or None when it is the same for everybody."""
    if facts.sets_cookie:
        return "the response sets a cookie"
    if facts.authorization:
        return "the request carried an Authorization header"
    if facts.varies_on_everything:
        return "the response varies on everything (Vary: *)"
    if facts.varies_on_cookie and facts.sends_cookies:
        return "the request carried cookies and the response varies on Cookie"
    return None


def _log_once(where: str, reason: str) -> None:
    with _logged_lock:
        if (where, reason) in _logged:
            return
        _logged.add((where, reason))
    logger.warning(
        "edge cache: %s was downgraded to private because %s (logged once)", where, reason
    )


def forget_logged() -> None:
    """Log every downgrade again (for tests)."""
    with _logged_lock:
        _logged.clear()
