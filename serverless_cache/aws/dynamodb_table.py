"""Create the DynamoDB cache table ahead of time: a function, a console command, a template.

Run it once per table when deploying, never while serving requests, so that the function's
run-time role needs no CreateTable or UpdateTimeToLive permission. Every step is idempotent:
an existing table is checked and its TTL setting completed, not recreated.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from typing import Any

from serverless_cache.aws.templates import render
from serverless_cache.errors import ConfigurationError
from serverless_cache.tiers.dynamodb import DEFAULT_TABLE, EXPIRES, KEY

BILLING_MODES = ("PAY_PER_REQUEST", "PROVISIONED")


@dataclass(frozen=True)
class TableReport:
    """What :func:`create_table` found and did."""

    table_name: str
    created: bool
    ttl_enabled: bool
    note: str = ""

    def __str__(self) -> str:
        state = "created" if self.created else "already exists"
        ttl = (
            f"TTL is enabled on attribute {EXPIRES!r}"
            if self.ttl_enabled
            else f"TTL is NOT enabled on attribute {EXPIRES!r}"
        )
        return f"DynamoDB table {self.table_name!r} {state}; {ttl}." + (
            f" {self.note}" if self.note else ""
        )


def dynamodb_client(region_name: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 DynamoDB client for table management (default timeouts, not the cache's).

    The region is ``region_name``, else ``AWS_REGION`` (what Lambda sets and the cache tier
    reads), else boto3's own defaults (``AWS_DEFAULT_REGION``, the AWS config file).
    """
    import boto3
    from botocore.exceptions import NoRegionError

    try:
        return boto3.session.Session().client(
            "dynamodb",
            region_name=region_name or os.environ.get("AWS_REGION") or None,
            endpoint_url=endpoint_url,
        )
    except NoRegionError:
        raise ConfigurationError("give a region (--region, REGION_NAME or AWS_REGION)") from None


def create_table(
    table_name: str = DEFAULT_TABLE,
    *,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    billing_mode: str = "PAY_PER_REQUEST",
    read_capacity: int = 5,
    write_capacity: int = 5,
    wait_seconds: float = 120.0,
    client: Any = None,
) -> TableReport:
    """Create the cache table (on-demand by default) and enable TTL on its expiry attribute.

    Safe to run again: an existing table is left as it is once its key schema is checked.
    """
    from botocore.exceptions import ClientError

    if billing_mode not in BILLING_MODES:
        raise ConfigurationError(f"billing mode must be one of {', '.join(BILLING_MODES)}")
    client = client or dynamodb_client(region_name, endpoint_url)
    capacity: dict[str, Any] = {}
    if billing_mode == "PROVISIONED":
        capacity["ProvisionedThroughput"] = {
            "ReadCapacityUnits": read_capacity,
            "WriteCapacityUnits": write_capacity,
        }
    try:
        client.create_table(
            TableName=table_name,
            AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
            BillingMode=billing_mode,
            **capacity,
        )
        created = True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
        created = False
    _check_key_schema(table_name, _wait_until_active(client, table_name, wait_seconds))
    ttl_enabled, note = _enable_ttl(client, table_name)
    return TableReport(table_name, created, ttl_enabled, note)


