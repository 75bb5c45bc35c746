"""``serverless-cache cloudfront-policy``: CloudFront cache policies for an app's routes."""

from __future__ import annotations

import argparse
import json
import sys

from serverless_cache.aws.cloudfront import cache_policy_config, policies_template
from serverless_cache.aws.templates import FORMATS, render
from serverless_cache.commands._routes import add_source_arguments, load_routes
from serverless_cache.errors import ConfigurationError

HELP = "print CloudFront cache policies (CloudFormation, or the API's CachePolicyConfig)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="yaml", help="output format")
    parser.add_argument(
        "--prefix",
        help="policy name prefix (default: the stack name, so that stacks never collide)",
    )
    parser.add_argument(
        "--min-ttl",
        type=int,
        default=0,
        help="MinTTL in seconds; keep 0, or CloudFront caches private and no-store responses",
    )
    parser.add_argument(
        "--api-config",
        metavar="NAME",
        help="print the CachePolicyConfig of the one --route, named NAME, as JSON for "
        "`aws cloudfront create-cache-policy --cache-policy-config file://...`",
    )


def run(args: argparse.Namespace) -> int:
    routes = load_routes(args)
    if args.api_config:
        if len(routes) != 1:
            raise ConfigurationError("--api-config needs exactly one --route")
        config = cache_policy_config(routes[0].policy, name=args.api_config, min_ttl=args.min_ttl)
        sys.stdout.write(json.dumps(config, indent=2) + "\n")
        return 0
    document = policies_template(routes, prefix=args.prefix, min_ttl=args.min_ttl)
    sys.stdout.write(render(document, args.format))
    return 0
