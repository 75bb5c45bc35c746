"""DynamoDB tier: a shared cache with no connections to manage, batched and exact about expiry.

Item layout and chunking are in :mod:`.items`, batching in :mod:`.batch`. botocore's own
retries are off: an UpdateItem ADD or a conditional PutItem whose answer was late or lost must
not be sent again blindly; :mod:`serverless_cache.resilience` retries idempotent calls only,
and ``add`` recognises its own write by the token it stored. Tables are created ahead of time
(``serverless_cache.aws.dynamodb_table``), never here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from serverless_cache import clock
from serverless_cache.codec import Codec, CodecSettings
from serverless_cache.errors import CacheUnavailableError, ConfigurationError, ValueTooLargeError
from serverless_cache.resilience import Fault, ResilienceSettings
from serverless_cache.stampede import StampedeSettings
from serverless_cache.tiers.config import TierConfig, refuse_local_limits
from serverless_cache.tiers.dynamodb import items as layout
from serverless_cache.tiers.dynamodb.batch import (
    batch_get,
    batch_write,
    delete_prefix,
    deletes,
    puts,
)
from serverless_cache.tiers.dynamodb.client import (
    ConditionFailed,
    DynamoDBConnection,
    classify,
)
from serverless_cache.tiers.dynamodb.items import (
    CHUNK_BYTES,
    CHUNKS,
    DEAD_OR_ABSENT,
    EXACT,
    EXPIRES,
    KEY,
    LIVE,
    LIVE_NUMBER,
    MAX_CHUNKS,
    NUMBER,
    NUMBER_LIMIT,
    TOKEN,
    VALUE,
    WRITER,
    Item,
)
from serverless_cache.tiers.dynamodb.settings import DynamoDBSettings
from serverless_cache.tiers.network import NetworkTier

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: The key :meth:`DynamoDBTier.warm` reads: never written, so the read costs half a unit.
WARM_KEY: Final = "\x1fserverless-cache-warm"


class DynamoDBTier(NetworkTier):
    """A view onto one table (and key prefix) through the process-wide client.

    LOCATION is the table name (or the TABLE_NAME option). Values of 4 KB and more are
    compressed unless COMPRESS_MIN_BYTES says otherwise, since DynamoDB bills writes per KB.
    """

    kind = "dynamodb"

    def __init__(
        self,
        config: TierConfig,
        settings: DynamoDBSettings,
        codec: Codec,
        stampede: StampedeSettings,
        resilience: ResilienceSettings,
    ) -> None:
        self.settings = settings
        self.table = settings.table_name
        super().__init__(
            config,
            codec,
            stampede,
            resilience,
            client=(
                "dynamodb",
                settings.client_key(),
                lambda breaker: DynamoDBConnection(settings, breaker),
            ),
            label=f"DynamoDB table {self.table!r}",
        )

    @classmethod
    def from_config(cls, config: TierConfig) -> DynamoDBTier:
        """OPTIONS: region, endpoint, timeouts, sizes, fail-open, codec and stampede options."""
        refuse_local_limits(config, "a DynamoDB table has no size bound")
        options = dict(config.options)
        table = config.locations()
        if table:
            if config.has_option("table_name"):
                raise ConfigurationError(
                    f"{config.where}: give the table name once, as LOCATION or TABLE_NAME"
                )
            options["table_name"] = table[0]
        config = replace(config, options=options)
        settings, codec, stampede, resilience = config.parse(
            DynamoDBSettings, CodecSettings, StampedeSettings, ResilienceSettings
        )
        if not config.has_option("compress_min_bytes"):
            codec = replace(codec, compress_min_bytes=4096)
        if not config.name:
            config = replace(config, name=settings.table_name)
        return cls(config, settings, Codec(codec), stampede, resilience)

    @property
    def location_key(self) -> str:
        return self.table

    # -- plumbing --------------------------------------------------------------------------
    @property
    def client(self) -> DynamoDBClient:
        """The boto3 DynamoDB client (for diagnostics and tests; the tier needs no other)."""
        connection: DynamoDBConnection = self._shared.client
        return connection.client

    classify = staticmethod(classify)

    def _request(self, method: str, **kwargs: Any) -> dict[str, Any]:
        connection: DynamoDBConnection = self._shared.client
        return connection.request(self.table, method, **kwargs)

    def _key(self, key: str) -> dict[str, dict[str, str]]:
        problem = layout.key_problem(key)
        if problem is not None:
            raise ValueError(problem)
        return {KEY: {"S": key}}

    def _readable(self, keys: Sequence[str]) -> list[str]:
        """The keys an item can have; the others are logged misses."""
        for key in keys:
            problem = layout.key_problem(key)
            if problem is not None:
                self.log.warning("key", "%s; %r is a miss", problem, key[:80])
                return [key for key in keys if layout.key_problem(key) is None]
        return list(keys)

    # -- encoding --------------------------------------------------------------------------
    def _encode(self, key: str, value: Any) -> tuple[str, Any]:
        self._key(key)
        if type(value) is int and -NUMBER_LIMIT < value < NUMBER_LIMIT:
            return ("n", layout.number(value))
        payload = self.codec.dumps(value)
        if len(payload) > self.settings.max_value_bytes:
            raise ValueTooLargeError(
                f"the value for {key!r} is {len(payload)} bytes once encoded, more than "
                f"MAX_VALUE_BYTES ({self.settings.max_value_bytes}); store less, or raise "
                f"MAX_VALUE_BYTES (at most {MAX_CHUNKS * CHUNK_BYTES})"
            )
        return ("b", payload)

    def _decode(self, key: str, raw: Any) -> Any:
        kind, data = raw
        if kind == "n":
            try:
                return int(data)
            except ValueError:
                return self.undecodable(key, ValueError(f"number {data[:40]!r} is not an integer"))
        return super()._decode(key, data)

    def _items(
        self, encoded: Mapping[str, tuple[str, Any]], ttl: float | None
    ) -> dict[str, list[Item]]:
        expires = None if ttl is None else clock.time() + ttl
        return {key: layout.build_items(key, stored, expires) for key, stored in encoded.items()}

    def _raw(self, found: Mapping[str, Item], now: float) -> dict[str, tuple[str, Any]]:
        """Raw forms of the live items; manifests are joined with their chunks (one batch)."""
        raws: dict[str, tuple[str, Any]] = {}
        manifests: dict[str, Item] = {}
        for key, item in found.items():
            if not layout.live(item, now):
                continue
            if NUMBER in item:
                raws[key] = ("n", item[NUMBER]["N"])
            elif CHUNKS in item:
                manifests[key] = item
            elif VALUE in item:
                raws[key] = ("b", item[VALUE]["B"])
        if manifests:
            chunk_keys = [
                layout.chunk_key(key, i)
                for key, manifest in manifests.items()
                for i in range(layout.chunk_count(manifest))
            ]
            chunks = batch_get(self._request, self.table, chunk_keys, self.settings.consistent_read)
            for key, manifest in manifests.items():
                payload = layout.join_chunks(key, manifest, chunks)
                if payload is None:
                    self.log.warning("chunk", "%r has a missing or stale chunk; a miss", key)
                else:
                    raws[key] = ("b", payload)
        return raws

    def _drop_chunks(self, key: str, old: Item | None) -> None:
        """Delete the chunks of a replaced or deleted value."""
        count = layout.chunk_count(old)
        if count:
            chunk_keys = [layout.chunk_key(key, i) for i in range(count)]
            batch_write(self._request, self.table, deletes(key, chunk_keys))

    # -- reads -----------------------------------------------------------------------------
    def warm(self) -> None:
        """Create the client and open its connection now, with one GetItem of an unused key."""
        request = {"TableName": self.table, "Key": {KEY: {"S": self.key_prefix + WARM_KEY}}}
        self._run("warm", lambda: self._request("get_item", **request), None)

    def _fetch(self, keys: Sequence[str]) -> tuple[dict[str, Item], float]:
        now = clock.time()
        keys = self._readable(keys)
        if len(keys) == 1:
            response = self._request(
                "get_item",
                TableName=self.table,
                Key={KEY: {"S": keys[0]}},
                ConsistentRead=self.settings.consistent_read,
            )
            item = response.get("Item")
            return ({keys[0]: item} if item else {}), now
        return batch_get(self._request, self.table, keys, self.settings.consistent_read), now

    def _get_many(self, keys: Sequence[str]) -> dict[str, tuple[str, Any]]:
        found, now = self._fetch(keys)
        return self._raw(found, now)

    def _get_entries(self, keys: Sequence[str]) -> dict[str, tuple[Any, float | None]]:
        found, now = self._fetch(keys)
        return {
            key: (raw, layout.expires_at(found[key])) for key, raw in self._raw(found, now).items()
        }

    def _head(self, key: str) -> Item | None:
        """The key and expiry of ``key``'s live item, without its value."""
        now = clock.time()
        if layout.key_problem(key) is not None:
            return None
        response = self._request(
            "get_item",
            TableName=self.table,
            Key={KEY: {"S": key}},
            ProjectionExpression=f"{KEY}, {EXACT}",
            ConsistentRead=self.settings.consistent_read,
        )
        item: Item | None = response.get("Item")
        return item if item and layout.live(item, now) else None

    def _ttl(self, key: str) -> float | None:
        item = self._head(key)
        if item is None:
            return 0.0
        expires = layout.expires_at(item)
        return None if expires is None else max(0.0, expires - clock.time())

    # -- writes ----------------------------------------------------------------------------
    def _set_many(self, encoded: Mapping[str, tuple[str, Any]], ttl: float | None) -> list[str]:
        """One PutItem for one small value (its old item tells which chunks to delete), else
        BatchWriteItem, 25 items a request; a chunked value is its chunks plus a manifest."""
        by_key = self._items(encoded, ttl)
        if len(by_key) == 1:
            ((key, items),) = by_key.items()
            if len(items) == 1:
                response = self._request(
                    "put_item", TableName=self.table, Item=items[0], ReturnValues="ALL_OLD"
                )
                self._drop_chunks(key, response.get("Attributes"))
                return []
        writes = [write for key, items in by_key.items() for write in puts(key, items)]
        failed = batch_write(self._request, self.table, writes)
        return [key for key in by_key if key in failed]

    def _add(self, key: str, encoded: Any, ttl: float | None, token: bytes) -> bool:
        """One conditional PutItem that also wins over an expired item.

        A chunked value writes its manifest first, so the condition decides before any chunk of
        a live value could be overwritten; until the chunks follow, readers see a miss.
        """
        return self._put_if_absent(key, encoded, ttl, token, again=False)

    def _add_again(self, key: str, encoded: Any, ttl: float | None, token: bytes) -> bool:
        return self._put_if_absent(key, encoded, ttl, token, again=True)

    def _put_if_absent(
        self, key: str, encoded: Any, ttl: float | None, token: bytes, *, again: bool
    ) -> bool:
        """``again``: the retry of a write whose reply was lost also wins over its own item."""
        *chunks, manifest = self._items({key: encoded}, ttl)[key]
        manifest[WRITER] = {"B": token}
        values: dict[str, dict[str, Any]] = dict(layout.now_value(clock.time()))
        condition = DEAD_OR_ABSENT
        if again:
            condition = f"{DEAD_OR_ABSENT} OR {WRITER} = :w"
            values[":w"] = {"B": token}
        try:
            self._request(
                "put_item",
                TableName=self.table,
                Item=manifest,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ConditionFailed:
            return False
        try:
            chunks_failed = bool(chunks) and bool(
                batch_write(self._request, self.table, puts(key, chunks))
            )
        except BaseException:
            self._request("delete_item", TableName=self.table, Key=self._key(key))
            raise  # a manifest without its chunks must not block every later add
        if chunks_failed:
            self._request("delete_item", TableName=self.table, Key=self._key(key))
            return False
        return True

    def _delete_many(self, keys: Sequence[str]) -> int:
        """One DeleteItem (its old item tells whether it was live, and its chunks) for one
        key; BatchWriteItem deletes for several, whose chunks stay until DynamoDB's TTL or
        :meth:`clear` removes them (they are never read again)."""
        keys = self._readable(keys)
        if len(keys) == 1:
            now = clock.time()
            old = self._request(
                "delete_item", TableName=self.table, Key=self._key(keys[0]), ReturnValues="ALL_OLD"
            ).get("Attributes")
            self._drop_chunks(keys[0], old)
            return int(old is not None and layout.live(old, now))
        writes = [write for key in keys for write in deletes(key, [key])]
        left = batch_write(self._request, self.table, writes)
        if left:  # still there: the caller (and recovery) must know
            raise CacheUnavailableError(
                f"DynamoDB table {self.table!r}: {len(left)} keys could not be deleted"
            )
        return len(keys)

    def _incr(self, key: str, delta: int, create: bool) -> int | None:
        """One conditional UpdateItem ADD; the expiry is left as it is.

        Only when the condition fails is the item read, to tell a missing or expired key
        (None, or a fresh counter with ``create``) from a value that is not an integer.
        """
        key_attribute = self._key(key)
        request: dict[str, Any] = {"TableName": self.table, "Key": key_attribute}
        for _ in range(5):
            now = layout.now_value(clock.time())
            try:
                response = self._request(
                    "update_item",
                    **request,
                    UpdateExpression=f"ADD {NUMBER} :delta",
                    ConditionExpression=(
                        f"attribute_not_exists({KEY}) OR ({LIVE_NUMBER})" if create else LIVE_NUMBER
                    ),
                    ExpressionAttributeValues={":delta": {"N": str(delta)}, **now},
                    ReturnValues="UPDATED_NEW",
                )
                return int(response["Attributes"][NUMBER]["N"])
            except ConditionFailed:
                pass
            except Exception as exc:
                if self.classify(exc) is not Fault.ANSWERED:
                    raise
                if "overflow" in str(exc).lower() or "significant digits" in str(exc):
                    raise OverflowError(
                        f"cannot increment {key!r} by {delta}: DynamoDB numbers have 38 digits"
                    ) from None
                raise TypeError(f"cannot increment {key!r}: its value is not an integer") from None
            item = self._request("get_item", **request, ConsistentRead=True).get("Item")
            if item is not None and layout.live(item, clock.time()):
                if NUMBER in item:
                    continue  # it became a number since the update: try again
                raise TypeError(f"cannot increment {key!r}: its value is not an integer")
            if not create:
                return None
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
            except ConditionFailed:
                continue
        return None

    def _touch(self, key: str, ttl: float | None) -> bool:
        """One conditional UpdateItem (plus one per chunk for a chunked value)."""
        request = {"TableName": self.table, "Key": self._key(key)}
        if ttl is None:
            update, values = f"REMOVE {EXACT}, {EXPIRES}", {}
        else:
            attributes = layout.expiry_attributes(clock.time() + ttl)
            update = f"SET {EXACT} = :x, {EXPIRES} = :e"
            values = {":x": attributes[EXACT], ":e": attributes[EXPIRES]}
        try:
            response = self._request(
                "update_item",
                **request,
                UpdateExpression=update,
                ConditionExpression=f"attribute_exists({KEY}) AND {LIVE}",
                ExpressionAttributeValues={**values, **layout.now_value(clock.time())},
                ReturnValues="ALL_NEW",
            )
        except ConditionFailed:
            return False
        manifest = response.get("Attributes", {})
        for i in range(layout.chunk_count(manifest)):
            try:
                self._request(
                    "update_item",
                    TableName=self.table,
                    Key={KEY: {"S": layout.chunk_key(key, i)}},
                    UpdateExpression=update,
                    ConditionExpression=f"{TOKEN} = :t",
                    ExpressionAttributeValues={**values, ":t": manifest[TOKEN]},
                )
            except ConditionFailed:
                pass  # replaced since: the value reads as a miss either way
        return True

    def _clear(self) -> bool:
        """Delete every item whose key starts with this cache's prefix, and no other.

        DynamoDB has no prefix delete: this scans the whole table in CLEAR_SEGMENTS parallel
        segments reading only keys, and deletes matches 25 a request. It costs read units for
        the whole table and a write unit per deleted item: an operator's tool.
        """
        segments, page_size = self.settings.clear_segments, self.settings.scan_page_size
        return delete_prefix(self._request, self.table, self.key_prefix, segments, page_size)
