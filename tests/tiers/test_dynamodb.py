"""The DynamoDB tier against real HTTP servers: every test runs on moto and on dynalite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from serverless_cache import clock, registry
from serverless_cache.errors import CacheUnavailableError, ConfigurationError, ValueTooLargeError
from serverless_cache.tiers.dynamodb import CHUNK_MARK, DynamoDBTier, TableMissingError
from tests.fixtures.dynamodb_servers import REGION, LocalDynamoDB, RequestLog, make_table
from tests.tiers.build import dynamodb

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Factory = Callable[..., DynamoDBTier]
#: An item as the DynamoDB client writes it.
Item = dict[str, "AttributeValueTypeDef"]


@pytest.fixture
def make_tier(dynamodb_options: dict[str, Any]) -> Factory:
    def make(key_prefix: str = "app:", **options: Any) -> DynamoDBTier:
        return dynamodb({**dynamodb_options, **options}, key_prefix=key_prefix)

    return make


@pytest.fixture
def tier(make_tier: Factory) -> DynamoDBTier:
    return make_tier()


@pytest.fixture
def log(tier: DynamoDBTier) -> RequestLog:
    return RequestLog(tier.client)


def raw_item(tier: DynamoDBTier, key: str) -> dict[str, Any] | None:
    """The item as stored, read behind the tier's back."""
    response = tier.client.get_item(
        TableName=tier.table, Key={"k": {"S": key}}, ConsistentRead=True
    )
    return response.get("Item")


def stored_keys(tier: DynamoDBTier) -> set[str]:
    keys: set[str] = set()
    for page in tier.client.get_paginator("scan").paginate(TableName=tier.table):
        keys.update(item["k"]["S"] for item in page["Items"])
    return keys


# -- values and single-key calls -----------------------------------------------------------------
VALUES = [
    "text",
    b"\x00bytes",
    {"a": [1, 2.5, None]},
    None,
    0,
    -42,
    10**40,
    3.25,
    True,
]


def test_values_round_trip(tier: DynamoDBTier, log: RequestLog) -> None:
    for number, value in enumerate(VALUES):
        assert tier.set(f"app:v{number}", value, None)
        assert log.take() == ["PutItem"]
        found = tier.get(f"app:v{number}", "default")
        assert found == value and type(found) is type(value)
        assert log.take() == ["GetItem"]
    assert tier.get("app:absent", "default") == "default"
    assert tier.stats.hits == len(VALUES) and tier.stats.misses == 1


def test_integers_are_numbers_and_other_values_binary(tier: DynamoDBTier) -> None:
    tier.set("app:int", 7, None)
    tier.set("app:str", "7", None)
    tier.set("app:huge", 10**40, None)
    assert raw_item(tier, "app:int") == {"k": {"S": "app:int"}, "n": {"N": "7"}}
    assert "v" in raw_item(tier, "app:str")  # type: ignore[operator]
    assert "v" in raw_item(tier, "app:huge")  # type: ignore[operator]


def test_expiry_is_integer_epoch_seconds(tier: DynamoDBTier) -> None:
    before = time.time()
    tier.set("app:k", "v", 100.2)
    expires = raw_item(tier, "app:k")["e"]["N"]  # type: ignore[index]
    assert expires.isdigit() and before + 100.2 <= int(expires) <= time.time() + 101.2
    assert 99 < tier.ttl("app:k") <= 101.2  # type: ignore[operator]
    tier.set("app:forever", "v", None)
    assert "e" not in raw_item(tier, "app:forever")  # type: ignore[operator]
    assert tier.ttl("app:forever") is None
    assert tier.ttl("app:absent") == 0.0


def test_set_with_ttl_zero_deletes(tier: DynamoDBTier) -> None:
    tier.set("app:k", "v", None)
    assert tier.set("app:k", "new", 0)
    assert tier.get("app:k") is None and raw_item(tier, "app:k") is None
    tier.set_many({"app:a": 1, "app:b": 2}, None)
    assert tier.set_many({"app:a": 1, "app:b": 2}, -1) == []
    assert tier.get_many(["app:a", "app:b"]) == {}


def test_has_and_delete(tier: DynamoDBTier, log: RequestLog) -> None:
    tier.set("app:k", None, None)
    log.take()
    assert tier.has("app:k")
    assert not tier.has("app:absent")
    assert tier.delete("app:k")
    assert not tier.delete("app:k")
    assert log.take() == ["GetItem", "GetItem", "DeleteItem", "DeleteItem"]


