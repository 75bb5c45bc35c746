"""``manage.py create_dynamodb_cache_table``: create the tables of the DynamoDB caches in CACHES.

Like Django's ``createcachetable``, run it once when deploying; it is idempotent.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from django.core.management.base import BaseCommand, CommandError, CommandParser

from serverless_cache.aws.dynamodb_table import cloudformation_resource, create_table
from serverless_cache.errors import ConfigurationError
from serverless_cache.tiers.dynamodb import DynamoDBTier


class Command(BaseCommand):
    help = (
        "Create the DynamoDB table of each DynamoDBCache in CACHES (or of the aliases given) "
        "with on-demand billing and TTL on the expiry attribute; safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("aliases", nargs="*", help="cache aliases (default: all DynamoDB)")
        parser.add_argument(
            "--print-template",
            nargs="?",
            const="yaml",
            choices=("yaml", "json"),
            help="print the CloudFormation/SAM resources instead of calling AWS",
        )

    def handle(self, *aliases: str, **options: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        tables: dict[str, DynamoDBTier] = {}
        for alias in aliases or list(caches.settings):
            tier = getattr(caches[alias], "tier", None)
            if isinstance(tier, DynamoDBTier):
                tables.setdefault(tier.table, tier)
            elif aliases:
                raise CommandError(f"cache {alias!r} is not a serverless_cache DynamoDBCache")
        if not tables:
            raise CommandError("no serverless_cache.django.DynamoDBCache in CACHES")
        for number, (table, tier) in enumerate(tables.items()):
            if options["print_template"]:
                self.stdout.write(
                    cloudformation_resource(
                        table, fmt=options["print_template"], logical_id=f"CacheTable{number}"
                    )
                )
                continue
            try:
                report = create_table(
                    table,
                    region_name=tier.settings.region_name,
                    endpoint_url=tier.settings.endpoint_url,
                )
            except (BotoCoreError, ClientError, ConfigurationError, TimeoutError) as exc:
                raise CommandError(f"could not create DynamoDB table {table!r}: {exc}") from exc
            self.stdout.write(str(report))
