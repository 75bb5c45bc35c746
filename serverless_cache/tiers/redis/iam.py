"""ElastiCache IAM authentication (Redis OSS 7+, Valkey 7.2+): each new connection sends AUTH
with a SigV4-presigned token made from the function's role, instead of a password in settings.

The token is the presigned ``GET https://<cache name>/?Action=connect&User=<user id>`` (with
``ResourceType=ServerlessCache`` for ElastiCache Serverless), signed for the ``elasticache``
service, without its ``https://``. It is valid for 15 minutes: it is made once and reused for
``RENEW_AFTER`` seconds, so every connection opened later presents a fresh one. ElastiCache
closes IAM connections after 12 hours; :class:`IamConnection` replaces a pooled connection
before that, when it is handed out. botocore is imported when the first token is made.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

from serverless_cache import clock
from serverless_cache.errors import ConfigurationError

if TYPE_CHECKING:
    from redis.connection import SSLConnection
else:
    SSLConnection = object

#: How long AWS accepts a token, and when this library makes the next one (seconds).
TOKEN_LIFETIME: Final = 900
RENEW_AFTER: Final = 600
#: ElastiCache closes a connection authenticated with IAM after 12 hours; replace it earlier.
MAX_CONNECTION_AGE: Final = 12 * 3600 - 300


def region_of(configured: str | None) -> str:
    """The region of the cache: the option, else the function's (AWS_REGION on Lambda)."""
    region = configured or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigurationError(
            "option IAM_AUTH needs the cache's region: set IAM_REGION, or AWS_REGION"
        )
    return region


class IamTokenProvider:
    """redis-py's credential provider: ``(user id, token)``, the token renewed before expiry.

    ``credentials`` returns botocore credentials (default: the session's, which on Lambda are
    the function role's and refresh themselves); ``now`` is epoch seconds.
    """

    def __init__(
        self,
        user_id: str,
        cache_name: str,
        region: str,
        *,
        serverless: bool = False,
        credentials: Callable[[], Any] | None = None,
        now: Callable[[], float] = clock.time,
    ) -> None:
        self.user_id = user_id
        self.cache_name = cache_name.lower()
        self.region = region
        self.serverless = serverless
        self._credentials = credentials or _session_credentials
        self._now = now
        self._lock = threading.Lock()
        self._token = ""
        self._made_at = -float("inf")
        #: Tokens made so far (each one signs a new 15-minute window).
        self.tokens_made = 0

    def __repr__(self) -> str:
        return f"<IamTokenProvider user={self.user_id!r} cache={self.cache_name!r}>"

    def get_credentials(self) -> tuple[str, str]:
        with self._lock:
            now = self._now()
            if now - self._made_at >= RENEW_AFTER:
                self._token = self.token_at(now)
                self._made_at = now
                self.tokens_made += 1
            return self.user_id, self._token

    async def get_credentials_async(self) -> tuple[str, str]:
        return self.get_credentials()

    def token_at(self, now: float) -> str:
        """The token signed at ``now`` (epoch seconds), valid for ``TOKEN_LIFETIME``."""
        from botocore.auth import SIGV4_TIMESTAMP, SigV4QueryAuth
        from botocore.awsrequest import AWSRequest

        credentials = self._credentials()
        if credentials is None:
            raise ConfigurationError(
                "IAM_AUTH found no AWS credentials: give the function a role (or set "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) allowed elasticache:Connect"
            )
        query = {"Action": "connect", "User": self.user_id}
        if self.serverless:
            query["ResourceType"] = "ServerlessCache"
        request = AWSRequest("GET", f"https://{self.cache_name}/?{urlencode(query)}")
        signed_at = dt.datetime.fromtimestamp(now, dt.timezone.utc)
        request.context["timestamp"] = signed_at.strftime(SIGV4_TIMESTAMP)
        signer = SigV4QueryAuth(credentials, "elasticache", self.region, expires=TOKEN_LIFETIME)
        # SigV4QueryAuth.add_auth would read the wall clock; these are its steps at ``now``.
        signer._modify_request_before_signing(request)
        canonical = signer.canonical_request(request)
        signature = signer.signature(signer.string_to_sign(request, canonical), request)
        signer._inject_signature_to_request(request, signature)
        url: str = request.url
        return url.removeprefix("https://")


def _session_credentials() -> Any:
    import botocore.session

    credentials = botocore.session.get_session().get_credentials()
    return None if credentials is None else credentials.get_frozen_credentials()


@functools.cache
def iam_connection_class() -> type[SSLConnection]:
    """An SSLConnection that is replaced when handed out after ``MAX_CONNECTION_AGE``."""
    from redis.connection import SSLConnection

    class IamConnection(SSLConnection):
        connected_at = 0.0

        def _connect(self) -> Any:
            sock = super()._connect()  # type: ignore[no-untyped-call]
            self.connected_at = clock.monotonic()
            return sock

        def connect(self) -> None:
            if self._sock is not None and clock.monotonic() - self.connected_at >= (
                MAX_CONNECTION_AGE
            ):
                self.disconnect()
            super().connect()  # type: ignore[no-untyped-call]

    return IamConnection