def test_add_is_one_conditional_put(tier: DynamoDBTier, log: RequestLog) -> None:
    assert tier.add("app:k", "first", None)
    assert not tier.add("app:k", "second", None)
    assert tier.get("app:k") == "first"
    assert log.take() == ["PutItem", "PutItem", "GetItem"]
    assert not tier.add("app:k", "third", 0)
    assert tier.add("app:other", "x", 0) and tier.get("app:other") is None


def test_touch(tier: DynamoDBTier, log: RequestLog) -> None:
    tier.set("app:k", "v", 10)
    log.take()
    assert tier.touch("app:k", 1000)
    assert log.take() == ["UpdateItem"]
    assert 998 < tier.ttl("app:k") <= 1001  # type: ignore[operator]
    assert tier.touch("app:k", None)
    assert tier.ttl("app:k") is None and tier.get("app:k") == "v"
    assert not tier.touch("app:absent", 10)
    assert tier.touch("app:k", 0)
    assert tier.get("app:k") is None
    assert not tier.touch("app:k", 0)


def test_incr_is_one_atomic_update_keeping_expiry(tier: DynamoDBTier, log: RequestLog) -> None:
    tier.set("app:n", 10, 500)
    before = raw_item(tier, "app:n")
    assert before is not None
    log.take()
    assert tier.incr("app:n", 5) == 15
    assert tier.incr("app:n", -20) == -5
    assert log.take() == ["UpdateItem", "UpdateItem"]
    assert raw_item(tier, "app:n") == {**before, "n": {"N": "-5"}}
    assert tier.get("app:n") == -5


def test_incr_missing_and_non_integer(tier: DynamoDBTier) -> None:
    with pytest.raises(KeyError):
        tier.incr("app:absent")
    assert raw_item(tier, "app:absent") is None
    tier.set("app:text", "abc", None)
    with pytest.raises(TypeError):
        tier.incr("app:text")
    with pytest.raises(TypeError):
        tier.incr("app:text", create=True)
    assert tier.incr("app:counter", 3, create=True) == 3
    assert tier.incr("app:counter", 3, create=True) == 6
    assert tier.ttl("app:counter") is None


def test_incr_under_threads_loses_nothing(dynalite_dynamodb: LocalDynamoDB) -> None:
    # On dynalite, which applies updates one at a time as DynamoDB does: moto's threaded server
    # can lose a concurrent ADD (seen: 399 of 400 with every call answered).
    options = {"REGION_NAME": REGION, "ENDPOINT_URL": dynalite_dynamodb.endpoint_url}
    tier = dynamodb({**options, "READ_TIMEOUT": 10}, location=make_table(dynalite_dynamodb))
    tier.set("app:hits", 0, None)

    def work() -> None:
        for _ in range(50):
            tier.incr("app:hits")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tier.get("app:hits") == 400


def test_consistent_read_option(make_tier: Factory) -> None:
    bodies: list[bytes] = []
    for consistent in (False, True):
        tier = make_tier(consistent_read=consistent)
        tier.client.meta.events.register(
            "before-send.dynamodb", lambda request, **_: bodies.append(request.body)
        )
        tier.get("app:k")
        tier.get_many(["app:a", "app:b"])
    assert all(b'"ConsistentRead": false' in body for body in bodies[:2])
    assert all(b'"ConsistentRead": true' in body for body in bodies[2:])


def test_get_entries_gives_expiry(tier: DynamoDBTier) -> None:
    tier.set_many({"app:a": 1}, 60)
    tier.set_many({"app:b": "two"}, None)
    entries = tier.get_entries(["app:a", "app:b", "app:c"])
    assert entries["app:b"] == ("two", None)
    value, expires = entries["app:a"]
    assert value == 1 and time.time() + 58 < expires <= time.time() + 61  # type: ignore[operator]
    assert "app:c" not in entries


# -- expiry that DynamoDB has not enforced yet --------------------------------------------------
def test_item_past_its_ttl_but_still_stored_is_absent(tier: DynamoDBTier) -> None:
    expired: Item = {"x": {"N": f"{time.time() - 10:.3f}"}, "e": {"N": str(int(time.time()) - 10)}}
    value: AttributeValueTypeDef = {"B": tier.codec.dumps("stale")}
    stored: list[tuple[str, Item]] = [("app:v", {"v": value}), ("app:n", {"n": {"N": "5"}})]
    for key, attributes in stored:
        item: Item = {"k": {"S": key}, **expired, **attributes}
        tier.client.put_item(TableName=tier.table, Item=item)
        assert raw_item(tier, key) is not None  # still there: DynamoDB deletes late
    assert tier.get("app:v", "miss") == "miss"
    assert tier.get_many(["app:v", "app:n"]) == {}
    assert tier.get_entries(["app:v", "app:n"]) == {}
    assert not tier.has("app:v")
    assert tier.ttl("app:v") == 0.0
    assert not tier.touch("app:v", 100)
    with pytest.raises(KeyError):
        tier.incr("app:n")
    assert tier.incr("app:n", 2, create=True) == 2
    assert tier.ttl("app:n") is None
    assert not tier.delete("app:v")
    tier.client.put_item(TableName=tier.table, Item={"k": {"S": "app:v"}, **expired, "v": value})
    assert tier.add("app:v", "fresh", None)
    assert tier.get("app:v") == "fresh"


