"""``serverless-cache cloudfront-invalidate``: invalidate paths of a CloudFront distribution."""

from __future__ import annotations

import argparse
from typing import Any

from serverless_cache.aws.cloudfront import MAX_PATHS_PER_INVALIDATION, invalidate

HELP = "invalidate paths in a CloudFront distribution (batched; prints invalidation ids)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("distribution_id", help="the distribution's id, e.g. E2EXAMPLE")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="paths such as /articles/1")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=MAX_PATHS_PER_INVALIDATION,
        help="paths per invalidation request",
    )


def cloudfront_client() -> Any:
    """A CloudFront client. CloudFront is global: no region needs to be configured, so the
    requests are signed for us-east-1 unless the AWS configuration names a region."""
    import boto3

    session = boto3.session.Session()
    return session.client("cloudfront", region_name=session.region_name or "us-east-1")


def run(args: argparse.Namespace) -> int:
    client = cloudfront_client()
    for invalidation_id in invalidate(
        args.distribution_id, args.paths, batch_size=args.batch_size, client=client
    ):
        print(invalidation_id)
    return 0
