"""Creating the cache table ahead of time, on moto and on dynalite."""

from __future__ import annotations

import argparse
import json
import uuid

import boto3
import pytest
import yaml

from serverless_cache import cli
from serverless_cache.aws import dynamodb_table
from serverless_cache.aws.dynamodb_table import cloudformation_resource, create_table
from serverless_cache.errors import ConfigurationError
from tests.fixtures.dynamodb_servers import REGION, LocalDynamoDB


def new_name() -> str:
    return f"table-{uuid.uuid4().hex[:12]}"


def client_for(server: LocalDynamoDB) -> object:
    return boto3.client("dynamodb", region_name=REGION, endpoint_url=server.endpoint_url)


def test_create_table_twice(dynamodb_server: LocalDynamoDB) -> None:
    name = new_name()
    first = create_table(name, region_name=REGION, endpoint_url=dynamodb_server.endpoint_url)
    second = create_table(name, region_name=REGION, endpoint_url=dynamodb_server.endpoint_url)
    assert (first.created, second.created) == (True, False)
    client = client_for(dynamodb_server)
    table = client.describe_table(TableName=name)["Table"]  # type: ignore[attr-defined]
    assert table["KeySchema"] == [{"AttributeName": "k", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    if dynamodb_server.kind == "moto":
        ttl = client.describe_time_to_live(TableName=name)  # type: ignore[attr-defined]
        assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "e"}
        assert first.ttl_enabled and second.ttl_enabled
    else:  # dynalite has no UpdateTimeToLive: reported, not an error
        assert not first.ttl_enabled and "no TTL API" in first.note
    assert "created" in str(first) and "already exists" in str(second)


def test_existing_table_with_another_key_schema_is_refused(dynamodb_server: LocalDynamoDB) -> None:
    name = new_name()
    client_for(dynamodb_server).create_table(  # type: ignore[attr-defined]
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(ConfigurationError, match="string partition key named 'k'"):
        create_table(name, region_name=REGION, endpoint_url=dynamodb_server.endpoint_url)


def test_cloudformation_resource() -> None:
    resource = json.loads(cloudformation_resource("my-cache", fmt="json"))
    table = resource["Resources"]["ServerlessCacheTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "e", "Enabled": True}
    assert yaml.safe_load(cloudformation_resource("my-cache")) == resource


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="serverless-cache create-table")
    dynamodb_table.add_arguments(parser)
    return parser.parse_args(argv)


def test_console_command(
    dynamodb_server: LocalDynamoDB, capsys: pytest.CaptureFixture[str]
) -> None:
    name = new_name()
    argv = (
        "--table-name",
        name,
        "--region",
        REGION,
        "--endpoint-url",
        dynamodb_server.endpoint_url,
    )
    assert cli.main(["create-table", *argv]) == 0
    assert cli.main(["create-table", *argv]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"{name!r} created" in out[0] and f"{name!r} already exists" in out[1]
    assert dynamodb_table.run(parse("--table-name", name, "--print-template", "json")) == 0
    assert json.loads(capsys.readouterr().out)["Resources"]


def test_console_command_reports_failures(
    aws_test_environment: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert cli.main(["create-table", "--endpoint-url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().err == (
        "serverless-cache create-table: error: EndpointConnectionError: Could not connect to "
        'the endpoint URL: "http://127.0.0.1:9/"\n'
    )
