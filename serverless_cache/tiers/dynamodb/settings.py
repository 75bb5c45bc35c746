"""Options of the DynamoDB tier, checked when the configuration is parsed.

A typo in the endpoint or a missing region would otherwise surface on every request (and
rebuild the boto3 client each time): both are a ConfigurationError here, before boto3 loads.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from serverless_cache.errors import ConfigurationError
from serverless_cache.options import require_int, require_number
from serverless_cache.tiers.dynamodb.items import CHUNK_BYTES, DEFAULT_TABLE, MAX_CHUNKS


@dataclass(frozen=True)
class DynamoDBSettings:
    """Table, client and size options of the DynamoDB tier."""

    table_name: str = DEFAULT_TABLE
    region_name: str | None = None
    endpoint_url: str | None = None
    connect_timeout: float = 1.0
    read_timeout: float = 1.0
    consistent_read: bool = False
    max_value_bytes: int = 4 * 1024 * 1024
    clear_segments: int = 4
    scan_page_size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.table_name, str) or not 3 <= len(self.table_name) <= 255:
            raise ConfigurationError(
                f"option TABLE_NAME (or LOCATION) must be a DynamoDB table name of 3 to 255 "
                f"characters, got {self.table_name!r}"
            )
        for name in ("region_name", "endpoint_url"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ConfigurationError(f"option {name.upper()} must be a string or None")
        if self.endpoint_url is not None:
            parts = urlsplit(self.endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigurationError(
                    "option ENDPOINT_URL must be an http:// or https:// URL with a host, such "
                    f"as 'http://localhost:8000', got {self.endpoint_url!r}"
                )
        if self.region() is None:
            raise ConfigurationError(
                "the DynamoDB cache needs a region: set the REGION_NAME option, or AWS_REGION "
                "in the environment (Lambda sets it)"
            )
        require_number("connect_timeout", self.connect_timeout, minimum=0.001)
        require_number("read_timeout", self.read_timeout, minimum=0.001)
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

    def region(self) -> str | None:
        """The region boto3 will use: the option, the environment, or the AWS config file."""
        found = (
            self.region_name or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        )
        if found:
            return found
        path = Path(os.environ.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config")
        profile = os.environ.get("AWS_PROFILE") or "default"
        parser = configparser.ConfigParser()
        try:
            parser.read(path)
        except configparser.Error:
            return None
        section = profile if profile == "default" else f"profile {profile}"
        return parser.get(section, "region", fallback=None)

    def client_key(self) -> tuple[Any, ...]:
        """What makes two clients different; tiers with equal keys share one client."""
        return (self.region(), self.endpoint_url, self.connect_timeout, self.read_timeout)
