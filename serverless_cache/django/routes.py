"""Find the views decorated with ``@edge_cache`` in a Django URLconf."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from serverless_cache.django.edge import POLICY_ATTRIBUTE, WRAPS_CACHE_PAGE_ATTRIBUTE
from serverless_cache.http.policy import CachePolicy
from serverless_cache.http.routes import EdgeRoute, api_path, path_template

_REGEX_SPECIALS = re.compile(r"[\\^$.|?*+()\[\]]")


class EdgeRouteWarning(UserWarning):
    """A route could not be translated, or a value had to be adjusted."""


def edge_routes(urlconf: str | None = None) -> list[EdgeRoute]:
    """Every GET route of the URLconf whose view has an edge policy."""
    routes = []
    for path, entry in _walk(get_resolver(urlconf).url_patterns, ""):
        policy = view_policy(entry.callback)
        if policy is not None:
            routes.append(EdgeRoute(path, entry.name or entry.lookup_str, policy))
    return routes


def views_wrapping_cache_page(urlconf: str | None = None) -> list[tuple[str, str]]:
    """(path, view name) of every route whose ``edge_cache`` wraps ``cache_page``."""
    return [
        (path, entry.name or entry.lookup_str)
        for path, entry in _walk(get_resolver(urlconf).url_patterns, "")
        if getattr(entry.callback, WRAPS_CACHE_PAGE_ATTRIBUTE, False)
    ]


def view_policy(callback: Any) -> CachePolicy | None:
    """The policy of a view function or of the class behind ``as_view()``."""
    policy = getattr(callback, POLICY_ATTRIBUTE, None)
    view_class = getattr(callback, "view_class", None)
    if policy is None and view_class is not None:
        if not hasattr(view_class, "get"):
            return None
        policy = getattr(view_class, POLICY_ATTRIBUTE, None)
    return policy


def _walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, URLPattern]]:
    """Every URL pattern with its path in API Gateway's form."""
    for entry in patterns:
        segment = _segment(entry.pattern)
        if segment is None:
            continue
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + segment)
        elif isinstance(entry, URLPattern):
            yield api_path(prefix + segment), entry


def _segment(pattern: Any) -> str | None:
    """The API Gateway form of one pattern's part of the path, or None if it has none."""
    if isinstance(pattern, RoutePattern):
        return path_template(str(pattern))
    if isinstance(pattern, RegexPattern):
        return _simplify_regex(str(pattern))
    warnings.warn(f"{pattern!r}: pattern type not supported; skipped", EdgeRouteWarning, 2)
    return None


def _simplify_regex(regex: str) -> str | None:
    """``^articles/(?P<pk>[0-9]+)/$`` -> ``articles/{pk}/``; None (with a warning) if too clever."""
    text, out, i = regex.removeprefix("^").removesuffix("$").removesuffix(r"\Z"), "", 0
    while i < len(text):
        if text.startswith("(?P<", i):
            end = text.index(">", i)
            name, depth, j = text[i + 4 : end], 1, end + 1
            while depth and j < len(text):
                depth += {"(": 1, ")": -1}.get(text[j], 0) if text[j - 1] != "\\" else 0
                j += 1
            out, i = out + "{" + name + "}", j
        else:
            out, i = out + text[i], i + 1
    if _REGEX_SPECIALS.search(out):
        warnings.warn(
            f"URL regex {regex!r} is not a plain path; its routes are skipped",
            EdgeRouteWarning,
            2,
        )
        return None
    return out
