"""The safety rule: never let a shared cache keep one caller's response for everybody.

Framework-neutral; the Django and Flask adapters gather the facts (status, cookies, request
credentials) and call :func:`safe_policy` on the policy a response is about to be sent with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass, replace

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
    request_cookies: Collection[str]
    session_cookie: str
    varies_on_cookie: bool


def safe_policy(policy: CachePolicy, facts: ExchangeFacts, *, where: str) -> CachePolicy:
    """``policy`` as it may be emitted for this exchange.

    - A 5xx response never keeps a shared lifetime (an outage is not cached at the edge).
    - Any other status not in :data:`SHAREABLE_STATUSES` (a redirect to a login page, a 429,
      a 401...) is downgraded to ``private``, ``force_shared`` or not: the policy was written
      for the view's normal answer.
    - Unless the view said ``force_shared=True``, a shareable response is downgraded to
      ``private`` when it sets a cookie, when the request carried ``Authorization`` (shared
      caches may store such answers only when told to, RFC 9111 3.5, and a policy with a
      lifetime tells them to), or when the request carried the session cookie and the response
      varies on ``Cookie``.

    Each downgrade is logged once per ``where`` and reason.
    """
    if not policy.is_shared:
        return policy
    if facts.status >= 500:
        return ERROR_POLICY
    if facts.status not in SHAREABLE_STATUSES:
        _log_once(where, f"status {facts.status} is not one shared caches keep for everybody")
        return policy.as_private()
    if policy.force_shared:
        return policy
    if facts.sets_cookie:
        reason = "the response sets a cookie"
    elif facts.authorization:
        reason = "the request carried an Authorization header"
    elif facts.varies_on_cookie and facts.session_cookie in facts.request_cookies:
        reason = "the request carried the session cookie and the response varies on Cookie"
    else:
        return policy
    _log_once(where, reason + _FORCE_HINT)
    return policy.as_private()


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


def final_policy(
    cache_control: str | None,
    vary: str | None,
    facts: ExchangeFacts,
    *,
    policy: CachePolicy | None = None,
    force_shared: bool = False,
    where: str,
) -> CachePolicy:
    """The policy to send: ``policy`` merged over the response's own header, made safe."""
    existing = CachePolicy.parse(cache_control, vary)
    merged = policy.merge(existing) if policy is not None else existing
    if force_shared and not merged.force_shared:
        merged = replace(merged, force_shared=True)
    return safe_policy(merged, facts, where=where)


def varies_on_cookie(vary: str | None) -> bool:
    """True when a ``Vary`` header names ``Cookie`` (or ``*``)."""
    return any(v.strip().lower() in ("cookie", "*") for v in (vary or "").split(","))
