"""The Lambda Web Adapter and Lambda Managed Instances: ASGI and WSGI middlewares.

Behind the Lambda Web Adapter a function runs an ordinary web server (uvicorn, gunicorn) and
the adapter turns each invocation into an HTTP request: there is no handler to wrap with
:func:`~serverless_cache.aws.serverless_handler`. ``CacheASGIMiddleware(app)`` and
``CacheWSGIMiddleware(app)`` give the app the same:

- warming when the middleware is built, that is while the server imports the app (the
  environment's init), once per process;
- warm-up pings: the adapter POSTs the events that are not HTTP requests (an EventBridge
  keep-warm, serverless-plugin-warmup's) to its pass-through path (``AWS_LWA_PASS_THROUGH_PATH``,
  default ``/events``); a warm-up event there is answered here, the tiers warmed, and never
  reaches the app (any other event does, body intact);
- readiness: the adapter polls ``AWS_LWA_READINESS_CHECK_PATH`` before it sends the first
  request; when that path is set (or ``readiness_path`` given), the middleware answers it
  itself, without the app, the database or a cache lookup;
- the metrics flush at the end of each request. Under Managed Instances, several requests
  run at once in one process: a flush then reports what the process did since the last one;
- SnapStart: the after-restore hook is registered when the first backend is built, as for
  every other entry point.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from http import HTTPStatus
from typing import Any

from serverless_cache import metrics
from serverless_cache.aws.lambda_runtime import _runtime, is_warmup_event, warm_tiers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Rules:
    """What the adapter's requests mean, whichever server interface carries them."""

    def __init__(
        self,
        *,
        warm: bool,
        warmup_markers: Iterable[Mapping[str, Any]],
        pass_through_path: str | None,
        readiness_path: str | None,
    ) -> None:
        self.markers = tuple(warmup_markers)
        self.pass_through_path = pass_through_path or os.environ.get(
            "AWS_LWA_PASS_THROUGH_PATH", "/events"
        )
        self.readiness_path = readiness_path or os.environ.get("AWS_LWA_READINESS_CHECK_PATH")
        if warm and not _runtime().warmed:
            warm_tiers()

    def needs_body(self, method: str, path: str) -> bool:
        return method == "POST" and path == self.pass_through_path

    def is_readiness_check(self, method: str, path: str) -> bool:
        return method in ("GET", "HEAD") and path == self.readiness_path

    def warmup(self, method: str, path: str, body: bytes) -> bool:
        if not self.needs_body(method, path):
            return False
        try:
            event = json.loads(body or b"null")
        except ValueError:
            return False
        return is_warmup_event(event, markers=self.markers)

    @staticmethod
    def answer_warmup() -> bytes:
        reused = metrics.begin_invocation()
        try:
            kinds = sorted({tier.kind for tier in warm_tiers()})
            return json.dumps({"warmup": True, "cold_start": not reused, "tiers": kinds}).encode()
        finally:
            metrics.flush_invocation(warmup=True)


READY = json.dumps({"ready": True}).encode()


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


class CacheASGIMiddleware:
    """``application = CacheASGIMiddleware(get_asgi_application())`` (uvicorn, hypercorn)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        warm: bool = True,
        warmup_markers: Iterable[Mapping[str, Any]] = (),
        pass_through_path: str | None = None,
        readiness_path: str | None = None,
    ) -> None:
        self.app = app
        self.rules = _Rules(
            warm=warm,
            warmup_markers=warmup_markers,
            pass_through_path=pass_through_path,
            readiness_path=readiness_path,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if self.rules.is_readiness_check(method, path):
            await _send_json(send, 200, READY)
            return
        if self.rules.needs_body(method, path):
            body, receive = await _buffered(receive)
            if self.rules.warmup(method, path, body):
                await _send_json(send, 200, await asyncio.to_thread(self.rules.answer_warmup))
                return
        metrics.begin_invocation()
        try:
            await self.app(scope, receive, send)
        finally:
            metrics.flush_invocation()


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body; return it and a ``receive`` that replays it."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            break
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return body, replay


async def _send_json(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class CacheWSGIMiddleware:
    """``app.wsgi_app = CacheWSGIMiddleware(app.wsgi_app)`` (Flask under gunicorn)."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        warm: bool = True,
        warmup_markers: Iterable[Mapping[str, Any]] = (),
        pass_through_path: str | None = None,
        readiness_path: str | None = None,
    ) -> None:
        self.app = app
        self.rules = _Rules(
            warm=warm,
            warmup_markers=warmup_markers,
            pass_through_path=pass_through_path,
            readiness_path=readiness_path,
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if self.rules.is_readiness_check(method, path):
            return _json_reply(start_response, READY)
        if self.rules.needs_body(method, path):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            if self.rules.warmup(method, path, body):
                return _json_reply(start_response, self.rules.answer_warmup())
        metrics.begin_invocation()
        try:
            response = self.app(environ, start_response)
        except BaseException:
            metrics.flush_invocation()
            raise
        return _FlushWhenClosed(response)


def _json_reply(start_response: Callable[..., Any], body: bytes) -> list[bytes]:
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(_status_line(200), headers)
    return [body]


class _FlushWhenClosed:
    """The app's response; the invocation's metrics are flushed when the server closes it,
    after the last byte (PEP 3333: the server always calls ``close()``)."""

    def __init__(self, response: Iterable[bytes]) -> None:
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.response)

    def close(self) -> None:
        try:
            close = getattr(self.response, "close", None)
            if callable(close):
                close()
        finally:
            metrics.flush_invocation()