# -- batches ------------------------------------------------------------------------------------
def test_get_many_150_keys_is_two_requests(tier: DynamoDBTier, log: RequestLog) -> None:
    items = {f"app:{i}": i if i % 2 else f"value {i}" for i in range(150)}
    assert tier.set_many(items, 100) == []
    assert log.take() == ["BatchWriteItem"] * 6
    assert tier.get_many(list(items)) == items
    assert log.take() == ["BatchGetItem"] * 2


def test_set_many_60_keys_is_three_requests(tier: DynamoDBTier, log: RequestLog) -> None:
    items = {f"app:{i}": {"i": i} for i in range(60)}
    assert tier.set_many(items, None) == []
    assert log.take() == ["BatchWriteItem"] * 3
    assert tier.get_many(list(items)) == items


def test_get_many_with_duplicates_and_misses(tier: DynamoDBTier, log: RequestLog) -> None:
    tier.set_many({"app:a": "A", "app:b": None}, None)
    log.take()
    found = tier.get_many(["app:a", "app:a", "app:b", "app:absent", "app:b"])
    assert found == {"app:a": "A", "app:b": None}
    assert log.take() == ["BatchGetItem"]
    assert tier.get_many([]) == {}
    assert log.take() == []


def test_delete_many_with_duplicates(tier: DynamoDBTier, log: RequestLog) -> None:
    tier.set_many({"app:a": 1, "app:b": 2, "app:c": 3}, None)
    log.take()
    assert tier.delete_many(["app:a", "app:a", "app:b", "app:absent", "app:b"])
    assert log.take() == ["BatchWriteItem"]
    assert tier.get_many(["app:a", "app:b", "app:c"]) == {"app:c": 3}


def test_bad_value_raises_before_anything_is_written(tier: DynamoDBTier) -> None:
    with pytest.raises(Exception, match="pickle"):
        tier.set_many({"app:a": 1, "app:b": lambda: None}, None)
    assert tier.get("app:a") is None


def test_key_that_dynamodb_cannot_store_is_a_clear_error(tier: DynamoDBTier) -> None:
    with pytest.raises(ValueError, match="keys must be 1 to"):
        tier.set("app:" + "x" * 3000, 1, None)
    with pytest.raises(ValueError, match="NUL"):
        tier.set("app:\x00", 1, None)
    assert tier.get("", "miss") == "miss"  # a read of such a key is a logged miss
    assert tier.get_many(["", "app:absent"]) == {}


# -- large values -------------------------------------------------------------------------------
def test_one_megabyte_random_value_round_trips_in_chunks(
    tier: DynamoDBTier, log: RequestLog
) -> None:
    value = os.urandom(1_000_000)
    assert tier.set("app:big", value, 300)
    assert log.take() == ["BatchWriteItem"]
    manifest = raw_item(tier, "app:big")
    assert manifest is not None and manifest["c"] == {"N": "3"} and "v" not in manifest
    log.take()
    assert tier.get("app:big") == value
    assert log.take() == ["GetItem", "BatchGetItem"]
    assert tier.get_many(["app:big", "app:small"]) == {"app:big": value}
    tier.set("app:small", 1, None)
    assert tier.get_many(["app:big", "app:small"]) == {"app:big": value, "app:small": 1}


def test_large_compressible_value_is_one_item(tier: DynamoDBTier, log: RequestLog) -> None:
    value = "abc" * 400_000
    tier.set("app:text", value, None)
    assert log.take() == ["PutItem"]
    assert len(raw_item(tier, "app:text")["v"]["B"]) < 100_000  # type: ignore[index]
    assert tier.get("app:text") == value


def test_value_over_the_maximum_is_a_typed_error(make_tier: Factory) -> None:
    tier = make_tier(max_value_bytes=600_000)
    with pytest.raises(ValueTooLargeError, match="MAX_VALUE_BYTES"):
        tier.set("app:big", os.urandom(700_000), None)
    with pytest.raises(ValueTooLargeError):
        tier.add("app:big", os.urandom(700_000), None)
    assert raw_item(tier, "app:big") is None


