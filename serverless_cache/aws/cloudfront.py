"""CloudFront: cache policies from edge policies, invalidation, and Lambda@Edge headers.

Unlike API Gateway, CloudFront honours the origin's ``Cache-Control`` between its MinTTL and
MaxTTL, so the generated cache policy keeps MinTTL at 0 (``private`` and ``no-store`` are then
obeyed) and puts exactly the policy's key inputs (``vary``, headers, cookies, query strings)
in the cache key.
"""

from __future__ import annotations

import re
import time
import uuid
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from serverless_cache.aws.apigateway import EdgeConfigWarning
from serverless_cache.errors import ConfigurationError
from serverless_cache.http.policy import CachePolicy
from serverless_cache.http.routes import EdgeRoute, logical_ids

#: CloudFront's own default MaxTTL (one year): the origin's headers decide below it.
DEFAULT_MAX_TTL = 31_536_000
#: CloudFront handles Accept-Encoding through the EnableAcceptEncoding* switches.
_ENCODING = "accept-encoding"
#: Paths per invalidation request (CloudFront accepts up to 3000).
MAX_PATHS_PER_INVALIDATION = 3000
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def _items(values: Sequence[str]) -> dict[str, Any]:
    return {"Quantity": len(values), "Items": list(values)} if values else {"Quantity": 0}


def _behavior(values: Sequence[str]) -> tuple[str, Sequence[str]]:
    if not values:
        return "none", ()
    if "*" in values:
        return "all", ()
    return ("whitelist", values)


def cache_policy_config(
    policy: CachePolicy,
    *,
    name: str,
    comment: str = "",
    min_ttl: int = 0,
    max_ttl: int = DEFAULT_MAX_TTL,
) -> dict[str, Any]:
    """The ``CachePolicyConfig`` for boto3's ``create_cache_policy`` / the CloudFront API.

    DefaultTTL (used when the origin sends no ``Cache-Control``) is the policy's shared
    lifetime, 0 for a ``no-cache`` policy so that CloudFront never serves it unrevalidated.
    ``min_ttl`` > 0 makes CloudFront keep ``private``/``no-store`` responses anyway,
    so it is warned about.
    """
    if not _NAME.match(name):
        raise ConfigurationError(
            f"CloudFront cache policy name {name!r}: use 1-128 letters, digits, - or _"
        )
    if min_ttl < 0 or max_ttl < min_ttl:
        raise ConfigurationError("CloudFront TTLs need 0 <= min_ttl <= max_ttl")
    if min_ttl > 0:
        warnings.warn(
            f"cache policy {name}: MinTTL {min_ttl} > 0 makes CloudFront cache responses "
            "marked private or no-store; keep it 0 unless every response is public",
            EdgeConfigWarning,
            stacklevel=2,
        )
    default_ttl = min(max(policy.shared_max_age or 0, min_ttl), max_ttl)
    headers = [h for h in policy.key_headers() if h.lower() != _ENCODING]
    header_behavior, header_items = ("whitelist", headers) if headers else ("none", [])
    cookie_behavior, cookie_items = _behavior(policy.key_cookies())
    query_behavior, query_items = _behavior(policy.query_strings)
    return {
        "Name": name,
        "Comment": comment,
        "DefaultTTL": default_ttl,
        "MaxTTL": max_ttl,
        "MinTTL": min_ttl,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True,
            "EnableAcceptEncodingBrotli": True,
            "HeadersConfig": {"HeaderBehavior": header_behavior, "Headers": _items(header_items)},
            "CookiesConfig": {"CookieBehavior": cookie_behavior, "Cookies": _items(cookie_items)},
            "QueryStringsConfig": {
                "QueryStringBehavior": query_behavior,
                "QueryStrings": _items(query_items),
            },
        },
    }


def as_cloudformation(config: Mapping[str, Any]) -> dict[str, Any]:
    """An API-form config in ``AWS::CloudFront::CachePolicy`` form: plain lists, empty ones left
    out."""

    def convert(value: Any) -> Any:
        if isinstance(value, Mapping):
            if "Quantity" in value:
                return list(value.get("Items", []))
            converted = {key: convert(item) for key, item in value.items()}
            return {key: item for key, item in converted.items() if item != []}
        return value

    return convert(config)  # type: ignore[no-any-return]


