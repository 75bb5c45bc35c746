"""Lambda events and a context object, shaped as AWS sends them to the function.

Used by the fleet simulation and the tests: API Gateway REST (v1) and HTTP (v2) APIs, an
Application Load Balancer, a Function URL, and the warm-up pings of the usual tools.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

_request_ids = itertools.count(1)
_HEADERS = {"accept": "*/*", "host": "example.execute-api.us-east-1.amazonaws.com"}


def _split(path: str) -> tuple[str, str]:
    path, _, query = path.partition("?")
    return path, query


def _query_dict(query: str) -> dict[str, str] | None:
    if not query:
        return None
    return dict(part.partition("=")[::2] for part in query.split("&"))


def apigw_v1(
    path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A REST API (payload 1.0) proxy integration event."""
    path, query = _split(path)
    all_headers = {**_HEADERS, **(headers or {})}
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": _query_dict(query),
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": f"req-{next(_request_ids)}",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "fleet"},
            "requestTimeEpoch": int(time.time() * 1000),
        },
        "body": None,
        "isBase64Encoded": False,
    }


def apigw_v2(
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    *,
    domain: str = "example.execute-api.us-east-1.amazonaws.com",
    route_key: str = "$default",
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event."""
    path, query = _split(path)
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": {**_HEADERS, "host": domain, **(headers or {})},
        "queryStringParameters": _query_dict(query),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": domain.split(".")[0],
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "fleet",
            },
            "requestId": f"req-{next(_request_ids)}",
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }


def function_url(path: str, method: str = "GET") -> dict[str, Any]:
    """A Lambda Function URL event (payload 2.0 on a ``lambda-url`` domain)."""
    return apigw_v2(path, method, domain="abcdefghij.lambda-url.us-east-1.on.aws")


def alb(path: str, method: str = "GET", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An Application Load Balancer target group event (multi-value headers off)."""
    path, query = _split(path)
    return {
        "requestContext": {
            "elb": {
                "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                "targetgroup/example/0123456789abcdef"
            }
        },
        "httpMethod": method,
        "path": path,
        "queryStringParameters": _query_dict(query) or {},
        "headers": {
            **_HEADERS,
            "host": "example-alb.us-east-1.elb.amazonaws.com",
            **(headers or {}),
        },
        "body": "",
        "isBase64Encoded": False,
    }


#: The warm-up pings of the usual tools, by name.
WARMUP_EVENTS: dict[str, dict[str, Any]] = {
    "warmup-flag": {"warmup": True},
    "serverless-plugin-warmup": {"source": "serverless-plugin-warmup"},
    "zappa-keep-warm": {
        "version": "0",
        "id": "0c3a6e4f-6b0b-4c59-8d9a-3c1d2f0c1a55",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2024-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [
            "arn:aws:events:us-east-1:123456789012:rule/"
            "example-production-zappa-keep-warm-handler.keep_warm_callback"
        ],
        "detail": {},
    },
}


@dataclass
class ClientContext:
    """``context.client_context`` as Lambda's Python runtime builds it."""

    custom: dict[str, Any] | None = None
    env: dict[str, Any] | None = None
    client: Any = None


@dataclass
class LambdaContext:
    """The attributes of Lambda's Python context object that handlers read."""

    function_name: str = "example"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: f"ctx-{next(_request_ids)}")
    client_context: ClientContext | None = None
    deadline: float = field(default_factory=lambda: time.time() + 30)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


def plugin_warmup_context() -> LambdaContext:
    """The context serverless-plugin-warmup invokes with (its marker in ``custom``)."""
    return LambdaContext(
        client_context=ClientContext(custom={"source": "serverless-plugin-warmup"})
    )
