"""BatchGetItem and BatchWriteItem in pages, with their unprocessed parts retried.

DynamoDB answers a batch with what it could not do now (UnprocessedKeys, UnprocessedItems);
those are retried with a short backoff, which is safe because the requests are idempotent
(plain gets, puts and deletes).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from serverless_cache.tiers.dynamodb.items import KEY, Item, written_key

logger = logging.getLogger("serverless_cache")
Request = Callable[..., dict[str, Any]]

BATCH_GET_SIZE = 100
BATCH_WRITE_SIZE = 25
#: Rounds of retrying UnprocessedKeys/UnprocessedItems before giving up on them.
UNPROCESSED_RETRIES = 6


def _backoff(attempt: int) -> None:
    time.sleep(min(0.025 * 2**attempt, 1.0) * random.uniform(0.5, 1.0))


def batch_get(
    request: Request, table: str, keys: Sequence[str], consistent: bool
) -> dict[str, Item]:
    """Items by key, 100 keys a request (keys must be unique)."""
    found: dict[str, Item] = {}
    for start in range(0, len(keys), BATCH_GET_SIZE):
        page: dict[str, Any] | None = {
            "Keys": [{KEY: {"S": key}} for key in keys[start : start + BATCH_GET_SIZE]],
            "ConsistentRead": consistent,
        }
        for attempt in range(UNPROCESSED_RETRIES + 1):
            if attempt:
                _backoff(attempt)
            response = request("batch_get_item", RequestItems={table: page})
            for item in response.get("Responses", {}).get(table, []):
                found[item[KEY]["S"]] = item
            page = response.get("UnprocessedKeys", {}).get(table)
            if not page:
                break
        if page:
            logger.warning(
                "serverless_cache: DynamoDB left %d keys unread after %d retries; misses",
                len(page["Keys"]),
                UNPROCESSED_RETRIES,
            )
    return found


def batch_write(
    request: Request, table: str, writes: Sequence[tuple[str, dict[str, Any]]]
) -> set[str]:
    """Run ``(owner key, WriteRequest)`` pairs, 25 a request; the owners of any left over."""
    owner_of = {written_key(write): owner for owner, write in writes}
    failed: set[str] = set()
    for start in range(0, len(writes), BATCH_WRITE_SIZE):
        batch = [write for _, write in writes[start : start + BATCH_WRITE_SIZE]]
        for attempt in range(UNPROCESSED_RETRIES + 1):
            if attempt:
                _backoff(attempt)
            response = request("batch_write_item", RequestItems={table: batch})
            batch = response.get("UnprocessedItems", {}).get(table, [])
            if not batch:
                break
        failed.update(owner_of[written_key(write)] for write in batch)
    return failed


def puts(owner: str, items: Sequence[Item]) -> list[tuple[str, dict[str, Any]]]:
    return [(owner, {"PutRequest": {"Item": item}}) for item in items]


def deletes(owner: str, keys: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    return [(owner, {"DeleteRequest": {"Key": {KEY: {"S": key}}}}) for key in keys]


def delete_prefix(
    request: Request, table: str, prefix: str, segments: int, page_size: int | None
) -> bool:
    """Scan ``table`` (keys only, ``segments`` in parallel) and delete the items under
    ``prefix`` (every item without one); False if some could not be deleted."""
    scan: dict[str, Any] = {"TableName": table, "ProjectionExpression": KEY}
    scan["TotalSegments"] = segments
    if prefix:
        scan["FilterExpression"] = f"begins_with({KEY}, :prefix)"
        scan["ExpressionAttributeValues"] = {":prefix": {"S": prefix}}
    if page_size:
        scan["Limit"] = page_size

    def clear_segment(segment: int) -> bool:
        page_request = {**scan, "Segment": segment}
        complete = True
        while True:
            page = request("scan", **page_request)
            keys = [item[KEY]["S"] for item in page.get("Items", [])]
            writes = [write for key in keys for write in deletes(key, [key])]
            if writes and batch_write(request, table, writes):
                complete = False
            if not page.get("LastEvaluatedKey"):
                return complete
            page_request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    if segments == 1:
        return clear_segment(0)
    with ThreadPoolExecutor(segments, thread_name_prefix="serverless-cache-clear") as pool:
        return all(list(pool.map(clear_segment, range(segments))))
