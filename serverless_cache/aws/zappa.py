"""Zappa's responses, repaired: Zappa 0.63 sends every ``Set-Cookie`` twice (under
``Set-Cookie`` and ``set-cookie``, each list holding every cookie twice) and prefixes the
cookies of a Django app with a space. :func:`serverless_handler` applies :func:`tidy_cookies`
to the responses of Zappa's handler, so that API Gateway and CloudFront see each cookie once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def is_zappa_handler(handler: Any) -> bool:
    """Zappa's ``lambda_handler`` (``zappa.handler``, or the ``handler.py`` copy it packages)."""
    module = getattr(handler, "__module__", "") or ""
    return module == "zappa.handler" or (
        module == "handler" and getattr(handler, "__qualname__", "") == "lambda_handler"
    )


def _unique(cookies: Iterable[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for cookie in cookies:
        if isinstance(cookie, str) and cookie.strip():
            seen.setdefault(cookie.strip(), None)
    return list(seen)


def tidy_cookies(response: Any) -> Any:
    """Each cookie once, without leading spaces, under one ``Set-Cookie`` key (in place)."""
    if not isinstance(response, dict):
        return response
    multi = response.get("multiValueHeaders")
    if isinstance(multi, dict):
        names = [name for name in multi if name.lower() == "set-cookie"]
        if names:
            cookies = _unique(c for name in names for c in multi.pop(name) or ())
            multi["Set-Cookie"] = cookies
            headers = response.get("headers")
            if isinstance(headers, dict):
                for name in [n for n in headers if n.lower() == "set-cookie"]:
                    del headers[name]  # a single header cannot carry them all: the list does
    if isinstance(response.get("cookies"), list):
        response["cookies"] = _unique(response["cookies"])
    return response
