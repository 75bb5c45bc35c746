"""The DynamoDB tier's client: one boto3 client per configuration, and what its errors mean.

botocore's own retries are off (``total_max_attempts`` 1): an UpdateItem ADD or a conditional
PutItem whose answer was late or lost must not be sent again blindly; the tier's guard retries
idempotent calls only (see :mod:`serverless_cache.resilience`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from serverless_cache.errors import CacheUnavailableError, ConfigurationError, install_hint
from serverless_cache.resilience import CircuitBreaker, Fault
from serverless_cache.tiers.dynamodb.settings import DynamoDBSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CREATE_HINT: Final = (
    "create it once, outside request handling: `serverless-cache create-table --table-name {table}`"
    ", `python manage.py create_dynamodb_cache_table`, or deploy the resource printed by "
    "`serverless-cache create-table --print-template`"
)
#: Error codes of a DynamoDB that answered: the request was wrong, the service is fine.
ANSWERED_CODES: Final = frozenset(
    {
        "ValidationException",
        "ConditionalCheckFailedException",
        "ItemCollectionSizeLimitExceededException",
        "TransactionConflictException",
        "SerializationException",
    }
)


class TableMissingError(CacheUnavailableError):
    """The cache table does not exist; the message says how to create it."""


class ConditionFailed(Exception):
    """A conditional write found the item in a state that does not allow it."""


class DynamoDBConnection:
    """A boto3 client and its circuit breaker: one per client configuration per process."""

    def __init__(self, settings: DynamoDBSettings, breaker: CircuitBreaker) -> None:
        try:
            import boto3
            from botocore.config import Config
            from botocore.exceptions import ClientError
        except ImportError:
            raise ConfigurationError(
                f"the DynamoDB tier needs boto3: {install_hint('dynamodb')}"
            ) from None
        config = Config(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries={"mode": "standard", "total_max_attempts": 1},
            tcp_keepalive=True,
            max_pool_connections=max(10, settings.clear_segments),
        )
        self.client: DynamoDBClient = boto3.session.Session().client(
            "dynamodb",
            region_name=settings.region(),
            endpoint_url=settings.endpoint_url,
            config=config,
        )
        self.client_error: type[Exception] = ClientError
        self.breaker = breaker

    def close(self) -> None:
        self.client.close()

    def request(self, table: str, method: str, **kwargs: Any) -> dict[str, Any]:
        """One DynamoDB call, with a missing table and a failed condition made explicit."""
        try:
            response: dict[str, Any] = getattr(self.client, method)(**kwargs)
        except self.client_error as exc:
            code = exc.response.get("Error", {}).get("Code")  # type: ignore[attr-defined]
            if code == "ConditionalCheckFailedException":
                raise ConditionFailed from None
            if code == "ResourceNotFoundException":
                raise TableMissingError(
                    f"DynamoDB table {table!r} does not exist; " + CREATE_HINT.format(table=table)
                ) from None
            raise
        return response


def classify(exc: BaseException) -> Fault | None:
    """What a DynamoDB exception means for the caller, the breaker and a retry."""
    from botocore import exceptions as errors

    if isinstance(exc, TableMissingError):
        return Fault.FAILED
    if isinstance(exc, errors.ClientError):
        error = exc.response.get("Error", {})
        if error.get("Code") in ANSWERED_CODES:
            return Fault.ANSWERED
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return Fault.DROPPED if status >= 500 else Fault.FAILED
    if isinstance(exc, errors.ReadTimeoutError | errors.ConnectTimeoutError):
        return Fault.FAILED
    if isinstance(exc, errors.ConnectionClosedError | errors.EndpointConnectionError):
        return Fault.DROPPED
    if isinstance(exc, errors.BotoCoreError | OSError):
        return Fault.FAILED
    return None