def test_missing_chunk_reads_as_a_miss(tier: DynamoDBTier) -> None:
    tier.set("app:big", os.urandom(1_000_000), None)
    tier.client.delete_item(TableName=tier.table, Key={"k": {"S": f"app:big{CHUNK_MARK}1"}})
    assert tier.get("app:big", "miss") == "miss"
    assert tier.get_many(["app:big"]) == {}


def test_chunk_of_another_write_reads_as_a_miss(tier: DynamoDBTier) -> None:
    """A torn overwrite (new chunks, old manifest) is a miss, never a mix of two values."""
    tier.set("app:big", os.urandom(1_000_000), None)
    old_manifest = raw_item(tier, "app:big")
    assert old_manifest is not None
    tier.set("app:big", os.urandom(1_000_000), None)
    tier.client.put_item(TableName=tier.table, Item=old_manifest)
    assert tier.get("app:big", "miss") == "miss"


def test_delete_and_overwrite_remove_chunks(tier: DynamoDBTier) -> None:
    tier.set("app:big", os.urandom(1_000_000), None)
    assert len(stored_keys(tier)) == 4
    assert tier.delete("app:big")
    assert stored_keys(tier) == set()
    tier.set("app:big", os.urandom(1_000_000), None)
    tier.set("app:big", "small now", None)
    assert stored_keys(tier) == {"app:big"}
    assert tier.get("app:big") == "small now"


def test_add_and_touch_chunked_values(tier: DynamoDBTier) -> None:
    value = os.urandom(800_000)
    assert tier.add("app:big", value, 100)
    assert not tier.add("app:big", os.urandom(800_000), 100)
    assert tier.get("app:big") == value
    assert tier.touch("app:big", 5000)
    for key in stored_keys(tier):
        assert int(raw_item(tier, key)["e"]["N"]) > time.time() + 4000  # type: ignore[index]
    assert tier.get("app:big") == value


def test_unprocessed_keys_are_retried(
    tier: DynamoDBTier, log: RequestLog, dynamodb_server: LocalDynamoDB
) -> None:
    """dynalite answers a BatchGetItem with at most about 1.4 MB and returns the other keys as
    UnprocessedKeys (DynamoDB's limit is 16 MB); the tier asks again until it has every chunk."""
    value = os.urandom(2_000_000)
    tier.set("app:big", value, None)
    log.take()
    assert tier.get("app:big") == value
    batch_reads = log.take().count("BatchGetItem")
    assert batch_reads == (2 if dynamodb_server.kind == "dynalite" else 1)


# -- clear() -------------------------------------------------------------------------------------
@pytest.mark.parametrize("segments", [1, 4])
def test_clear_removes_only_its_prefix_over_many_pages(make_tier: Factory, segments: int) -> None:
    mine = make_tier("a:", scan_page_size=7, clear_segments=segments)
    other = make_tier("b:")
    mine.set_many({f"a:{i}": i for i in range(40)}, None)
    mine.set("a:big", os.urandom(500_000), None)
    other.set_many({f"b:{i}": i for i in range(40)}, None)
    other.set("b:big", b"x", None)
    log = RequestLog(mine.client)
    assert mine.clear()
    scans = log.take().count("Scan")
    assert scans >= 12  # 83 items, 7 per page
    assert stored_keys(mine) == {f"b:{i}" for i in range(40)} | {"b:big"}
    assert other.get_many([f"b:{i}" for i in range(40)]) == {f"b:{i}": i for i in range(40)}


def test_clear_with_empty_prefix_removes_everything(make_tier: Factory) -> None:
    tier = make_tier("")
    tier.set_many({"x": 1, "y": 2}, None)
    assert tier.clear()
    assert stored_keys(tier) == set()


# -- clients and failures -----------------------------------------------------------------------
def test_one_client_per_configuration(make_tier: Factory) -> None:
    first, second = make_tier("a:"), make_tier("b:")
    assert first.client is second.client
    assert make_tier(read_timeout=2.5).client is not first.client
    assert len(registry.entries("dynamodb")) == 2


def test_client_configuration(make_tier: Factory) -> None:
    config = make_tier(connect_timeout=0.7, read_timeout=0.8).client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (0.7, 0.8)
    # botocore never resends: resilience retries idempotent calls only
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert config.tcp_keepalive is True


