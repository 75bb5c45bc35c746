"""The ``serverless-cache`` console command: wires the subcommand modules into argparse.

To add a subcommand, write a module in :mod:`serverless_cache.commands` (``HELP``,
``add_arguments``, ``run``) and list it in ``COMMANDS``. Expected failures (bad configuration,
a missing extra, an error AWS answered) are one line on stderr and a non-zero exit status, never
a traceback; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

from serverless_cache import __version__
from serverless_cache.aws import dynamodb_table
from serverless_cache.commands import (
    apigw_cache_auth,
    apigw_config,
    cloudfront_invalidate,
    cloudfront_policy,
)
from serverless_cache.errors import DISTRIBUTION, ServerlessCacheError, install_hint

COMMANDS: dict[str, ModuleType] = {
    "apigw-config": apigw_config,
    "apigw-cache-auth": apigw_cache_auth,
    "cloudfront-policy": cloudfront_policy,
    "cloudfront-invalidate": cloudfront_invalidate,
    "create-table": dynamodb_table,
}
#: Top-level modules of optional dependencies -> the extra that installs them.
EXTRAS = {
    "boto3": "dynamodb",
    "botocore": "dynamodb",
    "redis": "redis",
    "pymemcache": "memcached",
    "django": "django",
    "flask": "flask",
    "flask_caching": "flask",
}
#: Exit statuses: the command ran but failed (AWS, network), or it was given bad input.
FAILED, BAD_INPUT = 1, 2
EPILOG = "exit status: 0 done, 1 failed (AWS or network), 2 bad arguments or configuration"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="serverless-cache", epilog=EPILOG)
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__} ({DISTRIBUTION})"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        subparser = subparsers.add_parser(
            name,
            help=module.HELP,
            description=module.HELP,
            epilog=EPILOG,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        module.add_arguments(subparser)
        subparser.set_defaults(run=module.run)
    return parser


def error_line(error: BaseException) -> tuple[str, int] | None:
    """The one-line message and exit status for an expected failure; None for a bug."""
    if isinstance(error, ServerlessCacheError):
        return str(error), BAD_INPUT
    if isinstance(error, ModuleNotFoundError) and error.name:
        top = error.name.partition(".")[0]
        if top in EXTRAS:
            hint = install_hint(EXTRAS[top])
            return f"this needs {top}, which is not installed: {hint}", BAD_INPUT
        return (
            f"cannot import {error.name!r}: run from the project directory, or give "
            "--pythonpath (or PYTHONPATH) the directory that contains it",
            BAD_INPUT,
        )
    module = type(error).__module__
    if module.startswith("botocore") or module.startswith("boto3"):
        return f"{type(error).__name__}: {error}", FAILED
    if module.startswith("django.core.exceptions"):  # ImproperlyConfigured and the like
        return f"{type(error).__name__}: {error}", BAD_INPUT
    if isinstance(error, TimeoutError | ConnectionError):
        return f"{type(error).__name__}: {error}", FAILED
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand: the document goes to stdout, warnings and errors to stderr."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status: int = args.run(args)
        except Exception as error:
            found = error_line(error)
            if found is None:
                raise
            message, status = found
            print(f"serverless-cache {args.command}: error: {message}", file=sys.stderr)
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            print(f"warning: {warning.message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
