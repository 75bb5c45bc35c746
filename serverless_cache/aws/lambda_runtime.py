"""Lambda runtime helpers: answer warm-up pings, warm the cache tiers, report each invocation.

``lambda_handler = serverless_handler(Mangum(application))`` (or an apig-wsgi or Zappa
handler) returns a handler that

- answers warm-up events itself: Mangum raises RuntimeError and apig-wsgi KeyError on them
  (Zappa's keep-warm is first passed to Zappa, whose callback imports the app, and then the
  tiers are warmed: on its own it keeps the process alive but opens nothing);
- warms every cache tier the process has configured (Django's ``CACHES`` and every backend
  built so far) when it is created, that is during Lambda's init phase while the handler module
  is imported, and again on every warm-up ping; the tiers of different stores are warmed
  concurrently. A real request never waits for warming: one that uses no cache pays nothing,
  and a tier built later connects on its first use;
- counts cold starts versus reuse of the execution context and flushes the cache metrics at
  the end of each invocation (:func:`serverless_cache.metrics.flush_invocation`);
- repairs the cookies of Zappa's responses (:mod:`serverless_cache.aws.zappa`).

Under Lambda SnapStart (``snapshot_restore_py`` importable) an after-restore hook drops pooled
connections, empties the in-process stores (a snapshot's sockets are dead, and its cached data
is as old as the snapshot), reseeds :mod:`random` and warms the tiers again, before the first
invocation and before the app's own hooks (:mod:`serverless_cache.aws.snapstart`).
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from serverless_cache import metrics, registry
from serverless_cache.aws import zappa
from serverless_cache.aws.snapstart import register_hooks
from serverless_cache.tiers.base import Tier
from serverless_cache.tiers.rules import live_tiers

logger = logging.getLogger("serverless_cache")

Handler = Callable[[Any, Any], Any]

#: Events (or client-context ``custom`` dicts) containing all items of one of these are pings.
DEFAULT_WARMUP_MARKERS: tuple[Mapping[str, Any], ...] = (
    {"warmup": True},
    {"source": "serverless-plugin-warmup"},
)
#: Zappa names its keep-warm rule ``<function>-zappa-keep-warm-handler.keep_warm_callback``.
ZAPPA_KEEP_WARM_SUFFIX = "keep_warm_callback"


def _contains(event: Mapping[str, Any], marker: Mapping[str, Any]) -> bool:
    return all(key in event and event[key] == value for key, value in marker.items())


def _client_context_custom(context: Any) -> Mapping[str, Any] | None:
    """``context.client_context.custom`` as Lambda's Python runtime exposes it (or a dict)."""
    client_context = getattr(context, "client_context", None)
    if isinstance(client_context, Mapping):
        custom = client_context.get("custom")
    else:
        custom = getattr(client_context, "custom", None)
    return custom if isinstance(custom, Mapping) else None


def _is_zappa_keep_warm(event: Mapping[str, Any]) -> bool:
    if event.get("detail-type") != "Scheduled Event":
        return False
    resources = event.get("resources")
    if not isinstance(resources, list):
        return False
    return any(isinstance(arn, str) and arn.endswith(ZAPPA_KEEP_WARM_SUFFIX) for arn in resources)


def is_warmup_event(
    event: Any, context: Any = None, *, markers: Iterable[Mapping[str, Any]] = ()
) -> bool:
    """Whether ``event`` is a warm-up ping rather than a request for the app.

    Recognised: ``{"warmup": true}``; serverless-plugin-warmup's ``{"source":
    "serverless-plugin-warmup"}`` in the event or in ``context.client_context.custom``; Zappa's
    keep-warm scheduled event; and any of ``markers`` (dicts whose items must all be present).
    """
    if not isinstance(event, Mapping):
        return False
    all_markers = (*DEFAULT_WARMUP_MARKERS, *markers)
    if any(_contains(event, marker) for marker in all_markers):
        return True
    custom = _client_context_custom(context)
    if custom is not None and any(_contains(custom, marker) for marker in all_markers):
        return True
    return _is_zappa_keep_warm(event)


# -- warming -------------------------------------------------------------------------------
class RuntimeState:
    """Per execution environment: whether the tiers have been warmed (so that wrapping a second
    handler in the same init phase does not warm them again). A registry entry, so SnapStart's
    restore and the tests' reset start it over."""

    def __init__(self) -> None:
        self.warmed = False

    def reset(self) -> None:
        self.warmed = False

    restore = reset


def _runtime() -> RuntimeState:
    return registry.get_or_create("runtime", None, RuntimeState)


