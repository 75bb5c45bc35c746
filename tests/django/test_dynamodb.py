"""Django's cache API on the DynamoDB tier (moto and dynalite)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import override_settings

from serverless_cache.django import DynamoDBCache
from serverless_cache.tiers.dynamodb import DynamoDBTier
from tests.fixtures.dynamodb_servers import REGION, LocalDynamoDB


def caches_setting(table: str, endpoint_url: str, **extra: Any) -> dict[str, Any]:
    options = {"REGION_NAME": REGION, "ENDPOINT_URL": endpoint_url}
    base = {"BACKEND": "serverless_cache.django.DynamoDBCache", "LOCATION": table}
    return {
        "default": {**base, "OPTIONS": options, "KEY_PREFIX": "site", **extra},
        "other": {**base, "OPTIONS": options, "KEY_PREFIX": "other"},
    }


@pytest.fixture
def cache(dynamodb_server: LocalDynamoDB, dynamodb_table: str) -> Any:
    with override_settings(CACHES=caches_setting(dynamodb_table, dynamodb_server.endpoint_url)):
        yield caches["default"]


def test_backend_is_the_dynamodb_tier(cache: Any, dynamodb_table: str) -> None:
    assert isinstance(cache, DynamoDBCache) and isinstance(cache.tier, DynamoDBTier)
    assert cache.tier.table == dynamodb_table and cache.tier.key_prefix == "site:"


def test_django_api(cache: Any) -> None:
    cache.set("a", {"x": 1})
    assert cache.get("a") == {"x": 1}
    assert cache.get("absent", "default") == "default"
    assert cache.add("a", "no") is False
    assert cache.add("b", 1) is True
    assert cache.has_key("b")
    assert cache.incr("b", 10) == 11
    assert cache.decr("b", 2) == 9
    with pytest.raises(ValueError, match="not found"):
        cache.incr("absent")
    assert cache.get_many(["a", "b", "absent"]) == {"a": {"x": 1}, "b": 9}
    assert cache.set_many({"c": 3, "d": 4}, timeout=60) == []
    assert cache.touch("c", 120) is True
    assert cache.touch("absent") is False
    cache.delete_many(["c", "d", "c"])
    assert cache.get_many(["c", "d"]) == {}
    assert cache.delete("a") is True and cache.delete("a") is False
    cache.set("gone", 1, timeout=0)
    assert cache.get("gone") is None
    cache.set("v", "old", version=1)
    cache.set("v", "new", version=2)
    assert cache.get("v", version=1) == "old" and cache.get("v", version=2) == "new"


def test_clear_keeps_other_prefix(cache: Any) -> None:
    other = caches["other"]
    cache.set_many({"a": 1, "b": 2})
    other.set_many({"a": 10, "b": 20})
    cache.clear()
    assert cache.get_many(["a", "b"]) == {}
    assert other.get_many(["a", "b"]) == {"a": 10, "b": 20}


def test_async_api(cache: Any) -> None:
    async def run() -> Any:
        await cache.aset("k", "v")
        await cache.aset_many({"n": 1})
        return await cache.aget("k"), await cache.aincr("n"), await cache.aget_many(["k", "n"])

    assert asyncio.run(run()) == ("v", 2, {"k": "v", "n": 2})


def test_management_command_twice(
    dynamodb_server: LocalDynamoDB, capsys: pytest.CaptureFixture[str]
) -> None:
    with override_settings(
        CACHES=caches_setting("django-made-table", dynamodb_server.endpoint_url)
    ):
        call_command("create_dynamodb_cache_table")
        call_command("create_dynamodb_cache_table", "default")
        call_command("create_dynamodb_cache_table", "--print-template")
        caches["default"].set("k", "v")
        assert caches["default"].get("k") == "v"
    out = capsys.readouterr().out
    assert "'django-made-table' created" in out and "'django-made-table' already exists" in out
    assert "TableName: django-made-table" in out


def test_management_command_finds_layered_tiers_and_prints_one_template(
    dynamodb_server: LocalDynamoDB, capsys: pytest.CaptureFixture[str]
) -> None:
    options = {"REGION_NAME": REGION, "ENDPOINT_URL": dynamodb_server.endpoint_url}
    layered = {
        "BACKEND": "serverless_cache.django.LayeredCache",
        "OPTIONS": {
            "TIERS": [
                {"TIER": "memory"},
                {"TIER": "dynamodb", "LOCATION": "layered-made-table", "OPTIONS": options},
            ]
        },
    }
    plain = {"BACKEND": "serverless_cache.django.DynamoDBCache", "LOCATION": "plain-table"}
    with override_settings(CACHES={"default": layered, "plain": {**plain, "OPTIONS": options}}):
        call_command("create_dynamodb_cache_table", "default")
        call_command("create_dynamodb_cache_table", "--print-template", "json")
    out = capsys.readouterr().out
    assert "'layered-made-table' created" in out
    template = json.loads(out[out.index("{") :])
    names = {r["Properties"]["TableName"] for r in template["Resources"].values()}
    assert names == {"layered-made-table", "plain-table"}
