"""API Gateway (REST API) stage cache settings generated from the routes' edge policies.

API Gateway's cache ignores the origin's ``Cache-Control``: what it keeps, for how long and
under which key is set only in the stage and method configuration. Generating that
configuration from the same policies the views send is the only way it follows the code.
Caching is off for the whole stage (``/*`` ``*``) and on only for routes with a shared
lifetime, so a new undecorated route is never cached by accident.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from serverless_cache.http.routes import EdgeRoute, logical_ids

#: API Gateway's largest cache TTL for a method, in seconds.
MAX_TTL = 3600
TEMPLATES = ("sam", "cloudformation")
CACHE_CLUSTER_SIZES = ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237")


class EdgeConfigWarning(UserWarning):
    """A generated setting differs from what the policy asks for (clamped, unsupported)."""


def resource_path(path: str) -> str:
    """CloudFormation's MethodSettings form: ``/articles/{pk}`` -> ``/~1articles~1{pk}``."""
    return "/" if path == "/" else "/" + path.replace("/", "~1")


def cache_ttl(route: EdgeRoute) -> int:
    """Seconds API Gateway keeps the route's responses (0 = not cached), clamped to its range.

    API Gateway cannot revalidate, so a ``no-cache`` policy is not cached there.
    """
    ttl = route.policy.shared_max_age or 0
    if ttl > MAX_TTL:
        warnings.warn(
            f"{route.path}: shared lifetime {ttl}s exceeds API Gateway's maximum cache TTL; "
            f"clamped to {MAX_TTL}s",
            EdgeConfigWarning,
            stacklevel=2,
        )
        return MAX_TTL
    if ttl and route.policy.query_strings == ("*",):
        warnings.warn(
            f"{route.path}: API Gateway cannot key its cache on all query strings; caching "
            "is disabled for this route, list the query strings to enable it",
            EdgeConfigWarning,
            stacklevel=2,
        )
        return 0
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


def method_settings(routes: Sequence[tuple[EdgeRoute, int]]) -> list[dict[str, Any]]:
    """The stage's MethodSettings from (route, TTL) pairs: caching off by default, on per
    route with its TTL."""
    settings: list[dict[str, Any]] = [
        {"ResourcePath": "/*", "HttpMethod": "*", "CachingEnabled": False}
    ]
    for route, ttl in routes:
        setting: dict[str, Any] = {
            "ResourcePath": resource_path(route.path),
            "HttpMethod": "GET",
            "CachingEnabled": ttl > 0,
        }
        if ttl:
            setting["CacheTtlInSeconds"] = ttl
        settings.append(setting)
    return settings


def stage_template(
    routes: Sequence[EdgeRoute],
    *,
    template: str = "sam",
    api: str = "Api",
    function: str = "Function",
    stage: str = "prod",
    cache_cluster_size: str = "0.5",
) -> dict[str, Any]:
    """A template fragment (``Resources``) to merge into a SAM or CloudFormation template.

    ``sam``: the ``AWS::Serverless::Api`` with the stage cache settings and one ``Api`` event
    per route on ``function`` declaring its cache key parameters. ``cloudformation``: the
    ``AWS::ApiGateway::Stage`` and, per route, the properties of its ``AWS::ApiGateway::Method``
    that carry the cache key (merge them into your method resources).
    """
    if template not in TEMPLATES:
        raise ValueError(f"template must be one of {', '.join(TEMPLATES)}, got {template!r}")
    if cache_cluster_size not in CACHE_CLUSTER_SIZES:
        raise ValueError(f"cache cluster size must be one of {', '.join(CACHE_CLUSTER_SIZES)}")
    ttls = [(route, cache_ttl(route)) for route in routes]
    stage_properties: dict[str, Any] = {
        "StageName": stage,
        "CacheClusterEnabled": True,
        "CacheClusterSize": cache_cluster_size,
        "MethodSettings": method_settings(ttls),
    }
    cached = [
        (route, slug, cache_key_parameters(route))
        for (route, ttl), slug in zip(ttls, logical_ids(routes), strict=True)
        if ttl
    ]
    if template == "sam":
        events = {
            f"Get{slug}": {
                "Type": "Api",
                "Properties": {
                    "RestApiId": {"Ref": api},
                    "Path": route.path,
                    "Method": "get",
                    "RequestParameters": [
                        {name: {"Required": ".path." in name, "Caching": True}}
                        for name in parameters
                    ],
                },
            }
            for route, slug, parameters in cached
        }
        return {
            "Resources": {
                api: {"Type": "AWS::Serverless::Api", "Properties": stage_properties},
                function: {"Type": "AWS::Serverless::Function", "Properties": {"Events": events}},
            }
        }
    resources: dict[str, Any] = {
        f"{api}Stage": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {
                "RestApiId": {"Ref": api},
                "DeploymentId": {"Ref": f"{api}Deployment"},
                **stage_properties,
            },
        }
    }
    for _route, slug, parameters in cached:
        resources[f"Get{slug}Method"] = {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "HttpMethod": "GET",
                "RequestParameters": {name: ".path." in name for name in parameters},
                "Integration": {"CacheKeyParameters": parameters},
            },
        }
    return {"Resources": resources}
