"""The ``serverless-cache`` console command: wires the subcommand modules into argparse.

To add a subcommand, write a module in :mod:`serverless_cache.commands` (``HELP``,
``add_arguments``, ``run``) and list it in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

from serverless_cache.aws import dynamodb_table
from serverless_cache.commands import (
    apigw_cache_auth,
    apigw_config,
    cloudfront_invalidate,
    cloudfront_policy,
)
from serverless_cache.errors import ServerlessCacheError

COMMANDS: dict[str, ModuleType] = {
    "apigw-config": apigw_config,
    "apigw-cache-auth": apigw_cache_auth,
    "cloudfront-policy": cloudfront_policy,
    "cloudfront-invalidate": cloudfront_invalidate,
    "create-table": dynamodb_table,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="serverless-cache")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        subparser = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(subparser)
        subparser.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand: the document goes to stdout, warnings and errors to stderr."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status: int = args.run(args)
        except ServerlessCacheError as error:
            print(f"serverless-cache {args.command}: error: {error}", file=sys.stderr)
            status = 2
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            print(f"warning: {warning.message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
