"""``manage.py create_dynamodb_cache_table``: create the tables of the DynamoDB caches in CACHES.

Like Django's ``createcachetable``, run it once when deploying; it is idempotent.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.management.base import BaseCommand, CommandError, CommandParser

from serverless_cache.aws.dynamodb_table import create_table, table_resource
from serverless_cache.aws.templates import render
from serverless_cache.errors import ConfigurationError
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.dynamodb import DynamoDBTier


def dynamodb_tiers(tier: Tier | None) -> list[DynamoDBTier]:
    """The DynamoDB tiers of a backend's tier: itself, or those inside a layered cache."""
    tiers = getattr(tier, "tiers", [tier])
    return [t for t in tiers if isinstance(t, DynamoDBTier)]


def logical_id(number: int) -> str:
    """CloudFormation id of the ``number``-th table: the name ``create-table`` uses, then 2, 3..."""
    return "ServerlessCacheTable" + (str(number + 1) if number else "")


class Command(BaseCommand):
    help = (
        "Create the DynamoDB table of each DynamoDBCache in CACHES (or of the aliases given) "
        "with on-demand billing and TTL on the expiry attribute; safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "aliases",
            nargs="*",
            metavar="ALIAS",
            help="CACHES aliases whose tables to create (default: every DynamoDB cache)",
        )
        parser.add_argument(
            "--print-template",
            nargs="?",
            const="yaml",
            choices=("yaml", "json"),
            help="print the CloudFormation/SAM resources instead of calling AWS",
        )

    def handle(self, *args: str, **options: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        aliases: list[str] = options["aliases"]  # a positional argument arrives in options
        unknown = [alias for alias in aliases if alias not in settings.CACHES]
        if unknown:
            raise CommandError(
                f"no cache alias {', '.join(map(repr, unknown))} in CACHES; "
                f"the aliases are {', '.join(map(repr, settings.CACHES))}"
            )
        tables: dict[str, DynamoDBTier] = {}
        for alias in aliases or list(settings.CACHES):
            try:
                backend = caches[alias]
            except ConfigurationError as exc:
                raise CommandError(f"CACHES[{alias!r}]: {exc}") from None
            found = dynamodb_tiers(getattr(backend, "tier", None))
            if not found and aliases:
                raise CommandError(
                    f"cache {alias!r} ({settings.CACHES[alias].get('BACKEND')}) has no "
                    "serverless_cache DynamoDB tier"
                )
            for tier in found:
                tables.setdefault(tier.table, tier)
        if not tables:
            raise CommandError("no serverless_cache DynamoDB cache (or layered tier) in CACHES")
        if options["print_template"]:
            resources = {
                logical_id(number): table_resource(table) for number, table in enumerate(tables)
            }
            self.stdout.write(render({"Resources": resources}, options["print_template"]))
            return
        for table, tier in tables.items():
            try:
                report = create_table(
                    table,
                    region_name=tier.settings.region_name,
                    endpoint_url=tier.settings.endpoint_url,
                )
            except (BotoCoreError, ClientError, ConfigurationError, TimeoutError) as exc:
                raise CommandError(f"could not create DynamoDB table {table!r}: {exc}") from exc
            self.stdout.write(str(report))
