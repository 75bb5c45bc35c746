"""The edge-header pipeline: the one place that decides and writes ``Cache-Control`` and ``Vary``.

Django and Flask supply only a small view of their request and response headers (and what the
framework will still add after this point); :func:`finish` gathers the facts, merges the
view's policy into what the response already says, applies the safety rule
(:func:`~serverless_cache.http.safety.safe_policy`) and writes the result. Running it again
on its own output changes nothing, so a decorator and a middleware can both run it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from serverless_cache.http.policy import SAFE_METHODS, CachePolicy
from serverless_cache.http.safety import ExchangeFacts, safe_policy


class RequestHeaders(Protocol):
    """Read access to the request's headers, case-insensitive (Django's and Werkzeug's)."""

    def get(self, key: str, /) -> str | None: ...


class ResponseHeaders(Protocol):
    """Read and write access to the headers a response will be sent with."""

    def get(self, name: str) -> str | None:
        """Every value of the header joined with ``", "`` (cookies included), None if absent."""

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


@dataclass(frozen=True)
class Later:
    """What the framework will still do to the response after the pipeline has run: the
    session and CSRF middleware under Django, the session save under Flask."""

    sets_cookie: bool = False
    varies_on_cookie: bool = False


NOTHING_LATER = Later()


def finish(
    response: ResponseHeaders,
    request: RequestHeaders,
    *,
    method: str,
    status: int,
    policy: CachePolicy | None,
    where: str,
    force_shared: bool = False,
    later: Later = NOTHING_LATER,
) -> CachePolicy:
    """Give the response its final ``Cache-Control`` and ``Vary``; returns the final policy.

    ``policy`` (a decorator's or a default) applies to GET and HEAD only; the safety rule
    applies to every response, whatever set its headers.
    """
    if method not in SAFE_METHODS:
        policy = None
    added = [*(policy.vary if policy else ()), *(("Cookie",) if later.varies_on_cookie else ())]
    vary = merge_vary(response.get("Vary"), added)
    if vary != (response.get("Vary") or ""):
        response.set("Vary", vary)
    vary_names = {name.lower() for name in split_header(vary)}
    existing = CachePolicy.parse(response.get("Cache-Control"), vary)
    merged = policy.merge(existing) if policy is not None else existing
    if force_shared and not merged.force_shared:
        merged = replace(merged, force_shared=True)
    facts = ExchangeFacts(
        status=status,
        sets_cookie=response.get("Set-Cookie") is not None or later.sets_cookie,
        authorization=bool(request.get("Authorization")),
        sends_cookies=bool((request.get("Cookie") or "").strip()),
        varies_on_cookie="cookie" in vary_names,
        varies_on_everything="*" in vary_names,
        expires=response.get("Expires") is not None,
    )
    final = safe_policy(merged, facts, where=where)
    if final.cache_control != (response.get("Cache-Control") or ""):
        if final.cache_control:
            response.set("Cache-Control", final.cache_control)
        else:
            response.delete("Cache-Control")
    return final


def split_header(value: str | None) -> list[str]:
    """The comma-separated names of a header such as ``Vary``, blanks dropped."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def merge_vary(existing: str | None, added: Iterable[str]) -> str:
    """``Vary`` with ``added`` names appended (case-insensitive, first spelling kept);
    ``*`` on either side is the whole header, as RFC 9110 12.5.5 says."""
    names = split_header(existing)
    seen = {name.lower() for name in names}
    for name in added:
        if name.lower() not in seen:
            names.append(name)
            seen.add(name.lower())
    return "*" if "*" in seen else ", ".join(names)
