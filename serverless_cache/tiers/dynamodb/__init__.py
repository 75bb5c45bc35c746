"""DynamoDB tier: item layout, batching, settings and the tier, one module each."""

from serverless_cache.tiers.dynamodb.client import DynamoDBConnection, TableMissingError
from serverless_cache.tiers.dynamodb.items import CHUNK_MARK, DEFAULT_TABLE, EXACT, EXPIRES, KEY
from serverless_cache.tiers.dynamodb.settings import DynamoDBSettings
from serverless_cache.tiers.dynamodb.tier import DynamoDBTier

__all__ = [
    "CHUNK_MARK",
    "DEFAULT_TABLE",
    "EXACT",
    "EXPIRES",
    "KEY",
    "DynamoDBConnection",
    "DynamoDBSettings",
    "DynamoDBTier",
    "TableMissingError",
]
