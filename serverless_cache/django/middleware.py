"""Middleware that gives every response a default edge policy and enforces the safety rule.

Put it first in ``MIDDLEWARE``: its response phase then runs last, after the session and
CSRF middleware have set their cookies and ``Vary: Cookie``, so it sees what will be sent.
The default policy (setting ``SERVERLESS_CACHE_EDGE_DEFAULT``, a CachePolicy or a dict of its
fields) applies to GET/HEAD responses that have no ``Cache-Control`` or ``Expires`` of their
own; the safety rule applies to every response (:mod:`serverless_cache.http.pipeline`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

from serverless_cache.django.edge import apply_policy
from serverless_cache.http.policy import policy_from_setting

SETTING = "SERVERLESS_CACHE_EDGE_DEFAULT"


class EdgeCacheMiddleware(MiddlewareMixin):
    """Apply the default policy where a view set none, then the safety rule to everything."""

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        self.default = policy_from_setting(getattr(settings, SETTING, None), SETTING)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        own = response.has_header("Cache-Control") or response.has_header("Expires")
        policy = None if own else self.default
        match = getattr(request, "resolver_match", None)
        where = f"view {match.view_name}" if match else f"path {request.path_info}"
        return apply_policy(request, response, policy, where=where)