def policies_template(
    routes: Sequence[EdgeRoute], *, prefix: str | None = None, min_ttl: int = 0
) -> dict[str, Any]:
    """A template with one ``AWS::CloudFront::CachePolicy`` per route (and its id as an output).

    Cache policy names are unique per account, so each is named after the stack
    (``<stack name>-<Route>``) unless ``prefix`` is given: a dev and a prod stack in one account
    then never collide.
    """
    if prefix is not None and not _NAME.match(f"{prefix}-"):
        raise ConfigurationError(
            f"CloudFront cache policy prefix {prefix!r}: use letters, digits, - or _"
        )
    resources, outputs = {}, {}
    for route, slug in zip(routes, logical_ids(routes), strict=True):
        config = cache_policy_config(
            route.policy,
            name=f"{prefix or 'stack'}-{slug}",
            comment=f"{route.path} ({route.name})"[:128],
            min_ttl=min_ttl,
        )
        if prefix is None:
            config["Name"] = {"Fn::Sub": f"${{AWS::StackName}}-{slug}"}
        resources[f"CachePolicy{slug}"] = {
            "Type": "AWS::CloudFront::CachePolicy",
            "Properties": {"CachePolicyConfig": as_cloudformation(config)},
        }
        outputs[f"CachePolicy{slug}Id"] = {"Value": {"Ref": f"CachePolicy{slug}"}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "CloudFront cache policies, generated by serverless-cache cloudfront-policy",
        "Resources": resources,
        "Outputs": outputs,
    }


def invalidate(
    distribution_id: str,
    paths: Iterable[str],
    *,
    client: Any = None,
    batch_size: int = MAX_PATHS_PER_INVALIDATION,
) -> list[str]:
    """Invalidate ``paths`` in batches; returns the invalidation ids, one per batch.

    Paths get a leading ``/`` and are de-duplicated; each batch has its own unique caller
    reference, so a retried call never collides with an earlier one. ``client`` defaults to
    ``boto3.client("cloudfront")`` (boto3 is imported only here).
    """
    if not 1 <= batch_size <= MAX_PATHS_PER_INVALIDATION:
        raise ConfigurationError(
            f"batch_size must be between 1 and {MAX_PATHS_PER_INVALIDATION}, got {batch_size}"
        )
    unique = list(dict.fromkeys("/" + p.lstrip("/") for p in paths if p.strip()))
    if not unique:
        return []
    if client is None:
        import boto3

        client = boto3.client("cloudfront")
    ids = []
    run = f"serverless-cache-{time.time_ns()}-{uuid.uuid4().hex[:12]}"
    for start in range(0, len(unique), batch_size):
        batch = unique[start : start + batch_size]
        answer = client.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(batch), "Items": batch},
                "CallerReference": f"{run}-{start // batch_size}",
            },
        )
        ids.append(answer["Invalidation"]["Id"])
    return ids


#: A Django or Werkzeug response, a mapping of name -> value(s), or (name, value) pairs.
HeaderSource = Any


def header_pairs(source: HeaderSource) -> list[tuple[str, str]]:
    """Every (name, value) of a Django or Flask response, a mapping or a list of pairs.

    Repeated headers stay separate pairs: Django keeps cookies outside its header dict and
    Werkzeug keeps duplicates, and both are read here without merging.
    """
    if hasattr(source, "cookies") and hasattr(source, "items") and hasattr(source, "status_code"):
        pairs = [(str(k), str(v)) for k, v in source.items()]
        cookies = source.cookies.values()
        return pairs + [("Set-Cookie", c.output(header="").strip()) for c in cookies]
    if hasattr(source, "headers") and hasattr(source, "status_code"):
        return [(str(k), str(v)) for k, v in source.headers.items()]
    if isinstance(source, Mapping):
        pairs = []
        for name, value in source.items():
            values = [value] if isinstance(value, str) else list(value)
            pairs += [(str(name), str(v)) for v in values]
        return pairs
    return [(str(k), str(v)) for k, v in source]


def lambda_edge_headers(source: HeaderSource) -> dict[str, list[dict[str, str]]]:
    """Headers in Lambda@Edge form: ``{"cache-control": [{"key": "Cache-Control", ...}]}``.

    Names are lower-cased keys; every value of a repeated header (``Set-Cookie``...) is its
    own entry in the list, in order, so none overwrites another.
    """
    headers: dict[str, list[dict[str, str]]] = {}
    for name, value in header_pairs(source):
        headers.setdefault(name.lower(), []).append({"key": name, "value": value})
    return headers