def _build_django_caches() -> list[Any]:
    """Django's configured cache backends, built now if Django is set up in this process."""
    if "django.conf" not in sys.modules:
        return []
    from django.conf import settings

    if not settings.configured:
        return []
    from django.core.cache import caches

    backends = []
    for alias in settings.CACHES:
        try:
            backends.append(caches[alias])
        except Exception as exc:  # one unusable alias must not stop the others, or the app
            logger.warning(
                "serverless_cache: cache %r could not be built for warming (%s: %s)",
                alias,
                type(exc).__name__,
                exc,
            )
    return backends


def configured_tiers() -> list[Tier]:
    """Every cache tier of this process: Django's ``CACHES`` and each backend built so far."""
    backends = _build_django_caches()  # keeps the new backends alive while their tiers are read
    tiers = live_tiers()
    del backends
    return tiers


def _warm(tiers: list[Tier]) -> None:
    for tier in tiers:
        try:
            tier.warm()
        except Exception as exc:
            logger.warning(
                "serverless_cache: warming the %s tier failed (%s: %s)",
                tier.kind,
                type(exc).__name__,
                exc,
            )


def warm_tiers() -> list[Tier]:
    """Call ``warm()`` on every configured tier; a failing tier is logged, never raised.

    Network tiers of different kinds (Redis, DynamoDB...) are warmed in parallel threads, so
    warming costs the slowest store's round trip, not the sum; tiers of one kind, which may
    share a client, are warmed one after the other so that they reuse its connection.
    """
    tiers = configured_tiers()
    # A layered cache warms its own tiers (and reads its epoch): warm those through it only.
    inner = {id(part) for tier in tiers for part in getattr(tier, "tiers", ())}
    by_kind: dict[str, list[Tier]] = {}
    for tier in tiers:
        if id(tier) not in inner:
            by_kind.setdefault("" if tier.in_process else tier.kind, []).append(tier)
    _warm(by_kind.pop("", []))  # in-process tiers: nothing to wait for
    threads = [
        threading.Thread(target=_warm, args=(group,), name=f"serverless-cache-warm-{kind}")
        for kind, group in by_kind.items()
    ]
    if len(threads) == 1:
        _warm(next(iter(by_kind.values())))
    else:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    _runtime().warmed = True
    return tiers


# -- the handler wrapper -------------------------------------------------------------------
def serverless_handler(
    handler: Handler, *, warmup_markers: Iterable[Mapping[str, Any]] = (), warm: bool = True
) -> Handler:
    """Wrap a Lambda handler (Mangum, apig-wsgi, Zappa...) for warm-ups, warming and metrics.

    Called at module level, as the examples do, it warms the configured tiers in Lambda's init
    phase (``warm=False`` leaves them to connect on first use). A warm-up event is answered with
    ``{"warmup": True, "cold_start": ..., "tiers": [...]}`` without calling ``handler``.
    ``warmup_markers`` adds event shapes to recognise as pings.
    """
    markers = tuple(warmup_markers)
    if warm and not _runtime().warmed:
        warm_tiers()
    tidy = zappa.tidy_cookies if zappa.is_zappa_handler(handler) else _unchanged

    def lambda_handler(event: Any, context: Any) -> Any:
        warmup = is_warmup_event(event, context, markers=markers)
        reused = metrics.begin_invocation()
        try:
            if warmup:
                if _is_zappa_keep_warm(event):
                    _let_zappa_load_the_app(handler, event, context)
                kinds = sorted({tier.kind for tier in warm_tiers()})
                return {"warmup": True, "cold_start": not reused, "tiers": kinds}
            return tidy(handler(event, context))
        finally:
            metrics.flush_invocation(warmup=warmup)

    functools.update_wrapper(lambda_handler, handler, updated=())
    return lambda_handler


def _unchanged(response: Any) -> Any:
    return response


def _let_zappa_load_the_app(handler: Handler, event: Any, context: Any) -> None:
    """Zappa's keep-warm is what imports the app in a new environment: let Zappa do it first.

    Zappa answers the event itself (its callback imports the app and returns), after which the
    app's cache backends exist and can be warmed.
    """
    try:
        handler(event, context)
    except Exception as exc:
        logger.warning(
            "serverless_cache: the wrapped handler failed on Zappa's keep-warm (%s: %s)",
            type(exc).__name__,
            exc,
        )


# -- SnapStart (serverless_cache.aws.snapstart) -------------------------------------------
SNAPSTART_HOOKS_REGISTERED = register_hooks()
