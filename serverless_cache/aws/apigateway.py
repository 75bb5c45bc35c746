"""API Gateway (REST API) stage cache settings generated from the routes' edge policies.

API Gateway's cache ignores the origin's ``Cache-Control`` and keys only on the path and the
declared parameters: it never sees cookies or identity, so it would hand one caller's answer
to the next. Caching is therefore off for the whole stage (``/*`` ``*``) and on only for the
routes whose policy says ``stage_cache=True``; every other route with a shared lifetime is
warned about and left to CloudFront, which follows ``Cache-Control``. Cached data is
encrypted. HTTP APIs (payload v2) have no stage cache at all.

CloudFormation cannot set who may send ``Cache-Control: max-age=0`` to invalidate a cached
entry; :func:`set_cache_authorization` does it after the deploy (``apigw-cache-auth``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from serverless_cache.errors import ConfigurationError
from serverless_cache.http.routes import EdgeRoute

#: API Gateway's largest cache TTL for a method, in seconds.
MAX_TTL = 3600
CACHE_CLUSTER_SIZES = ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237")
API_TYPES = ("rest", "http")
#: What API Gateway does with an unauthorized ``Cache-Control: max-age=0`` request.
UNAUTHORIZED_STRATEGIES = (
    "FAIL_WITH_403",
    "SUCCEED_WITH_RESPONSE_HEADER",
    "SUCCEED_WITHOUT_RESPONSE_HEADER",
)


class EdgeConfigWarning(UserWarning):
    """A generated setting differs from what the policy asks for (clamped, left out)."""


def require_rest_api(api_type: str) -> None:
    """Refuse to generate stage cache settings for an HTTP API, which has no stage cache."""
    if api_type == "http":
        raise ConfigurationError(
            "HTTP APIs (payload format 2.0) have no stage cache, so there is nothing to "
            "configure; put CloudFront in front of them (serverless-cache cloudfront-policy)"
        )
    if api_type not in API_TYPES:
        raise ConfigurationError(f"API type must be one of {', '.join(API_TYPES)}")


def resource_path(path: str) -> str:
    """CloudFormation's MethodSettings form: ``/articles/{pk}`` -> ``/~1articles~1{pk}``."""
    return "/" if path == "/" else "/" + path.replace("/", "~1")


def cache_ttl(route: EdgeRoute) -> int:
    """Seconds API Gateway keeps the route's responses (0 = not cached), clamped to its range.

    Only a ``stage_cache=True`` policy is cached; a route with another shared lifetime is
    warned about. A ``no-cache`` policy is never cached (API Gateway cannot revalidate).
    """
    ttl = route.policy.shared_max_age or 0
    if not route.policy.stage_cache:
        if ttl:
            warnings.warn(
                f"{route.path}: shared lifetime {ttl}s left out of API Gateway's stage cache, "
                "which never sees cookies or identity; add stage_cache=True to its policy if "
                "the answer is the same for every caller",
                EdgeConfigWarning,
                stacklevel=2,
            )
        return 0
    if route.policy.query_strings == ("*",):
        warnings.warn(
            f"{route.path}: API Gateway cannot key its cache on all query strings; caching "
            "is disabled for this route, list the query strings to enable it",
            EdgeConfigWarning,
            stacklevel=2,
        )
        return 0
    if ttl > MAX_TTL:
        warnings.warn(
            f"{route.path}: shared lifetime {ttl}s exceeds API Gateway's maximum cache TTL; "
            f"clamped to {MAX_TTL}s",
            EdgeConfigWarning,
            stacklevel=2,
        )
        return MAX_TTL
    return ttl


def cache_key_parameters(route: EdgeRoute) -> list[str]:
    """The method request parameters API Gateway must key its cache on for this route."""
    policy = route.policy
    parameters = [f"method.request.path.{name}" for name in route.path_parameters]
    parameters += [f"method.request.querystring.{name}" for name in policy.query_strings]
    headers = list(policy.key_headers())
    if policy.key_cookies():
        warnings.warn(
            f"{route.path}: API Gateway cannot key its cache on single cookies; it keys on the "
            "whole Cookie header instead",
            EdgeConfigWarning,
            stacklevel=2,
        )
        headers.append("Cookie")
    parameters += [f"method.request.header.{name}" for name in headers]
    return parameters


def cached_routes(routes: Sequence[EdgeRoute]) -> list[tuple[EdgeRoute, int]]:
    """The routes the stage caches, each with its TTL (the others are warned about)."""
    with_ttls = [(route, cache_ttl(route)) for route in routes]
    return [(route, ttl) for route, ttl in with_ttls if ttl]


def method_settings(cached: Sequence[tuple[EdgeRoute, int]]) -> list[dict[str, Any]]:
    """The stage's MethodSettings: caching off by default, on (encrypted) per cached route."""
    settings: list[dict[str, Any]] = [
        {"ResourcePath": "/*", "HttpMethod": "*", "CachingEnabled": False}
    ]
    for route, ttl in cached:
        settings.append(
            {
                "ResourcePath": resource_path(route.path),
                "HttpMethod": "GET",
                "CachingEnabled": True,
                "CacheTtlInSeconds": ttl,
                "CacheDataEncrypted": True,
            }
        )
    return settings


def stage_properties(
    cached: Sequence[tuple[EdgeRoute, int]], *, stage: str, cache_cluster_size: str
) -> dict[str, Any]:
    """The stage's name and cache settings; the cache cluster exists only when it is used."""
    if cache_cluster_size not in CACHE_CLUSTER_SIZES:
        raise ConfigurationError(
            f"cache cluster size must be one of {', '.join(CACHE_CLUSTER_SIZES)}"
        )
    properties: dict[str, Any] = {"StageName": stage}
    if cached:
        properties["CacheClusterEnabled"] = True
        properties["CacheClusterSize"] = cache_cluster_size
    properties["MethodSettings"] = method_settings(cached)
    return properties


def cache_authorization_patches(
    routes: Sequence[EdgeRoute], strategy: str = "FAIL_WITH_403"
) -> list[dict[str, str]]:
    """``update_stage`` patch operations: only callers with ``execute-api:InvalidateCache``
    may flush a cached entry with ``Cache-Control: max-age=0``, on every cached method."""
    if strategy not in UNAUTHORIZED_STRATEGIES:
        raise ConfigurationError(
            f"unauthorized strategy must be one of {', '.join(UNAUTHORIZED_STRATEGIES)}"
        )
    targets = ["/*/*"] + [f"{resource_path(r.path)}/GET" for r, _ in cached_routes(routes)]
    patches = []
    for target in targets:
        patches += [
            {
                "op": "replace",
                "path": f"{target}/caching/requireAuthorizationForCacheControl",
                "value": "true",
            },
            {
                "op": "replace",
                "path": f"{target}/caching/unauthorizedCacheControlHeaderStrategy",
                "value": strategy,
            },
        ]
    return patches


def set_cache_authorization(
    rest_api_id: str,
    stage: str,
    routes: Sequence[EdgeRoute],
    *,
    strategy: str = "FAIL_WITH_403",
    client: Any = None,
) -> dict[str, Any]:
    """Apply :func:`cache_authorization_patches` to a deployed stage; returns its method
    settings as API Gateway now reports them. ``client`` defaults to
    ``boto3.client("apigateway")`` (boto3 is imported only here)."""
    patches = cache_authorization_patches(routes, strategy)
    if client is None:
        import boto3

        client = boto3.client("apigateway")
    answer = client.update_stage(restApiId=rest_api_id, stageName=stage, patchOperations=patches)
    return dict(answer.get("methodSettings", {}))
