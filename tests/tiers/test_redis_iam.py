"""ElastiCache IAM authentication and Serverless settings of the Redis tier.

The token is checked against SigV4 computed here from its specification, with fixed
credentials and a fixed instant; the connection behaviour against a real TLS redis-server whose
ACL user's password the tests rotate to the current token. Not testable without AWS: that
ElastiCache accepts the token (only its form and signature are checked here).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import redis
from botocore.credentials import Credentials

from serverless_cache import clock
from serverless_cache.errors import ConfigurationError
from serverless_cache.tiers.redis import RedisTier
from serverless_cache.tiers.redis.iam import (
    MAX_CONNECTION_AGE,
    RENEW_AFTER,
    TOKEN_LIFETIME,
    IamTokenProvider,
)
from tests.fixtures.redis_servers import RedisServer
from tests.tiers.build import redis_tier

FIXED = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")
INSTANT = dt.datetime(2026, 3, 1, 12, 30, 5, tzinfo=dt.timezone.utc).timestamp()


def expected_signature(token: str, secret: str, region: str) -> str:
    """SigV4 of a presigned GET, from the specification, for the token's own query."""
    parts = urlsplit("https://" + token)
    params = [(k, v) for k, v in parse_qsl(parts.query) if k != "X-Amz-Signature"]
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params)
    )
    canonical = "\n".join(
        [
            "GET",
            "/",
            canonical_query,
            f"host:{parts.netloc}",
            "",
            "host",
            hashlib.sha256().hexdigest(),
        ]
    )
    stamp = dict(params)["X-Amz-Date"]
    scope = f"{stamp[:8]}/{region}/elasticache/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret).encode()
    for part in (stamp[:8], region, "elasticache", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_token_is_a_presigned_connect_url_without_its_scheme() -> None:
    provider = IamTokenProvider("app-user", "My-Cache", "eu-west-1", credentials=lambda: FIXED)
    token = provider.token_at(INSTANT)
    assert not token.startswith("https://")
    parts = urlsplit("https://" + token)
    assert (parts.netloc, parts.path) == ("my-cache", "/")
    query = dict(parse_qsl(parts.query))
    assert query["Action"] == "connect" and query["User"] == "app-user"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Credential"] == "AKIDEXAMPLE/20260301/eu-west-1/elasticache/aws4_request"
    assert query["X-Amz-Date"] == "20260301T123005Z"
    assert query["X-Amz-Expires"] == str(TOKEN_LIFETIME) == "900"
    assert query["X-Amz-SignedHeaders"] == "host"
    assert query["X-Amz-Security-Token"] == "session-token"
    assert "ResourceType" not in query
    assert query["X-Amz-Signature"] == expected_signature(token, FIXED.secret_key, "eu-west-1")
    assert provider.token_at(INSTANT) == token  # a function of the instant and credentials
    assert provider.token_at(INSTANT + 1) != token


def test_serverless_token_names_the_resource_type() -> None:
    provider = IamTokenProvider(
        "app-user", "my-cache", "us-east-1", serverless=True, credentials=lambda: FIXED
    )
    token = provider.token_at(INSTANT)
    assert dict(parse_qsl(urlsplit("https://" + token).query))["ResourceType"] == "ServerlessCache"
    assert dict(parse_qsl(urlsplit("https://" + token).query))["X-Amz-Signature"] == (
        expected_signature(token, FIXED.secret_key, "us-east-1")
    )


def test_token_is_reused_then_renewed_before_it_expires() -> None:
    now = [INSTANT]
    provider = IamTokenProvider(
        "app-user", "my-cache", "us-east-1", credentials=lambda: FIXED, now=lambda: now[0]
    )
    user, first = provider.get_credentials()
    assert user == "app-user"
    now[0] += RENEW_AFTER - 1
    assert provider.get_credentials()[1] == first
    now[0] += 1
    second = provider.get_credentials()[1]
    assert second != first and provider.tokens_made == 2
    assert RENEW_AFTER < TOKEN_LIFETIME  # a token handed out is never older than 10 of its 15 min


def test_no_credentials_is_a_clear_error() -> None:
    provider = IamTokenProvider("u", "c", "us-east-1", credentials=lambda: None)
    with pytest.raises(ConfigurationError, match="role"):
        provider.get_credentials()


@pytest.mark.parametrize(
    ("location", "options", "message"),
    [
        ("rediss://h:6379", {"iam_auth": True, "iam_cache_name": "c"}, "USERNAME"),
        (
            "rediss://h:6379",
            {"iam_auth": True, "iam_cache_name": "c", "username": "u", "password": "p"},
            "no PASSWORD",
        ),
        ("rediss://h:6379", {"iam_auth": True, "username": "u"}, "IAM_CACHE_NAME"),
        (
            "redis://h:6379",
            {"iam_auth": True, "username": "u", "iam_cache_name": "c", "iam_region": "r"},
            "rediss://",
        ),
        ("redis://h:6379", {"serverless": True}, "rediss://"),
        ("rediss://h:6379", {"iam_auth": "yes"}, "IAM_AUTH"),
    ],
)
def test_bad_iam_configuration_names_the_problem(
    location: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        redis_tier(location, options)


def test_region_comes_from_the_function_when_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    options = {"iam_auth": True, "username": "u", "iam_cache_name": "c"}
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert redis_tier("rediss://h:6379", options).settings.iam_region == "ap-south-1"
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(ConfigurationError, match="IAM_REGION"):
        redis_tier("rediss://h:6379", options)


def test_serverless_is_always_a_cluster() -> None:
    tier = redis_tier(
        "rediss://my-cache.serverless.use1.cache.amazonaws.com:6379", {"serverless": True}
    )
    assert tier.settings.cluster_mode
    assert "cluster" in repr(tier.client)


# -- against a real TLS server whose ACL user's password is the current token ----------------
@pytest.fixture
def iam_tier(
    redis_tls_server: tuple[RedisServer, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RedisTier, redis.Redis]]:
    server, ca_file = redis_tls_server
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FIXED.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FIXED.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", FIXED.token)
    admin = server.client(ssl=True, ssl_ca_certs=str(ca_file))
    options = {
        "iam_auth": True,
        "username": "iam-user",
        "iam_cache_name": "my-cache",
        "iam_region": "us-east-1",
        "ssl_ca_certs": str(ca_file),
        "fail_open": False,
    }
    tier = redis_tier(server.url, options)
    yield tier, admin
    admin.acl_deluser("iam-user")


def accept_only(admin: redis.Redis, *tokens: str) -> None:
    admin.acl_setuser(
        "iam-user", enabled=True, reset_passwords=True, passwords=[f"+{t}" for t in tokens],
        keys=["*"], commands=["+@all"],
    )  # fmt: skip


def test_every_new_connection_presents_the_current_token(
    iam_tier: tuple[RedisTier, redis.Redis],
) -> None:
    tier, admin = iam_tier
    assert tier.client.tokens is not None
    first = tier.client.tokens.get_credentials()[1]
    accept_only(admin, first)
    assert tier.set("k", 1, None)
    assert tier.client.tokens.tokens_made == 1
    clock.advance(RENEW_AFTER)
    second = tier.client.tokens.get_credentials()[1]
    assert second != first
    accept_only(admin, second)  # rotate: the old token no longer opens a connection
    admin.client_kill_filter(_type="normal", skipme=True)
    assert tier.get("k") == 1  # a new connection, authenticated with the new token
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(
            host="127.0.0.1",
            port=tier.client.primary().connection_pool.connection_kwargs["port"],
            ssl=True,
            ssl_ca_certs=tier.settings.ssl_ca_certs,
            username="iam-user",
            password=first,
        ).ping()


def test_a_connection_older_than_twelve_hours_is_replaced(
    iam_tier: tuple[RedisTier, redis.Redis],
) -> None:
    tier, admin = iam_tier
    assert tier.client.tokens is not None
    accept_only(admin, tier.client.tokens.get_credentials()[1])
    primary = tier.client.primary()
    before = primary.client_id()
    assert primary.client_id() == before  # pooled: the same connection
    clock.advance(MAX_CONNECTION_AGE)
    accept_only(admin, tier.client.tokens.get_credentials()[1])
    after = primary.client_id()
    assert after != before
    assert tier.client.tokens.tokens_made == 2
