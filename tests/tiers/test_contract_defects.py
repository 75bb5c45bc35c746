"""Defects of the first wave that the tier contract v2 fixed, each pinned on a real server."""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest
import redis

from serverless_cache import clock
from serverless_cache.errors import ConfigurationError
from serverless_cache.tiers.dynamodb import DynamoDBTier
from serverless_cache.tiers.layered import LayeredTier
from tests.fixtures.dynamodb_servers import REGION, LocalDynamoDB, make_table
from tests.tiers.build import dynamodb, layered_tier, redis_tier


# -- configuration mistakes are refused when parsed, not on every request ---------------------
@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("redis://127.0.0.1:6379/0?decode_responses=True", "decode_responses"),
        ("redis://cache.example:notaport/0", "port that is not a number"),
        ("redis://cache.example:6379/db", "must be a number"),
    ],
)
def test_a_redis_location_that_would_fail_every_request_is_refused(
    location: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        redis_tier(location)


@pytest.mark.parametrize(
    "location",
    [
        "redis://:pa#ss-word@cache.example:6379/0",
        "redis://user:pa?ss-word@cache.example:6379/0",
        "redis://user:pa/ss-word@cache.example:6379/0",
    ],
)
def test_an_unescaped_password_never_reaches_the_error(location: str) -> None:
    with pytest.raises(ConfigurationError, match="percent-encode") as raised:
        redis_tier(location)
    assert "pa" not in str(raised.value).replace("password", "").replace("path", "")
    assert "ss-word" not in str(raised.value)


def test_a_location_without_a_scheme_is_shown_as_written_with_the_fix() -> None:
    with pytest.raises(ConfigurationError, match=r"'127.0.0.1:6401' \(did you mean 'redis://"):
        redis_tier("127.0.0.1:6401")  # was: shown as '://127.0.0.1:6401'


def test_a_dynamodb_endpoint_typo_or_no_region_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    with pytest.raises(ConfigurationError, match="ENDPOINT_URL"):
        dynamodb({"ENDPOINT_URL": "http//localhost:8000", "REGION_NAME": "eu-west-1"})
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ConfigurationError, match="needs a region"):
        dynamodb({})
    (tmp_path / "config").write_text("[default]\nregion = eu-west-3\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    assert dynamodb({}).settings.region() == "eu-west-3"


def test_max_entries_on_a_shared_store_is_refused_not_ignored() -> None:
    with pytest.raises(ConfigurationError, match="MAX_ENTRIES bounds in-process caches only"):
        redis_tier("redis://127.0.0.1:1/0", {"MAX_ENTRIES": 100})
    with pytest.raises(ConfigurationError, match="CULL_FREQUENCY"):
        dynamodb({"CULL_FREQUENCY": 3, "REGION_NAME": "eu-west-1"})


# -- Redis ------------------------------------------------------------------------------------
def test_redis_timeout_beyond_any_store_means_forever(redis_url: str) -> None:
    tier = redis_tier(redis_url)
    assert tier.set("forever", "v", 10**20) is True  # was: dropped as if Redis were down
    assert tier.ttl("forever") is None
    assert tier.stats.errors == 0


def test_redis_incr_overflow_and_float_delta_say_what_they_are(redis_url: str) -> None:
    tier = redis_tier(redis_url)
    tier.set("n", 2**63 - 2, None)
    with pytest.raises(OverflowError, match="64-bit"):
        tier.incr("n", 10)
    with pytest.raises(TypeError, match="delta must be an integer"):
        tier.incr("n", 1.5)  # type: ignore[arg-type]
    assert tier.get("n") == 2**63 - 2
    assert tier.incr("n") == 2**63 - 1


def test_a_wrongtype_reply_does_not_open_the_breaker(redis_url: str) -> None:
    tier = redis_tier(redis_url, {"BREAKER_THRESHOLD": 1})
    redis.Redis.from_url(redis_url).hset("hash", "f", "v")
    for _ in range(5):
        assert tier.get("hash", "miss") == "miss"
    assert tier.set("k", "v", None) and tier.get("k") == "v"


# -- DynamoDB ---------------------------------------------------------------------------------
@pytest.fixture
def table(dynamodb_options: dict[str, Any]) -> DynamoDBTier:
    return dynamodb(dynamodb_options, key_prefix="app:")


def test_dynamodb_float_delta_is_refused_and_stores_nothing(table: DynamoDBTier) -> None:
    table.set("app:n", 5, None)
    with pytest.raises(TypeError):
        table.incr("app:n", 1.5)  # type: ignore[arg-type]
    assert table.get("app:n") == 5  # was: 6.5 stored, and every later read a 500
    assert table.incr("app:n") == 6


def test_dynamodb_unparseable_number_is_a_logged_miss(
    table: DynamoDBTier, caplog: pytest.LogCaptureFixture
) -> None:
    item = {"k": {"S": "app:n"}, "n": {"N": "6.5"}}
    table.client.put_item(TableName=table.table, Item=item)
    with caplog.at_level(logging.WARNING, logger="serverless_cache"):
        assert table.get("app:n", "miss") == "miss"
        assert table.get_many(["app:n"]) == {}
    assert "not an integer" in caplog.text
    assert table.stats.errors == 2


def test_dynamodb_validation_errors_do_not_open_the_breaker(
    dynalite_dynamodb: LocalDynamoDB,
) -> None:
    # dynalite validates number magnitudes as DynamoDB does (moto accepts any number).
    options = {"REGION_NAME": REGION, "ENDPOINT_URL": dynalite_dynamodb.endpoint_url}
    tier = dynamodb(options, location=make_table(dynalite_dynamodb))
    tier.set("big", 10**37, None)
    for _ in range(4):  # BREAKER_THRESHOLD is 3
        with pytest.raises(OverflowError, match="38 digits"):
            tier.incr("big", 10**126)
    assert tier.get("big") == 10**37  # was: every read of every key missed for the cooldown
    assert tier.set("k", "v", None) and tier.get("k") == "v"


def test_dynamodb_keys_that_look_like_chunks_do_not_collide(table: DynamoDBTier) -> None:
    big = os.urandom(900_000)  # stored in three chunks
    assert table.set("app:big", big, None)
    assert table.set("app:big::chunk:1", "user value", None)  # the old chunk key name
    assert table.get("app:big") == big
    assert table.get("app:big::chunk:1") == "user value"


def test_dynamodb_expiry_is_exact_not_rounded_up(table: DynamoDBTier) -> None:
    assert table.set("app:k", "v", 1.0)
    clock.advance(0.8)
    assert table.get("app:k") == "v"
    clock.advance(0.3)
    assert table.get("app:k", "gone") == "gone"  # was: readable until the next whole second


def test_dynamodb_add_recognises_its_own_write_on_retry(table: DynamoDBTier) -> None:
    token = b"write-token-1"
    stored = ("b", table.codec.dumps("first"))
    assert table._add("app:a", stored, None, token) is True
    assert table._add("app:a", stored, None, token) is False  # a plain add: present
    assert table._add_again("app:a", stored, None, token) is True  # the retry: our write
    assert table._add_again("app:a", stored, None, b"someone-else") is False


# -- logs stay throttled ----------------------------------------------------------------------
def test_undecodable_reads_log_once_per_interval(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    writer = redis_tier(redis_url, {"SIGNING_KEY": "old"})
    reader = redis_tier(redis_url, {"SIGNING_KEY": "new", "SOCKET_TIMEOUT": 2})
    writer.set_many({f"k{i}": i * 1.5 for i in range(20)}, None)
    with caplog.at_level(logging.WARNING, logger="serverless_cache"):
        for _ in range(10):
            assert reader.get_many([f"k{i}" for i in range(20)]) == {}
    assert len(caplog.records) == 1  # was: one warning per call
    assert reader.stats.errors == 200


# -- the layered cache ------------------------------------------------------------------------
def two_instances(redis_url: str, cap: float) -> tuple[LayeredTier, LayeredTier]:
    options = {
        "TIERS": [{"TIER": "memory", "CAP": cap}, {"TIER": "redis", "LOCATION": redis_url}],
        "EPOCH_CHECK_INTERVAL": 60,
    }
    first = layered_tier("one", options)
    other = layered_tier("two", options)
    return first, other


def test_layered_touch_never_lengthens_an_upper_copy(redis_url: str) -> None:
    reader, writer = two_instances(redis_url, cap=3.0)
    writer.set("k", "old", 300)
    assert reader.get("k") == "old"  # promoted into the reader's L1, for at most the cap
    writer.set("k", "new", 300)
    assert reader.touch("k", 300)  # was: re-extended the stale copy past its cap
    assert reader.first.get("k", "dropped") == "dropped"
    assert reader.get("k") == "new"


def test_layered_get_or_set_without_lease_answers_the_value_that_won(redis_url: str) -> None:
    first, second = two_instances(redis_url, cap=10.0)

    def first_computes() -> str:
        # While this instance computes, the other misses too, computes and stores first.
        assert second.get_or_set("k", lambda: "second", 60) == "second"
        return "first"

    assert first.get_or_set("k", first_computes, 60) == "second"  # was: "first", set over it
    assert first.get("k") == second.get("k") == "second"


# -- found by review of the redesign ------------------------------------------------------------
def test_cluster_add_on_an_empty_hash_tag_key_stores_and_keeps_the_breaker_closed(
    redis_cluster_urls: list[str],
) -> None:
    tier = redis_tier(redis_cluster_urls, {"CLUSTER": True})
    assert tier.set("normal", "stored", None)
    for i in range(4):  # Redis hashes all of "{}{user1}": the token must follow it
        assert tier.add(f"{{}}{{user{i}}}", "v", None) is True
    assert tier.get("normal") == "stored"
    assert tier.stats.errors == 0


def test_unnamed_layered_caches_share_no_computation_and_no_counters(redis_url: str) -> None:
    import threading

    def unnamed(db: int) -> LayeredTier:
        tiers = [{"TIER": "memory"}, {"TIER": "redis", "LOCATION": redis_url[:-1] + str(db)}]
        return layered_tier("", {"TIERS": tiers})

    a, b = unnamed(3), unnamed(4)
    assert a.name != b.name
    a_computing, b_done = threading.Event(), threading.Event()

    def slow() -> str:
        a_computing.set()
        b_done.wait(10)
        return "value of cache A"

    thread = threading.Thread(target=a.get_or_set, args=("k", slow, 60))
    thread.start()
    a_computing.wait(10)
    assert b.get_or_set("k", lambda: "value of cache B", 60) == "value of cache B"
    b_done.set()
    thread.join()
    assert a.get("k") == "value of cache A"
    assert a.stats is not b.stats and a.last.stats is not b.last.stats


def test_the_log_interval_option_throttles_the_tier_s_own_warnings(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    redis_tier(redis_url, {"SIGNING_KEY": "a"}).set("k", [1], None)
    reader = redis_tier(redis_url, {"SIGNING_KEY": "b", "LOG_INTERVAL": 1})
    with caplog.at_level(logging.WARNING, logger="serverless_cache"):
        reader.get("k")
        reader.get("k")
        clock.advance(5)
        reader.get("k")
    assert len(caplog.records) == 2


def test_redis_incr_beyond_64_bits_is_an_overflow_not_a_type_error(redis_url: str) -> None:
    tier = redis_tier(redis_url)
    tier.set("n", 2**63, None)
    with pytest.raises(OverflowError, match="64-bit"):
        tier.incr("n")
    tier.set("m", 1, None)
    with pytest.raises(OverflowError, match="64-bit"):
        tier.incr("m", 2**64)
    assert tier.get("m") == 1
    tier.set("text", "abc", None)
    with pytest.raises(TypeError):
        tier.incr("text")


def test_a_delete_counts_one_delete_with_stale_copies() -> None:
    from tests.tiers.build import memory

    tier = memory("stale-deletes", {"STALE_TTL": 30})
    tier.set("k", 1, 60)
    assert tier.delete("k") is True
    assert tier.stats.deletes == 1