def _wait_until_active(client: Any, table_name: str, wait_seconds: float) -> dict[str, Any]:
    """Poll DescribeTable (boto3's waiter sleeps 20 s between polls) until the table is ACTIVE."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.1
    while True:
        table: dict[str, Any] = client.describe_table(TableName=table_name)["Table"]
        if table.get("TableStatus") == "ACTIVE":
            return table
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"DynamoDB table {table_name!r} is still {table.get('TableStatus')} after "
                f"{wait_seconds:g}s; run the command again later"
            )
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _check_key_schema(table_name: str, table: dict[str, Any]) -> None:
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    schema = [(k["AttributeName"], k["KeyType"]) for k in table.get("KeySchema", [])]
    if schema != [(KEY, "HASH")] or types.get(KEY) != "S":
        raise ConfigurationError(
            f"DynamoDB table {table_name!r} exists with key schema {schema} but the cache needs "
            f"a string partition key named {KEY!r} and no sort key; use another table name"
        )


def _enable_ttl(client: Any, table_name: str) -> tuple[bool, str]:
    """Turn on DynamoDB TTL for the expiry attribute unless it already is."""
    from botocore.exceptions import ClientError

    description = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    status = description.get("TimeToLiveStatus")
    attribute = description.get("AttributeName")
    if status in ("ENABLED", "ENABLING"):
        if attribute == EXPIRES:
            return True, ""
        return False, (
            f"TTL is enabled on attribute {attribute!r}, so DynamoDB will not delete expired "
            "cache items (reads still ignore them); this table is better used by the cache alone."
        )
    try:
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRES},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "UnknownOperationException":
            raise
        return False, (
            "This DynamoDB server has no TTL API (a local emulator?): expired items stay "
            "stored, and reads ignore them."
        )
    return True, ""


def cloudformation_resource(
    table_name: str = DEFAULT_TABLE,
    *,
    fmt: str = "yaml",
    logical_id: str = "ServerlessCacheTable",
    billing_mode: str = "PAY_PER_REQUEST",
    read_capacity: int = 5,
    write_capacity: int = 5,
) -> str:
    """The same table as a CloudFormation/SAM ``Resources`` entry, in YAML or JSON."""
    table = table_resource(table_name, billing_mode, read_capacity, write_capacity)
    return render({"Resources": {logical_id: table}}, fmt).rstrip("\n")


def table_resource(
    table_name: str,
    billing_mode: str = "PAY_PER_REQUEST",
    read_capacity: int = 5,
    write_capacity: int = 5,
) -> dict[str, Any]:
    """The ``AWS::DynamoDB::Table`` resource of a cache table, as a dict."""
    properties: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": billing_mode,
        "AttributeDefinitions": [{"AttributeName": KEY, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": KEY, "KeyType": "HASH"}],
        "TimeToLiveSpecification": {"AttributeName": EXPIRES, "Enabled": True},
    }
    if billing_mode == "PROVISIONED":
        properties["ProvisionedThroughput"] = {
            "ReadCapacityUnits": read_capacity,
            "WriteCapacityUnits": write_capacity,
        }
    return {"Type": "AWS::DynamoDB::Table", "Properties": properties}


# -- the `serverless-cache create-table` subcommand -------------------------------------------
HELP = "create the DynamoDB cache table (idempotent, TTL enabled) or print its template"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``serverless-cache create-table``."""
    parser.description = (
        "Create the DynamoDB cache table (idempotent) and enable TTL on its expiry attribute, "
        "or print the equivalent CloudFormation/SAM resource."
    )
    parser.add_argument("--table-name", default=DEFAULT_TABLE, help="the table to create")
    parser.add_argument(
        "--region", help="AWS region; when absent: AWS_REGION, AWS_DEFAULT_REGION, ~/.aws/config"
    )
    parser.add_argument(
        "--endpoint-url", help="a DynamoDB server other than AWS's, e.g. a local one for tests"
    )
    parser.add_argument(
        "--billing-mode",
        choices=BILLING_MODES,
        default="PAY_PER_REQUEST",
        help="on-demand, or provisioned with the capacities below",
    )
    parser.add_argument(
        "--read-capacity", type=int, default=5, help="read capacity units (PROVISIONED only)"
    )
    parser.add_argument(
        "--write-capacity", type=int, default=5, help="write capacity units (PROVISIONED only)"
    )
    parser.add_argument(
        "--print-template",
        nargs="?",
        const="yaml",
        choices=("yaml", "json"),
        help="print the CloudFormation/SAM resource (yaml when no format is given) instead "
        "of calling AWS",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``serverless-cache create-table``; failures are raised for the CLI to report."""
    if args.print_template:
        print(
            cloudformation_resource(
                args.table_name,
                fmt=args.print_template,
                billing_mode=args.billing_mode,
                read_capacity=args.read_capacity,
                write_capacity=args.write_capacity,
            )
        )
        return 0
    report = create_table(
        args.table_name,
        region_name=args.region,
        endpoint_url=args.endpoint_url,
        billing_mode=args.billing_mode,
        read_capacity=args.read_capacity,
        write_capacity=args.write_capacity,
    )
    print(report)
    return 0
