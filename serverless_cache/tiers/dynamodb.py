"""DynamoDB tier: a shared cache with no connections to manage, batched and exact about expiry.

One item per key (attribute names are short because every byte is billed)::

    k  S  partition key: the final cache key
    v  B  the value encoded by the codec (absent for integers)
    n  N  an integer value, kept as a Number so that incr is one atomic UpdateItem ADD
    e  N  expiry in integer epoch seconds, the attribute DynamoDB's TTL deletes by; absent = never
    c  N  on a manifest: the number of chunks of a value too large for one item
    t  B  on a manifest and its chunks: a random token shared by one write

DynamoDB deletes expired items late (up to days), so every read and every condition treats an
item whose ``e`` has passed as absent. Chunks of key ``K`` are the items ``K::chunk:<i>``; a chunk
that is missing or carries another write's token makes the whole value a miss, never corrupt data.
Tables are created ahead of time (``serverless_cache.aws.dynamodb_table``), never here.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from serverless_cache.codec import Codec, CodecSettings
from serverless_cache.errors import CacheUnavailableError, ConfigurationError, ValueTooLargeError
from serverless_cache.metrics import TierStats, stats_for
from serverless_cache.options import parse_options, require_int, require_number
from serverless_cache.resilience import (
    UNREACHABLE,
    CircuitBreaker,
    Errors,
    ResilienceSettings,
    SharedClient,
)
from serverless_cache.tiers.base import MISSING, Tier

Item = dict[str, dict[str, Any]]
logger = logging.getLogger("serverless_cache")

DEFAULT_TABLE = "serverless-cache"
KEY, VALUE, NUMBER, EXPIRES, CHUNKS, TOKEN = "k", "v", "n", "e", "c", "t"
CHUNK_SEPARATOR = "::chunk:"
#: A value whose encoded payload plus key is larger than this is chunked (items max 400 KB).
INLINE_MAX_BYTES = 380_000
CHUNK_BYTES = 350_000
#: A chunked value and its manifest fit one BatchWriteItem (25 items).
MAX_CHUNKS = 24
BATCH_GET_SIZE = 100
BATCH_WRITE_SIZE = 25
#: Rounds of retrying UnprocessedKeys/UnprocessedItems before giving up on them.
UNPROCESSED_RETRIES = 6
#: DynamoDB numbers have 38 significant digits; larger integers are stored encoded.
NUMBER_LIMIT = 10**38
MAX_KEY_BYTES = 2048 - 32
LIVE = f"(attribute_not_exists({EXPIRES}) OR {EXPIRES} > :now)"
LIVE_NUMBER = f"attribute_exists({NUMBER}) AND {LIVE}"
DEAD_OR_ABSENT = f"attribute_not_exists({KEY}) OR {EXPIRES} <= :now"
#: The key :meth:`DynamoDBTier.warm` reads: never written, so the read costs half a unit.
WARM_KEY = "\x1fserverless-cache-warm"
CREATE_HINT = (
    "create it once, outside request handling: `serverless-cache create-table --table-name {table}`"
    ", `python manage.py create_dynamodb_cache_table`, or deploy the resource printed by "
    "`serverless-cache create-table --print-template`"
)


@dataclass(frozen=True)
class DynamoDBSettings:
    """Table, client and size options of the DynamoDB tier."""

    table_name: str = DEFAULT_TABLE
    region_name: str | None = None
    endpoint_url: str | None = None
    connect_timeout: float = 1.0
    read_timeout: float = 1.0
    max_attempts: int = 2  # in all, the first included (botocore's total_max_attempts)
    consistent_read: bool = False
    max_value_bytes: int = 4 * 1024 * 1024
    clear_segments: int = 4
    scan_page_size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.table_name, str) or not 3 <= len(self.table_name) <= 255:
            raise ConfigurationError(
                f"option TABLE_NAME must be a DynamoDB table name, got {self.table_name!r}"
            )
        for name in ("region_name", "endpoint_url"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ConfigurationError(f"option {name.upper()} must be a string or None")
        require_number("connect_timeout", self.connect_timeout, minimum=0.001)
        require_number("read_timeout", self.read_timeout, minimum=0.001)
        require_int("max_attempts", self.max_attempts, minimum=1)
        if not isinstance(self.consistent_read, bool):
            raise ConfigurationError("option CONSISTENT_READ must be True or False")
        require_int("max_value_bytes", self.max_value_bytes, minimum=1)
        if self.max_value_bytes > MAX_CHUNKS * CHUNK_BYTES:
            raise ConfigurationError(
                f"option MAX_VALUE_BYTES must be at most {MAX_CHUNKS * CHUNK_BYTES} "
                f"({MAX_CHUNKS} chunks of {CHUNK_BYTES} bytes), got {self.max_value_bytes}"
            )
        require_int("clear_segments", self.clear_segments, minimum=1)
        require_int("scan_page_size", self.scan_page_size, minimum=1, optional=True)

    def client_key(self) -> tuple[Any, ...]:
        """What makes two clients different; tiers with equal keys share one client."""
        return (
            self.region_name,
            self.endpoint_url,
            self.connect_timeout,
            self.read_timeout,
            self.max_attempts,
        )


class TableMissingError(CacheUnavailableError):
    """The cache table does not exist; the message says how to create it."""


class _ConditionFailed(Exception):
    """A conditional write found the item in a state that does not allow it."""


def store_errors() -> Errors:
    """The exceptions that mean "the store failed" (botocore is imported with the client)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


