"""``serverless-cache apigw-cache-auth``: after a deploy, let only authorized callers flush
the stage cache with ``Cache-Control: max-age=0`` (CloudFormation cannot set this)."""

from __future__ import annotations

import argparse
import json
import sys

from serverless_cache.aws.apigateway import UNAUTHORIZED_STRATEGIES, set_cache_authorization
from serverless_cache.commands._routes import add_source_arguments, load_routes

HELP = "require authorization for cache invalidation on a deployed REST API stage"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument("--rest-api-id", required=True, help="the deployed REST API's id")
    parser.add_argument("--stage", default="prod", help="name of the API Gateway stage")
    parser.add_argument(
        "--strategy",
        choices=UNAUTHORIZED_STRATEGIES,
        default="FAIL_WITH_403",
        help="what an unauthorized max-age=0 request gets",
    )


def run(args: argparse.Namespace) -> int:
    settings = set_cache_authorization(
        args.rest_api_id, args.stage, load_routes(args), strategy=args.strategy
    )
    sys.stdout.write(json.dumps(settings, indent=2, sort_keys=True) + "\n")
    return 0
