"""Configuration errors as a user meets them: system check errors naming the alias and the
option in Django, the config key in Flask, and ``create_dynamodb_cache_table ALIAS``.

The manage.py runs are subprocesses with the settings in ``tests.django.env_settings``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from flask import Flask
from flask_caching import Cache

from serverless_cache.errors import ConfigurationError
from tests.fixtures.dynamodb_servers import REGION, LocalDynamoDB

ROOT = Path(__file__).resolve().parents[2]
MEMORY = "serverless_cache.django.ExecutionContextCache"


def manage(caches: dict[str, Any], *argv: str) -> Any:
    """``python -m django ARGV`` with CACHES from ``caches``."""
    environ = {**os.environ, "TEST_CACHES": json.dumps(caches)}
    return subprocess.run(
        [sys.executable, "-m", "django", *argv, "--settings", "tests.django.env_settings"],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        cwd=ROOT,
        check=False,
    )


# -- system checks -----------------------------------------------------------------------------
BAD = {
    "SOCKET_TIMOUT": ("serverless_cache.django.RedisCache", "did you mean 'SOCKET_TIMEOUT'?"),
    "LEASE_TIMEOUT": ("serverless_cache.django.LayeredCache", "did you mean 'LEASE_TTL'?"),
    "ENDPOINT": ("serverless_cache.django.DynamoDBCache", "did you mean 'ENDPOINT_URL'?"),
    "MAX_BYTES": (MEMORY, "write 32 * 2**20 for 32 MiB"),
}
LAYERED_TIERS = [{"TIER": "memory"}, {"TIER": "memory", "LOCATION": "l2"}]


@pytest.mark.parametrize("option", sorted(BAD))
def test_a_bad_option_is_a_check_error_naming_alias_and_option(option: str) -> None:
    backend, hint = BAD[option]
    options: dict[str, Any] = {option: "32MB" if option == "MAX_BYTES" else 1}
    if backend.endswith("LayeredCache"):
        options["TIERS"] = LAYERED_TIERS
    location = "redis://127.0.0.1:1/0" if backend.endswith("RedisCache") else "t"
    caches = {
        "default": {"BACKEND": MEMORY},
        "sessions": {"BACKEND": backend, "LOCATION": location, "OPTIONS": options},
    }
    with override_settings(CACHES=caches), pytest.raises(SystemCheckError) as raised:
        call_command("check")
    message = str(raised.value)
    assert "CACHES['sessions']: (serverless_cache.E001) OPTIONS: " in message
    assert option in message and hint in message
    assert "CACHES['default']" not in message


def test_a_tier_of_a_layered_cache_is_named_by_its_place() -> None:
    tiers = [{"TIER": "memory", "OPTIONS": {"MAX_BYTS": 1}}, LAYERED_TIERS[1]]
    caches = {
        "default": {"BACKEND": "serverless_cache.django.LayeredCache", "OPTIONS": {"TIERS": tiers}}
    }
    with override_settings(CACHES=caches), pytest.raises(SystemCheckError) as raised:
        call_command("check")
    assert (
        "OPTIONS['TIERS'][0]['OPTIONS']: unknown option 'MAX_BYTS'; did you mean 'MAX_BYTES'?"
        in str(raised.value)
    )


def test_manage_py_check_reports_without_a_traceback() -> None:
    caches = {"default": {"BACKEND": MEMORY, "OPTIONS": {"MAX_BYTES": "32MB"}}}
    result = manage(caches, "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "CACHES['default']: (serverless_cache.E001) OPTIONS: option MAX_BYTES" in result.stderr
    assert "identified 1 issue" in result.stderr


def test_good_caches_pass_the_check() -> None:
    with override_settings(
        CACHES={"default": {"BACKEND": MEMORY, "OPTIONS": {"MAX_BYTES": 2**20}}}
    ):
        call_command("check")


def test_flask_names_the_config_key() -> None:
    config = {
        "CACHE_TYPE": "serverless_cache.flask.ExecutionContextCache",
        "CACHE_OPTIONS": {"max_byts": 1},
    }
    with pytest.raises(
        ConfigurationError,
        match=r"^CACHE_OPTIONS: unknown option 'max_byts'; did you mean 'max_bytes'\?",
    ):
        Cache(Flask(__name__), config=config)


# -- create_dynamodb_cache_table ---------------------------------------------------------------
def dynamodb_cache(table: str, endpoint: str) -> dict[str, Any]:
    options = {"REGION_NAME": REGION, "ENDPOINT_URL": endpoint}
    return {
        "BACKEND": "serverless_cache.django.DynamoDBCache",
        "LOCATION": table,
        "OPTIONS": options,
    }


@pytest.fixture
def two_tables(moto_dynamodb: LocalDynamoDB) -> tuple[dict[str, Any], str, str, Any]:
    first, second = (f"cmd-{uuid.uuid4().hex[:8]}" for _ in range(2))
    caches = {
        "default": {"BACKEND": MEMORY},
        "first": dynamodb_cache(first, moto_dynamodb.endpoint_url),
        "second": dynamodb_cache(second, moto_dynamodb.endpoint_url),
    }
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_dynamodb.endpoint_url)
    return caches, first, second, client


def test_the_command_creates_only_the_aliases_given(two_tables: Any) -> None:
    caches, first, second, client = two_tables
    result = manage(caches, "create_dynamodb_cache_table", "first")
    assert result.returncode == 0, result.stderr
    assert f"{first!r} created" in result.stdout
    names = client.list_tables()["TableNames"]
    assert first in names and second not in names


def test_the_command_without_aliases_creates_every_table(two_tables: Any) -> None:
    caches, first, second, client = two_tables
    result = manage(caches, "create_dynamodb_cache_table")
    assert result.returncode == 0, result.stderr
    assert {first, second} <= set(client.list_tables()["TableNames"])


@pytest.mark.parametrize(
    ("alias", "message"),
    [
        ("nosuch", "CommandError: no cache alias 'nosuch' in CACHES; the aliases are 'default'"),
        ("default", f"CommandError: cache 'default' ({MEMORY}) has no serverless_cache DynamoDB"),
    ],
)
def test_the_command_refuses_an_unknown_or_non_dynamodb_alias(
    two_tables: Any, alias: str, message: str
) -> None:
    caches, first, second, client = two_tables
    result = manage(caches, "create_dynamodb_cache_table", alias)
    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1
    assert not {first, second} & set(client.list_tables()["TableNames"])


def test_the_template_uses_the_same_logical_ids_as_create_table(two_tables: Any) -> None:
    caches, first, second, _ = two_tables
    result = manage(caches, "create_dynamodb_cache_table", "--print-template", "json")
    assert result.returncode == 0, result.stderr
    resources = json.loads(result.stdout)["Resources"]
    assert {k: r["Properties"]["TableName"] for k, r in resources.items()} == {
        "ServerlessCacheTable": first,
        "ServerlessCacheTable2": second,
    }