class DynamoDBConnection:
    """A boto3 client and its circuit breaker: one per client configuration per process."""

    def __init__(self, settings: DynamoDBSettings, breaker: CircuitBreaker) -> None:
        try:
            import boto3
            from botocore.config import Config
            from botocore.exceptions import ClientError, NoRegionError
        except ImportError:
            raise ConfigurationError(
                "the DynamoDB tier needs boto3: pip install 'serverless-cache[dynamodb]'"
            ) from None
        config = Config(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
            tcp_keepalive=True,
            max_pool_connections=max(10, settings.clear_segments),
        )
        try:
            self.client = boto3.session.Session().client(
                "dynamodb",
                region_name=settings.region_name,
                endpoint_url=settings.endpoint_url,
                config=config,
            )
        except NoRegionError:
            raise ConfigurationError(
                "the DynamoDB tier needs a region: set the REGION_NAME option or AWS_REGION"
            ) from None
        self.client_error: type[Exception] = ClientError
        self.breaker = breaker

    def close(self) -> None:
        self.client.close()


def chunk_key(key: str, index: int) -> str:
    return f"{key}{CHUNK_SEPARATOR}{index}"


def _live(item: Item, now: float) -> bool:
    return EXPIRES not in item or float(item[EXPIRES]["N"]) > now


def _expires_at(ttl: float | None) -> int | None:
    """Integer epoch seconds for DynamoDB's TTL, rounded up so nothing expires early."""
    return None if ttl is None else math.ceil(time.time() + ttl)


def _written_key(request: dict[str, Any]) -> str:
    """The key a BatchWriteItem WriteRequest puts or deletes."""
    put = request.get("PutRequest")
    return (put["Item"] if put else request["DeleteRequest"]["Key"])[KEY]["S"]  # type: ignore[no-any-return]


def _backoff(attempt: int) -> None:
    time.sleep(min(0.025 * 2**attempt, 1.0) * random.uniform(0.5, 1.0))


