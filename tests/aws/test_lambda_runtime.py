"""The Lambda runtime wrapper through the real Mangum and apig-wsgi handlers of the example apps."""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest
from django.core.signals import request_started as django_request_started
from flask import request_started as flask_request_started

from example_project import cache_config, database, events
from serverless_cache import metrics, registry
from serverless_cache.aws import (
    is_warmup_event,
    lambda_runtime,
    serverless_handler,
    snapstart,
    warm_tiers,
)
from serverless_cache.codec import Codec
from serverless_cache.tiers.config import TierConfig
from serverless_cache.tiers.memory import MemorySettings, MemoryTier
from tests.tiers.build import SHARED, layered_tier

if TYPE_CHECKING:
    from mangum.types import LambdaContext as MangumContext

Handler = Callable[[Any, Any], Any]
HTTP_SHAPES = {
    "apigw-v1": events.apigw_v1,
    "apigw-v2": events.apigw_v2,
    "alb": events.alb,
    "function-url": events.function_url,
}


class WarmRecordingTier(MemoryTier):
    """A memory tier that records ``warm()`` calls, standing in for a network tier's PING."""

    kind = "recording"

    def __init__(self) -> None:
        super().__init__(TierConfig("rec", "recording"), MemorySettings(), Codec())
        self.warm_calls = 0

    def warm(self) -> None:
        self.warm_calls += 1


def test_each_test_starts_as_a_fresh_execution_environment() -> None:
    """The registry's reset (tests/conftest.py) starts the runtime state over, as a restore does."""
    assert not lambda_runtime._runtime().warmed
    assert not metrics.context_reused()


@pytest.fixture
def django_handler(settings: Any) -> Handler:
    settings.ROOT_URLCONF = "example_project.django_app.urls"
    from example_project.django_app import settings as example_settings

    settings.CACHES = example_settings.CACHES
    from example_project.django_app.handler import lambda_handler

    return lambda_handler


@pytest.fixture
def flask_handler() -> Handler:
    from example_project.flask_app.app import app, cache
    from example_project.flask_app.handler import lambda_handler

    cache.init_app(app)  # a backend on this test's registry, as in a new environment
    return lambda_handler


@pytest.fixture(params=["django", "flask"])
def app_handler(
    request: pytest.FixtureRequest, django_handler: Handler, flask_handler: Handler
) -> tuple[str, Handler]:
    return request.param, django_handler if request.param == "django" else flask_handler


@pytest.fixture
def app_requests() -> Iterator[list[str]]:
    """Paths of the requests that reached Django or Flask, through their own signals."""
    seen: list[str] = []

    def on_django(sender: Any, **kwargs: Any) -> None:
        seen.append("django")

    def on_flask(sender: Any, **kwargs: Any) -> None:
        if sender.import_name.startswith("example_project"):  # not moto's server, also Flask
            seen.append("flask")

    django_request_started.connect(on_django)
    flask_request_started.connect(on_flask)
    yield seen
    django_request_started.disconnect(on_django)
    flask_request_started.disconnect(on_flask)


# -- recognising warm-ups ------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(events.WARMUP_EVENTS))
def test_each_warmup_shape_is_recognised(name: str) -> None:
    assert is_warmup_event(events.WARMUP_EVENTS[name], events.LambdaContext())


def test_plugin_warmup_marker_in_client_context_is_recognised() -> None:
    assert is_warmup_event({}, events.plugin_warmup_context())
    custom = events.LambdaContext(client_context=events.ClientContext(custom={"warmup": True}))
    assert is_warmup_event({"body": None}, custom)
    assert not is_warmup_event({}, events.LambdaContext(client_context=events.ClientContext()))


@pytest.mark.parametrize("shape", sorted(HTTP_SHAPES))
def test_http_events_are_not_warmups(shape: str) -> None:
    assert not is_warmup_event(HTTP_SHAPES[shape]("/products/1"), events.LambdaContext())


def test_other_scheduled_events_and_non_mappings_are_not_warmups() -> None:
    scheduled = dict(events.WARMUP_EVENTS["zappa-keep-warm"])
    scheduled["resources"] = ["arn:aws:events:us-east-1:1:rule/nightly-report"]
    assert not is_warmup_event(scheduled)
    assert not is_warmup_event({"warmup": False})
    assert not is_warmup_event(["warmup"])
    assert not is_warmup_event(None)


def test_configurable_markers() -> None:
    ping = {"source": "my-scheduler", "action": "ping"}
    assert not is_warmup_event(ping)
    assert is_warmup_event(ping, markers=[{"action": "ping"}])
    assert not is_warmup_event({"action": "pong"}, markers=[{"action": "ping"}])

    calls: list[Any] = []
    handler = serverless_handler(lambda event, context: calls.append(event), warmup_markers=[ping])
    assert handler(ping, events.LambdaContext())["warmup"] is True
    assert calls == []