def test_unknown_or_invalid_options_name_the_option() -> None:
    with pytest.raises(ConfigurationError, match="TABEL_NAME"):
        dynamodb({"TABEL_NAME": "x"})
    with pytest.raises(ConfigurationError, match="MAX_VALUE_BYTES"):
        dynamodb({"MAX_VALUE_BYTES": 100_000_000})
    with pytest.raises(ConfigurationError, match="READ_TIMEOUT"):
        dynamodb({"READ_TIMEOUT": -1})


def test_missing_table(dynamodb_server: LocalDynamoDB, caplog: pytest.LogCaptureFixture) -> None:
    options = {"TABLE_NAME": "no-such-table", "ENDPOINT_URL": dynamodb_server.endpoint_url}
    tier = dynamodb(options)
    assert tier.get("k", "miss") == "miss"
    assert tier.stats.errors == 1 and tier.stats.misses == 1
    assert "serverless-cache create-table --table-name no-such-table" in caplog.text
    assert tier.set_many({"k": 1}, None) == ["k"]
    strict = dynamodb({**options, "FAIL_OPEN": False})
    with pytest.raises(TableMissingError, match="create_dynamodb_cache_table"):
        strict.get("k")


def test_boto3_is_imported_on_first_use_only(dynamodb_options: dict[str, Any]) -> None:
    script = (
        "import sys\n"
        "import serverless_cache, serverless_cache.django, serverless_cache.flask\n"
        "from serverless_cache.tiers.config import TierConfig\n"
        "from serverless_cache.tiers.kinds import build_tier\n"
        f"tier = build_tier('dynamodb', TierConfig(options={dynamodb_options!r}))\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules\n"
        "tier.get('k')\n"
        "assert 'boto3' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_server_down_fails_open_with_a_breaker(
    own_dynamodb_server: LocalDynamoDB, caplog: pytest.LogCaptureFixture
) -> None:
    server = own_dynamodb_server
    table = make_table(server)
    options = {
        "TABLE_NAME": table,
        "REGION_NAME": REGION,
        "ENDPOINT_URL": server.endpoint_url,
        "CONNECT_TIMEOUT": 0.5,
        "READ_TIMEOUT": 0.5,
        "BREAKER_THRESHOLD": 2,
        "BREAKER_COOLDOWN": 1.0,
    }
    tier = dynamodb(options)
    assert tier.set("k", "v", None) and tier.get("k") == "v"
    log = RequestLog(tier.client)
    server.stop()

    assert tier.get("k", "miss") == "miss"
    assert log.take() == ["GetItem", "GetItem"]  # a refused connection is retried once
    assert tier.set("k", "w", None) is False  # the breaker opens here
    log.take()
    assert tier.set_many({"a": 1}, None) == ["a"]
    assert tier.delete("k") is False and tier.touch("k", 1) is False
    with pytest.raises(CacheUnavailableError):
        tier.incr("k")
    for _ in range(20):
        assert tier.get_many(["k"]) == {}
    assert log.take() == []  # while the breaker is open, nothing is sent
    assert tier.stats.errors >= 25
    assert caplog.text.count("failed") == 1  # one log line per burst
    with pytest.raises(CacheUnavailableError):
        dynamodb({**options, "FAIL_OPEN": False}).get("k")

    server.start()
    make_table_again = table if server.kind == "moto" else make_table(server)
    tier = dynamodb({**options, "TABLE_NAME": make_table_again})
    clock.advance(1.1)  # the breaker's cooldown
    assert tier.set("k", "back", None)
    assert tier.get("k") == "back"


def test_silent_server_costs_the_read_timeout(aws_test_environment: None) -> None:
    """A server that accepts connections but never answers: the read timeout bounds the wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        options = {
            "TABLE_NAME": "t-silent",
            "ENDPOINT_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
            "READ_TIMEOUT": 0.3,
        }
        tier = dynamodb(options)
        log = RequestLog(tier.client)
        assert tier.get("k", "miss") == "miss"
    assert log.take() == ["GetItem"]  # a timeout is never retried: it costs one READ_TIMEOUT
    assert tier.stats.errors == 1


def test_warm_creates_the_client_and_sends_one_read(make_tier: Factory) -> None:
    tier = make_tier()
    assert "dynamodb" not in registry.kinds()
    tier.warm()
    log = RequestLog(tier.client)
    tier.warm()
    assert log.take() == ["GetItem"]
    assert tier.stats.errors == 0
    assert stored_keys(tier) == set()


def test_warm_on_a_dead_server_does_not_raise(make_tier: Factory) -> None:
    tier = make_tier(endpoint_url="http://127.0.0.1:9", connect_timeout=0.2)
    tier.warm()
    assert tier.stats.errors == 1