class DynamoDBTier(Tier):
    """A view onto one table (and key prefix) through the process-wide client."""

    kind = "dynamodb"
    blocking = True

    def __init__(
        self,
        settings: DynamoDBSettings,
        resilience: ResilienceSettings,
        codec: Codec,
        stats: TierStats,
        *,
        key_prefix: str = "",
    ) -> None:
        super().__init__(codec, stats)
        self.settings = settings
        self.resilience = resilience
        #: Every key of this cache starts with it; clear() removes exactly those items.
        self.key_prefix = key_prefix
        self.table = settings.table_name
        missing: Errors = (TableMissingError,) if resilience.fail_open else ()
        self._shared = SharedClient(
            "dynamodb",
            settings.client_key(),
            lambda breaker: DynamoDBConnection(settings, breaker),
            f"DynamoDB table {self.table!r}",
            resilience,
            stats,
            lambda: store_errors() + missing,
        )
        self._guarded = self._shared.call

    @classmethod
    def from_options(
        cls,
        options: Mapping[str, Any] | None,
        *,
        key_prefix: str = "",
        where: str = "OPTIONS",
        ignore: frozenset[str] = frozenset(),
    ) -> DynamoDBTier:
        """Build from OPTIONS: table and client options, FAIL_OPEN..., and the codec options.

        Values of 4 KB and more are compressed unless COMPRESS_MIN_BYTES says otherwise, since
        DynamoDB bills writes per KB.
        """
        table, resilience, codec = parse_options(
            options, DynamoDBSettings, ResilienceSettings, CodecSettings, where=where, ignore=ignore
        )
        if not any(str(name).lower() == "compress_min_bytes" for name in options or {}):
            codec = replace(codec, compress_min_bytes=4096)
        stats = stats_for(table.table_name, cls.kind)
        return cls(table, resilience, Codec(codec), stats, key_prefix=key_prefix)

    # -- plumbing --------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The boto3 DynamoDB client (for diagnostics and tests; the tier needs no other)."""
        return self._shared.client.client

    def _request(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """One DynamoDB call, with a missing table and a failed condition made explicit."""
        connection = self._shared.client
        try:
            return getattr(connection.client, method)(**kwargs)  # type: ignore[no-any-return]
        except connection.client_error as exc:
            code = exc.response.get("Error", {}).get("Code")  # type: ignore[attr-defined]
            if code == "ConditionalCheckFailedException":
                raise _ConditionFailed from None
            if code == "ResourceNotFoundException":
                raise TableMissingError(
                    f"DynamoDB table {self.table!r} does not exist; "
                    + CREATE_HINT.format(table=self.table)
                ) from None
            raise

    def _key(self, key: str) -> dict[str, dict[str, str]]:
        size = len(key.encode())
        if not 1 <= size <= MAX_KEY_BYTES:
            raise ValueError(
                f"cache key of {size} bytes cannot be stored in DynamoDB: keys must be 1 to "
                f"{MAX_KEY_BYTES} bytes (UTF-8); use a shorter key or a KEY_FUNCTION that hashes"
            )
        return {KEY: {"S": key}}

    # -- encoding --------------------------------------------------------------------------
    def _encode(self, key: str, value: Any, expires: int | None) -> list[Item]:
        """The items that store ``value``: one, or its chunks followed by their manifest."""
        item: Item = self._key(key)
        expiry = {} if expires is None else {EXPIRES: {"N": str(expires)}}
        item.update(expiry)
        if type(value) is int and -NUMBER_LIMIT < value < NUMBER_LIMIT:
            item[NUMBER] = {"N": str(value)}
            return [item]
        payload = self.codec.dumps(value)
        if len(payload) + len(key.encode()) <= INLINE_MAX_BYTES:
            item[VALUE] = {"B": payload}
            return [item]
        if len(payload) > self.settings.max_value_bytes:
            raise ValueTooLargeError(
                f"the value for {key!r} is {len(payload)} bytes once encoded, more than "
                f"MAX_VALUE_BYTES ({self.settings.max_value_bytes}); store less, or raise "
                f"MAX_VALUE_BYTES (at most {MAX_CHUNKS * CHUNK_BYTES})"
            )
        token = {"B": os.urandom(12)}
        parts = [payload[i : i + CHUNK_BYTES] for i in range(0, len(payload), CHUNK_BYTES)]
        chunks: list[Item] = [
            {KEY: {"S": chunk_key(key, i)}, VALUE: {"B": part}, TOKEN: token, **expiry}
            for i, part in enumerate(parts)
        ]
        item[CHUNKS] = {"N": str(len(parts))}
        item[TOKEN] = token
        return [*chunks, item]

    def _decode_items(self, found: Mapping[str, Item], now: float) -> dict[str, Any]:
        """Values of the live items; manifests are joined with their chunks (one batch read)."""
        values: dict[str, Any] = {}
        manifests: dict[str, Item] = {}
        for key, item in found.items():
            if not _live(item, now):
                continue
            if NUMBER in item:
                values[key] = int(item[NUMBER]["N"])
            elif CHUNKS in item:
                manifests[key] = item
            elif VALUE in item:
                values[key] = self.decode(key, item[VALUE]["B"])
        if manifests:
            chunk_keys = [
                chunk_key(key, i)
                for key, manifest in manifests.items()
                for i in range(int(manifest[CHUNKS]["N"]))
            ]
            chunks = self._batch_get(chunk_keys)
            for key, manifest in manifests.items():
                payload = self._join(key, manifest, chunks)
                values[key] = MISSING if payload is None else self.decode(key, payload)
        return {key: value for key, value in values.items() if value is not MISSING}

    def _join(self, key: str, manifest: Item, chunks: Mapping[str, Item]) -> bytes | None:
        """The payload of a chunked value, or None when a chunk is missing or from another write."""
        token = manifest[TOKEN]["B"]
        parts = []
        for i in range(int(manifest[CHUNKS]["N"])):
            chunk = chunks.get(chunk_key(key, i))
            if chunk is None or chunk.get(TOKEN, {}).get("B") != token:
                logger.info("serverless_cache: %r has a missing or stale chunk; a miss", key)
                return None
            parts.append(chunk[VALUE]["B"])
        return b"".join(parts)

    # -- batches ---------------------------------------------------------------------------
    def _batch_get(self, keys: Sequence[str]) -> dict[str, Item]:
        """Items by key through BatchGetItem, 100 keys a request, UnprocessedKeys retried."""
        unique = list(dict.fromkeys(keys))
        found: dict[str, Item] = {}
        for start in range(0, len(unique), BATCH_GET_SIZE):
            request: dict[str, Any] = {
                "Keys": [self._key(key) for key in unique[start : start + BATCH_GET_SIZE]],
                "ConsistentRead": self.settings.consistent_read,
            }
            for attempt in range(UNPROCESSED_RETRIES + 1):
                if attempt:
                    _backoff(attempt)
                response = self._request("batch_get_item", RequestItems={self.table: request})
                for item in response.get("Responses", {}).get(self.table, []):
                    found[item[KEY]["S"]] = item
                request = response.get("UnprocessedKeys", {}).get(self.table)  # type: ignore[assignment]
                if not request:
                    break
            else:
                logger.warning(
                    "serverless_cache: DynamoDB left %d keys unread after %d retries; misses",
                    len(request["Keys"]),
                    UNPROCESSED_RETRIES,
                )
        return found

    def _batch_write(self, writes: Sequence[tuple[str, dict[str, Any]]]) -> set[str]:
        """Run ``(owner key, WriteRequest)`` pairs through BatchWriteItem, 25 a request.

        UnprocessedItems are retried with backoff; returns the owner keys of any left over.
        """
        owner_of = {_written_key(request): owner for owner, request in writes}
        failed: set[str] = set()
        for start in range(0, len(writes), BATCH_WRITE_SIZE):
            batch = [request for _, request in writes[start : start + BATCH_WRITE_SIZE]]
            for attempt in range(UNPROCESSED_RETRIES + 1):
                if attempt:
                    _backoff(attempt)
                response = self._request("batch_write_item", RequestItems={self.table: batch})
                batch = response.get("UnprocessedItems", {}).get(self.table, [])
                if not batch:
                    break
            failed.update(owner_of[_written_key(request)] for request in batch)
        return failed

    @staticmethod
    def _puts(owner: str, items: Sequence[Item]) -> list[tuple[str, dict[str, Any]]]:
        return [(owner, {"PutRequest": {"Item": item}}) for item in items]

    def _deletes(self, owner: str, keys: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
        return [(owner, {"DeleteRequest": {"Key": self._key(key)}}) for key in keys]

    def _drop_chunks(self, key: str, old: Item | None) -> None:
        """Delete the chunks of a replaced or deleted value."""
        if old and CHUNKS in old:
            count = int(old[CHUNKS]["N"])
            self._batch_write(self._deletes(key, [chunk_key(key, i) for i in range(count)]))

    # -- reads -----------------------------------------------------------------------------
    def warm(self) -> None:
        """Create the client and open its connection now, with one GetItem of an unused key."""
        request = {"TableName": self.table, "Key": self._key(self.key_prefix + WARM_KEY)}
        self._guarded("warm", lambda: self._request("get_item", **request), None)

    def get(self, key: str, default: Any = None) -> Any:
        request = {"TableName": self.table, "Key": self._key(key)}

        def read() -> Any:
            now = time.time()
            response = self._request(
                "get_item", **request, ConsistentRead=self.settings.consistent_read
            )
            item = response.get("Item")
            return self._decode_items({key: item}, now).get(key, MISSING) if item else MISSING

        return self.counted(self._guarded("get", read, MISSING), default)

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        return {key: value for key, (value, _) in self._entries(keys, "get_many").items()}

    def get_entries(self, keys: Sequence[str]) -> dict[str, tuple[Any, float | None]]:
        return self._entries(keys, "get_entries")

    def _entries(self, keys: Sequence[str], operation: str) -> dict[str, tuple[Any, float | None]]:
        if not keys:
            return {}

        def read() -> dict[str, tuple[Any, float | None]]:
            now = time.time()
            items = self._batch_get(keys)
            values = self._decode_items(items, now)
            return {
                key: (value, float(items[key][EXPIRES]["N"]) if EXPIRES in items[key] else None)
                for key, value in values.items()
            }

        none: dict[str, tuple[Any, float | None]] = {}
        found = self._guarded(operation, read, none)
        unique = len(set(keys))
        self.stats.hits += len(found)
        self.stats.misses += unique - len(found)
        return found

    def _head(self, key: str) -> Item | None:
        """The key and expiry of ``key``'s live item, without its value."""
        request = {"TableName": self.table, "Key": self._key(key)}

        def read() -> Item | None:
            now = time.time()
            response = self._request(
                "get_item",
                **request,
                ProjectionExpression=f"{KEY}, {EXPIRES}",
                ConsistentRead=self.settings.consistent_read,
            )
            item: Item | None = response.get("Item")
            return item if item and _live(item, now) else None

        return self._guarded("get", read, None)

    def has(self, key: str) -> bool:
        """Whether a live item exists (a chunked value is not read, only its manifest)."""
        return self._head(key) is not None

    def ttl(self, key: str) -> float | None:
        item = self._head(key)
        if item is None:
            return 0.0
        if EXPIRES not in item:
            return None
        return max(0.0, float(item[EXPIRES]["N"]) - time.time())

    # -- writes ----------------------------------------------------------------------------
    def set(self, key: str, value: Any, ttl: float | None) -> bool:
        """One PutItem, whose old item tells which chunks of a replaced value to delete."""
        if ttl is not None and ttl <= 0:
            self.delete(key)
            return True
        items = self._encode(key, value, _expires_at(ttl))
        if len(items) > 1:
            return not self._write({key: items})
        self.stats.sets += 1

        def write() -> bool:
            response = self._request(
                "put_item", TableName=self.table, Item=items[0], ReturnValues="ALL_OLD"
            )
            self._drop_chunks(key, response.get("Attributes"))
            return True

        return self._guarded("set", write, False)

    def set_many(self, items: Mapping[str, Any], ttl: float | None) -> list[str]:
        """BatchWriteItem, 25 items a request; a chunked value is its chunks plus a manifest."""
        if ttl is not None and ttl <= 0:
            self.delete_many(list(items))
            return []
        expires = _expires_at(ttl)
        # Encode everything first, so a bad value raises before anything is written.
        return self._write({key: self._encode(key, value, expires) for key, value in items.items()})

    def _write(self, encoded: Mapping[str, list[Item]]) -> list[str]:
        """Write encoded values with BatchWriteItem; the keys not (entirely) stored."""
        writes = [write for key, items in encoded.items() for write in self._puts(key, items)]
        self.stats.sets += len(encoded)

        def write() -> list[str]:
            failed = self._batch_write(writes)
            return [key for key in encoded if key in failed]

        return self._guarded("set_many", write, list(encoded))

    def add(self, key: str, value: Any, ttl: float | None) -> bool:
        """One conditional PutItem that also wins over an expired item.

        A chunked value writes its manifest first, so the condition decides before any chunk of
        a live value could be overwritten; until the chunks follow, readers see a miss.
        """
        if ttl is not None and ttl <= 0:
            return not self.has(key)
        *chunks, manifest = self._encode(key, value, _expires_at(ttl))

        def write() -> bool:
            try:
                self._request(
                    "put_item",
                    TableName=self.table,
                    Item=manifest,
                    ConditionExpression=DEAD_OR_ABSENT,
                    ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
                )
            except _ConditionFailed:
                return False
            if chunks and self._batch_write(self._puts(key, chunks)):
                self._request("delete_item", TableName=self.table, Key=self._key(key))
                return False
            return True

        added = self._guarded("add", write, False)
        self.stats.sets += added
        return added

    def delete(self, key: str) -> bool:
        request = {"TableName": self.table, "Key": self._key(key)}
        self.stats.deletes += 1

        def remove() -> bool:
            now = time.time()
            old = self._request("delete_item", **request, ReturnValues="ALL_OLD").get("Attributes")
            self._drop_chunks(key, old)
            return old is not None and _live(old, now)

        return self._guarded("delete", remove, False)

    def delete_many(self, keys: Sequence[str]) -> bool:
        """BatchWriteItem deletes, 25 a request, duplicates removed (DynamoDB rejects them).

        Unlike :meth:`delete`, the old items are not returned, so chunks of a large value stay
        until DynamoDB's TTL or :meth:`clear` removes them; they are never read again.
        """
        unique = list(dict.fromkeys(keys))
        writes = [write for key in unique for write in self._deletes(key, [key])]
        self.stats.deletes += len(unique)
        return self._guarded("delete_many", lambda: not self._batch_write(writes), False)

    def incr(self, key: str, delta: int = 1, *, create: bool = False) -> int:
        """One conditional UpdateItem ADD; the expiry is left as it is.

        Only when the condition fails is the item read, to tell a missing or expired key
        (KeyError, or a fresh counter with ``create``) from a value that is not an integer.
        """
        key_attribute = self._key(key)
        request: dict[str, Any] = {"TableName": self.table, "Key": key_attribute}

        def add_delta() -> int:
            for _ in range(5):
                now = {":now": {"N": str(int(time.time()))}}
                try:
                    response = self._request(
                        "update_item",
                        **request,
                        UpdateExpression=f"ADD {NUMBER} :delta",
                        ConditionExpression=(
                            f"attribute_not_exists({KEY}) OR ({LIVE_NUMBER})"
                            if create
                            else LIVE_NUMBER
                        ),
                        ExpressionAttributeValues={":delta": {"N": str(delta)}, **now},
                        ReturnValues="UPDATED_NEW",
                    )
                    return int(response["Attributes"][NUMBER]["N"])
                except _ConditionFailed:
                    pass
                item = self._request("get_item", **request, ConsistentRead=True).get("Item")
                if item is not None and _live(item, time.time()):
                    if NUMBER in item:
                        continue  # it became a number since the update: try again
                    raise TypeError(f"cannot increment {key!r}: its value is not an integer")
                if not create:
                    raise KeyError(key)
                try:
                    fresh = {**key_attribute, NUMBER: {"N": str(delta)}}
                    self._request(
                        "put_item",
                        TableName=self.table,
                        Item=fresh,
                        ConditionExpression=DEAD_OR_ABSENT,
                        ExpressionAttributeValues=now,
                    )
                    return delta
                except _ConditionFailed:
                    continue
            raise KeyError(key)

        result = self._guarded("incr", add_delta, UNREACHABLE)
        if result is UNREACHABLE:
            raise KeyError(key)
        return result  # type: ignore[no-any-return]

    def touch(self, key: str, ttl: float | None) -> bool:
        """One conditional UpdateItem (plus one per chunk for a chunked value)."""
        request = {"TableName": self.table, "Key": self._key(key)}
        if ttl is not None and ttl <= 0:
            return self._delete_if_live(key)
        expires = _expires_at(ttl)
        if expires is None:
            update, values = f"REMOVE {EXPIRES}", {}
        else:
            update, values = f"SET {EXPIRES} = :e", {":e": {"N": str(expires)}}

        def write() -> bool:
            try:
                response = self._request(
                    "update_item",
                    **request,
                    UpdateExpression=update,
                    ConditionExpression=f"attribute_exists({KEY}) AND {LIVE}",
                    ExpressionAttributeValues={**values, ":now": {"N": str(int(time.time()))}},
                    ReturnValues="ALL_NEW",
                )
            except _ConditionFailed:
                return False
            manifest = response.get("Attributes", {})
            for i in range(int(manifest.get(CHUNKS, {}).get("N", 0))):
                try:
                    self._request(
                        "update_item",
                        TableName=self.table,
                        Key=self._key(chunk_key(key, i)),
                        UpdateExpression=update,
                        ConditionExpression=f"{TOKEN} = :t",
                        ExpressionAttributeValues={**values, ":t": manifest[TOKEN]},
                    )
                except _ConditionFailed:
                    pass  # replaced since: the value reads as a miss either way
            return True

        return self._guarded("touch", write, False)

    def _delete_if_live(self, key: str) -> bool:
        def remove() -> bool:
            try:
                old = self._request(
                    "delete_item",
                    TableName=self.table,
                    Key=self._key(key),
                    ConditionExpression=f"attribute_exists({KEY}) AND {LIVE}",
                    ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
                    ReturnValues="ALL_OLD",
                ).get("Attributes")
            except _ConditionFailed:
                return False
            self._drop_chunks(key, old)
            return True

        return self._guarded("touch", remove, False)

    def clear(self) -> bool:
        """Delete every item whose key starts with this cache's prefix, and no other.

        DynamoDB has no prefix delete: this scans the whole table (in CLEAR_SEGMENTS parallel
        segments, every page) reading only keys, and deletes matches 25 a request. It costs
        read units for the whole table and a write unit per deleted item: an operator's tool.
        """
        segments = self.settings.clear_segments
        scan: dict[str, Any] = {
            "TableName": self.table,
            "ProjectionExpression": KEY,
            "TotalSegments": segments,
        }
        if self.key_prefix:
            scan["FilterExpression"] = f"begins_with({KEY}, :prefix)"
            scan["ExpressionAttributeValues"] = {":prefix": {"S": self.key_prefix}}
        if self.settings.scan_page_size:
            scan["Limit"] = self.settings.scan_page_size

        def clear_segment(segment: int) -> bool:
            page_request = {**scan, "Segment": segment}
            complete = True
            while True:
                page = self._request("scan", **page_request)
                keys = [item[KEY]["S"] for item in page.get("Items", [])]
                if keys and self._batch_write([w for k in keys for w in self._deletes(k, [k])]):
                    complete = False
                if not page.get("LastEvaluatedKey"):
                    return complete
                page_request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        def clear_all() -> bool:
            if segments == 1:
                return clear_segment(0)
            with ThreadPoolExecutor(segments, thread_name_prefix="serverless-cache-clear") as pool:
                return all(list(pool.map(clear_segment, range(segments))))

        return self._guarded("clear", clear_all, False)