# -- warm-ups through the real handlers ----------------------------------------------------
@pytest.mark.parametrize("via", [*sorted(events.WARMUP_EVENTS), "plugin-client-context"])
def test_warmup_is_answered_without_the_app_and_warms_the_tiers(
    via: str, app_handler: tuple[str, Handler], app_requests: list[str]
) -> None:
    _, handler = app_handler
    recording = WarmRecordingTier()
    if via == "plugin-client-context":
        event, context = {}, events.plugin_warmup_context()
    else:
        event, context = events.WARMUP_EVENTS[via], events.LambdaContext()
    queries = database.calls

    response = handler(event, context)

    assert response["warmup"] is True
    assert {"memory", "recording"} <= set(response["tiers"])
    assert app_requests == []
    assert database.calls == queries
    assert recording.warm_calls == 1
    handler(event, context)  # every ping warms again: connections stay fresh
    assert recording.warm_calls == 2


def test_warmup_builds_django_caches(django_handler: Handler) -> None:
    from django.core.cache import caches

    response = django_handler(events.WARMUP_EVENTS["warmup-flag"], events.LambdaContext())
    assert "memory" in response["tiers"]
    assert [type(c).__name__ for c in caches.all(initialized_only=True)] == [
        "ExecutionContextCache"
    ]


def test_tiers_are_warmed_at_init_and_never_inside_a_request() -> None:
    configured = WarmRecordingTier()
    handler = serverless_handler(lambda event, context: "served")  # the handler module's import
    assert configured.warm_calls == 1
    built_later = WarmRecordingTier()
    for _ in range(3):
        assert handler(events.apigw_v2("/products/1"), events.LambdaContext()) == "served"
    assert (configured.warm_calls, built_later.warm_calls) == (1, 0)  # connects on first use
    handler(events.WARMUP_EVENTS["warmup-flag"], events.LambdaContext())
    assert (configured.warm_calls, built_later.warm_calls) == (2, 1)


def test_real_handlers_do_not_warm_inside_requests(app_handler: tuple[str, Handler]) -> None:
    _, handler = app_handler
    recording = WarmRecordingTier()
    for _ in range(3):
        assert handler(events.apigw_v2("/products/1"), events.LambdaContext())["statusCode"] == 200
    assert recording.warm_calls == 0


def test_warm_false_leaves_the_tiers_to_their_first_use() -> None:
    recording = WarmRecordingTier()
    serverless_handler(lambda event, context: "served", warm=False)
    assert recording.warm_calls == 0


def test_stores_of_different_kinds_are_warmed_concurrently() -> None:
    both_waiting = threading.Barrier(2, timeout=30)

    class Network(WarmRecordingTier):
        in_process = False

        def warm(self) -> None:
            both_waiting.wait()  # returns only when the other kind is being warmed too
            self.warm_calls += 1

    class RedisLike(Network):
        kind = "redis-like"

    class DynamoLike(Network):
        kind = "dynamo-like"

    redis_like, dynamo_like = RedisLike(), DynamoLike()
    warm_tiers()
    assert (redis_like.warm_calls, dynamo_like.warm_calls) == (1, 1)
    assert not both_waiting.broken


def test_a_failing_tier_does_not_break_warmup() -> None:
    class Broken(WarmRecordingTier):
        def warm(self) -> None:
            raise ConnectionError("store down")

    broken = Broken()
    assert broken in warm_tiers()


# -- requests through the real handlers ----------------------------------------------------
def _header(response: dict[str, Any], name: str) -> list[str]:
    """Values of header ``name`` in a Lambda proxy response (single- or multi-value form)."""
    found = []
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name:
            found.append(value)
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name:
            found.extend(values)
    return found


@pytest.mark.parametrize("shape", sorted(HTTP_SHAPES))
@pytest.mark.parametrize("path", ["/products/42", "/pages/42"])
def test_http_events_reach_the_app_hit_the_cache_and_carry_edge_headers(
    shape: str, path: str, app_handler: tuple[str, Handler], app_requests: list[str]
) -> None:
    name, handler = app_handler
    queries = database.calls
    first = handler(HTTP_SHAPES[shape](path), events.LambdaContext())
    after_first = metrics.last_report()
    second = handler(HTTP_SHAPES[shape](path), events.LambdaContext())
    after_second = metrics.last_report()

    assert first["statusCode"] == second["statusCode"] == 200
    assert first["body"] == second["body"]
    assert "Product 42" in first["body"]
    edge = f"public, max-age=30, s-maxage={cache_config.EDGE_TTL}"
    assert _header(first, "cache-control") == _header(second, "cache-control") == [edge]
    assert app_requests == [name, name]
    assert database.calls == queries + 1
    assert after_first is not None and after_second is not None
    store = f"example-{name}"
    assert after_first["caches"][store]["memory"]["sets"] >= 1
    assert after_second["caches"][store]["memory"]["hits"] >= 1
    assert after_second["caches"][store]["memory"]["sets"] == 0


