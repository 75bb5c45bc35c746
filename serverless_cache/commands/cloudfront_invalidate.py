"""``serverless-cache cloudfront-invalidate``: invalidate paths of a CloudFront distribution."""

from __future__ import annotations

import argparse

from serverless_cache.aws.cloudfront import MAX_PATHS_PER_INVALIDATION, invalidate

HELP = "invalidate paths in a CloudFront distribution (batched; prints invalidation ids)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("distribution_id")
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("--batch-size", type=int, default=MAX_PATHS_PER_INVALIDATION)


def run(args: argparse.Namespace) -> int:
    for invalidation_id in invalidate(args.distribution_id, args.paths, batch_size=args.batch_size):
        print(invalidation_id)
    return 0
