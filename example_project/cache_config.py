"""The environment switch of the example apps' cache configuration: a thin override.

The apps' settings hold literal configurations (``CACHES`` in ``django_app/settings.py``, the
``CACHE_*`` keys in ``flask_app/app.py``): the execution-context tier alone, nothing to run.
``EXAMPLE_CACHE_TIERS`` lists the tiers, fastest first (default ``memory``); with ``redis``,
``memcached`` and/or ``dynamodb`` the override turns that configuration into the layered cache,
the in-process tier (with the literal's options) in front of the shared ones, reached through
``REDIS_URL``, ``MEMCACHED_URL`` and the table ``DYNAMODB_TABLE`` (at ``DYNAMODB_ENDPOINT_URL``
when set). The
demo (``make demo``) and ``template.yaml`` use it; an app of your own needs none of this.
"""

from __future__ import annotations

import os
from typing import Any

#: The tiers this configuration can build.
SUPPORTED_TIERS = ("memory", "redis", "memcached", "dynamodb")
#: Seconds a product stays cached.
PRODUCT_TTL = 300
#: Seconds API Gateway's stage cache and CloudFront keep a response (``s-maxage``).
EDGE_TTL = 60
#: Seconds a rendered page stays cached (``cache_page`` / ``@cache.cached``).
PAGE_TTL = 60
#: Seconds an instance's in-process copy of a shared entry may be stale at most.
L1_CAP = 10
#: The DynamoDB table of the demo (created by the fleet, or by ``serverless-cache create-table``).
DEFAULT_TABLE = "serverless-cache-example"


def tier_names() -> list[str]:
    """The configured tiers, e.g. ``["memory"]`` or ``["memory", "redis"]``."""
    names = [n.strip() for n in os.environ.get("EXAMPLE_CACHE_TIERS", "memory").split(",")]
    names = [name for name in names if name]
    if not names or names[0] != "memory" or not set(names) <= set(SUPPORTED_TIERS):
        raise ValueError(
            f"unsupported EXAMPLE_CACHE_TIERS {names!r}: start with 'memory', "
            f"then any of {', '.join(SUPPORTED_TIERS[1:])}"
        )
    return names


def shared_tiers(names: list[str]) -> list[dict[str, Any]]:
    """The layered cache's ``TIERS`` entries for the shared tiers in ``names``."""
    tiers: list[dict[str, Any]] = []
    if "redis" in names:
        # ElastiCache Serverless always runs in cluster mode: REDIS_CLUSTER=1 in template.yaml.
        cluster = os.environ.get("REDIS_CLUSTER") == "1"
        location = os.environ["REDIS_URL"]
        tiers.append({"TIER": "redis", "LOCATION": location, "OPTIONS": {"CLUSTER": cluster}})
    if "memcached" in names:
        # An ElastiCache configuration endpoint (…cfg…) lists the nodes: MEMCACHED_DISCOVERY=1.
        discovery = os.environ.get("MEMCACHED_DISCOVERY") == "1"
        location = os.environ["MEMCACHED_URL"]
        tiers.append(
            {"TIER": "memcached", "LOCATION": location, "OPTIONS": {"AUTO_DISCOVERY": discovery}}
        )
    if "dynamodb" in names:
        options = {"REGION_NAME": os.environ.get("AWS_REGION", "us-east-1")}
        if os.environ.get("DYNAMODB_ENDPOINT_URL"):  # a local server; unset on Lambda
            options["ENDPOINT_URL"] = os.environ["DYNAMODB_ENDPOINT_URL"]
        location = os.environ.get("DYNAMODB_TABLE", DEFAULT_TABLE)
        tiers.append({"TIER": "dynamodb", "LOCATION": location, "OPTIONS": options})
    return tiers


def layered_options(names: list[str], l1_options: dict[str, Any]) -> dict[str, Any]:
    """OPTIONS of the layered cache: L1 capped at ``L1_CAP``, one computation across instances;
    ``EXAMPLE_CACHE_INVALIDATION=push`` turns on push invalidation in stacks whose last tier is
    Redis (the others poll the epoch)."""
    l1 = {"TIER": "memory", "CAP": L1_CAP, "OPTIONS": l1_options}
    options: dict[str, Any] = {"TIERS": [l1, *shared_tiers(names)], "LEASE": True}
    if os.environ.get("EXAMPLE_CACHE_INVALIDATION") and names[-1] == "redis":
        options["INVALIDATION"] = os.environ["EXAMPLE_CACHE_INVALIDATION"]
    return options


def django_caches(caches: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``caches`` as it is for the in-process tier alone, else with its default alias layered."""
    names = tier_names()
    if names == ["memory"]:
        return caches
    default = caches["default"]
    layered = {
        "BACKEND": "serverless_cache.django.LayeredCache",
        "LOCATION": default["LOCATION"],
        "KEY_PREFIX": os.environ.get("EXAMPLE_CACHE_PREFIX", "example"),
        "TIMEOUT": default["TIMEOUT"],
        "OPTIONS": layered_options(names, dict(default.get("OPTIONS", {}))),
    }
    return {**caches, "default": layered}


def flask_config(config: dict[str, Any]) -> dict[str, Any]:
    """Flask-Caching's ``config`` as it is for the in-process tier alone, else layered."""
    names = tier_names()
    if names == ["memory"]:
        return config
    options = dict(config.get("CACHE_OPTIONS", {}))
    name = options.pop("name")
    return {
        **config,
        "CACHE_TYPE": "serverless_cache.flask.LayeredCache",
        "CACHE_KEY_PREFIX": os.environ.get("EXAMPLE_CACHE_PREFIX", "example") + ":flask:",
        "CACHE_OPTIONS": {"name": name, **layered_options(names, options)},
    }


# -- the demo's stacks, from the same environment -------------------------------------------
def _port(url: str, default: int) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port or default


def stacks_from_environment(environ: dict[str, str]) -> tuple[list[list[str]], dict[int, str]]:
    """The tier stacks to run and which ports belong to which tier."""
    stacks = [["memory"]]
    ports: dict[int, str] = {}
    shared: list[str] = []
    for tier, variable, default_port in (
        ("redis", "REDIS_URL", 6379),
        ("memcached", "MEMCACHED_URL", 11211),
        ("dynamodb", "DYNAMODB_ENDPOINT_URL", 443),
    ):
        if environ.get(variable):
            shared.append(tier)
            ports[_port(environ[variable], default_port)] = tier
    for tier in shared:
        stacks.append(["memory", tier])
    if len(shared) > 1:
        stacks.append(["memory", *shared])
    return stacks, ports


def create_demo_table(environ: dict[str, str]) -> None:
    """Create the DynamoDB table once before the run, as a deployment would (never per request)."""
    from serverless_cache.aws.dynamodb_table import create_table

    create_table(
        environ.get("DYNAMODB_TABLE", DEFAULT_TABLE),
        region_name=environ.get("AWS_REGION", "us-east-1"),
        endpoint_url=environ["DYNAMODB_ENDPOINT_URL"],
    )