# -- cold starts ---------------------------------------------------------------------------
def test_cold_start_then_reuse_in_one_environment(flask_handler: Handler) -> None:
    flags = []
    for event in [events.apigw_v1("/products/1"), events.WARMUP_EVENTS["warmup-flag"]] * 2:
        flask_handler(event, events.LambdaContext())
        report = metrics.last_report()
        assert report is not None
        flags.append((report["cold_start"], report["context_reused"]))
    assert flags == [(True, False), (False, True), (False, True), (False, True)]


def _invoke_in_fresh_process(results: Any) -> None:
    from example_project.flask_app.handler import lambda_handler

    flags = []
    for path in ["/products/1", "/products/2", "/products/1", "/pages/1"]:
        lambda_handler(events.apigw_v2(path), events.LambdaContext())
        report = metrics.last_report()
        flags.append(bool(report and report["cold_start"]))
    results.put(flags)


def test_cold_start_is_reported_once_per_worker_process() -> None:
    context = mp.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_invoke_in_fresh_process, args=(results,)) for _ in range(3)]
    for worker in workers:
        worker.start()
    flags = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert flags == [[True, False, False, False]] * 3


# -- SnapStart -----------------------------------------------------------------------------
def test_snapstart_after_restore_hook_drops_connections_and_l1(flask_handler: Handler) -> None:
    from snapshot_restore_py import get_after_restore

    assert lambda_runtime.SNAPSTART_HOOKS_REGISTERED
    hooks = [func for func, _, _ in get_after_restore()]
    assert hooks[0] is snapstart.after_restore  # ahead of any hook of the app's

    class Pool:
        closed = False

        def close(self) -> None:
            self.closed = True

    pool = registry.get_or_create("redis", "restore-test", Pool)
    flask_handler(events.apigw_v2("/products/5"), events.LambdaContext())
    queries = database.calls
    recording = WarmRecordingTier()

    for func, args, kwargs in get_after_restore():  # what Lambda runs after a restore
        func(*args, **kwargs)

    assert pool.closed and "redis" not in registry.kinds()
    assert recording.warm_calls == 1  # warmed again by the hook, before any invocation
    flask_handler(events.apigw_v2("/products/5"), events.LambdaContext())
    report = metrics.last_report()
    assert report is not None and report["cold_start"] is True
    assert database.calls == queries + 1  # the L1 copy from before the snapshot is gone
    assert recording.warm_calls == 1


def test_the_unwrapped_adapters_crash_on_warmups(django_handler: Handler) -> None:
    """Why the wrapper exists: Mangum and apig-wsgi cannot handle a warm-up ping."""
    from apig_wsgi import make_lambda_handler
    from mangum import Mangum

    from example_project.django_app.asgi import application
    from example_project.flask_app.app import app

    ping = events.WARMUP_EVENTS["warmup-flag"]
    with pytest.raises(RuntimeError):
        # example_project's context (read-only ARN, no log names) misses Mangum's protocol
        context = cast("MangumContext", events.LambdaContext())
        Mangum(application, lifespan="off")(ping, context)
    with pytest.raises(KeyError):
        make_lambda_handler(app)(ping, events.LambdaContext())


def test_zappa_keep_warm_reaches_zappa_first_then_warms() -> None:
    seen: list[Any] = []
    built: list[WarmRecordingTier] = []

    def zappa_handler(event: Any, context: Any) -> None:
        seen.append(event)  # Zappa's own handler imports the app on its keep-warm callback
        built.append(WarmRecordingTier())  # ...which builds the app's cache backends

    handler = serverless_handler(zappa_handler)  # init phase: Zappa has imported no app yet
    event = events.WARMUP_EVENTS["zappa-keep-warm"]
    response = handler(event, events.LambdaContext())
    assert response["warmup"] is True
    assert seen == [event]
    assert [tier.warm_calls for tier in built] == [1]  # warmed after Zappa built it


def test_an_unbuildable_cache_alias_does_not_break_init_or_invocations(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from django.test import override_settings

    caches_setting = {
        "default": {"BACKEND": "serverless_cache.django.ExecutionContextCache"},
        "broken": {"BACKEND": "django.core.cache.backends.memcached.NoSuchCache"},
    }
    with override_settings(CACHES=caches_setting), caplog.at_level(logging.WARNING):
        handler = serverless_handler(lambda event, context: "served")
        for _ in range(2):
            assert handler(events.apigw_v2("/products/1"), events.LambdaContext()) == "served"
        assert lambda_runtime._runtime().warmed
        assert handler(events.WARMUP_EVENTS["warmup-flag"], events.LambdaContext())["warmup"]
    assert caplog.text.count("cache 'broken' could not be built for warming") == 2  # init, ping


def test_after_restore_keeps_layered_state_and_rereads_the_epoch() -> None:

    layered = layered_tier(
        "restored", {"TIERS": [{"TIER": "memory"}, {"TIER": SHARED, "LOCATION": "l2"}]}
    )
    layered.set("k", "v", None)
    layered.state.next_check = float("inf")
    snapstart.after_restore()
    assert registry.entries("layered") == [layered.state]
    assert layered.state.next_check != float("inf")  # the warm-up after the restore reread it
    assert layered.first.get("k") is None  # the snapshot's L1 contents are gone
