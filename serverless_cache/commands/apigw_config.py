"""``serverless-cache apigw-config``: the API Gateway stage cache settings of an app."""

from __future__ import annotations

import argparse
import sys

from serverless_cache.aws.apigateway import CACHE_CLUSTER_SIZES, TEMPLATES, stage_template
from serverless_cache.aws.templates import FORMATS, render
from serverless_cache.commands._routes import add_source_arguments, load_routes

HELP = "print API Gateway (REST API) stage cache settings for the decorated routes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument(
        "--template",
        choices=TEMPLATES,
        default="sam",
        help="AWS SAM (AWS::Serverless::Api) or plain CloudFormation resources",
    )
    parser.add_argument("--format", choices=FORMATS, default="yaml", help="output format")
    parser.add_argument("--api", default="Api", help="logical id of the REST API")
    parser.add_argument("--function", default="Function", help="logical id of the function")
    parser.add_argument("--stage", default="prod", help="name of the API Gateway stage")
    parser.add_argument(
        "--cache-cluster-size",
        choices=CACHE_CLUSTER_SIZES,
        default="0.5",
        help="size of the stage cache in GB",
    )


def run(args: argparse.Namespace) -> int:
    document = stage_template(
        load_routes(args),
        template=args.template,
        api=args.api,
        function=args.function,
        stage=args.stage,
        cache_cluster_size=args.cache_cluster_size,
    )
    sys.stdout.write(render(document, args.format))
    return 0
