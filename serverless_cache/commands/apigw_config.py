"""``serverless-cache apigw-config``: a deployable REST API template with the stage cache."""

from __future__ import annotations

import argparse
import sys

from serverless_cache.aws.apigateway import API_TYPES, CACHE_CLUSTER_SIZES
from serverless_cache.aws.apigateway_template import TEMPLATES, stage_template
from serverless_cache.aws.templates import FORMATS, render
from serverless_cache.commands._routes import add_source_arguments, load_routes

HELP = "print a deployable SAM or CloudFormation REST API template with the stage cache settings"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument(
        "--template",
        choices=TEMPLATES,
        default="sam",
        help="AWS SAM (AWS::Serverless::Api) or plain CloudFormation resources",
    )
    parser.add_argument("--format", choices=FORMATS, default="yaml", help="output format")
    parser.add_argument(
        "--api-type",
        choices=API_TYPES,
        default="rest",
        help="the API in front of the app; HTTP APIs have no stage cache and are refused",
    )
    parser.add_argument("--api", default="Api", help="logical id of the REST API")
    parser.add_argument("--function", default="Function", help="logical id of the function")
    parser.add_argument("--stage", default="prod", help="name of the API Gateway stage")
    parser.add_argument(
        "--cache-cluster-size",
        choices=CACHE_CLUSTER_SIZES,
        default="0.5",
        help="size of the stage cache in GB",
    )
    parser.add_argument("--handler", default="handler.lambda_handler", help="SAM: the handler")
    parser.add_argument("--runtime", default="python3.12", help="SAM: the function's runtime")
    parser.add_argument("--code-uri", default=".", help="SAM: the function's CodeUri")


def run(args: argparse.Namespace) -> int:
    document = stage_template(
        load_routes(args),
        template=args.template,
        api_type=args.api_type,
        api=args.api,
        function=args.function,
        stage=args.stage,
        cache_cluster_size=args.cache_cluster_size,
        handler=args.handler,
        runtime=args.runtime,
        code_uri=args.code_uri,
    )
    sys.stdout.write(render(document, args.format))
    return 0
