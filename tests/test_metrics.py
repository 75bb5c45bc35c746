"""Per-invocation reports and the CloudWatch Embedded Metric Format line."""

from __future__ import annotations

import io
import json

import pytest

from serverless_cache import metrics
from serverless_cache.aws import serverless_handler
from serverless_cache.resilience import CircuitBreaker, Fault, Guard, ResilienceSettings
from tests.tiers.build import memory


@pytest.fixture
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shop-api")
    monkeypatch.delenv("SERVERLESS_CACHE_EMF", raising=False)
    monkeypatch.delenv("SERVERLESS_CACHE_EMF_NAMESPACE", raising=False)


def test_emf_is_off_outside_lambda_and_on_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.delenv("SERVERLESS_CACHE_EMF", raising=False)
    assert metrics.configure_emf().enabled is False
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shop-api")
    settings = metrics.configure_emf()
    assert settings.enabled is True
    assert settings.dimensions == {"FunctionName": "shop-api"}
    monkeypatch.setenv("SERVERLESS_CACHE_EMF", "0")
    assert metrics.configure_emf().enabled is False


def test_reports_are_per_invocation_deltas() -> None:
    tier = memory("shop", {})
    handler = serverless_handler(lambda event, context: tier.get(event["key"]))
    tier.set("a", 1, None)
    handler({"key": "a"}, None)
    first = metrics.last_report()
    handler({"key": "b"}, None)
    second = metrics.last_report()
    assert first is not None and second is not None
    assert first["cold_start"] is True and second["context_reused"] is True
    assert first["caches"]["shop"]["memory"]["sets"] == 1
    assert first["caches"]["shop"]["memory"]["hits"] == 1
    assert second["caches"]["shop"]["memory"] == {
        "hits": 0,
        "misses": 1,
        "sets": 0,
        "deletes": 0,
        "errors": 0,
        "promotions": 0,
        "recovered": 0,
        "fail_safe": 0,
        "eager_refreshes": 0,
        "factory_timeouts": 0,
        "invalidations": 0,
        "dropped": 0,
        "tag_fetches": 0,
        "latency_ms": [],
    }
    assert metrics.invocation_metrics()["caches"]["shop"]["memory"]["misses"] == 0


def test_emf_line_parses_with_the_documented_schema(lambda_environment: None) -> None:
    stream = io.StringIO()
    metrics.configure_emf(namespace="Shop", dimensions={"Service": "catalog"}, stream=stream)
    tier = memory("products", {})
    network = metrics.stats_for("products", "redis")
    guard = Guard(
        "redis",
        ResilienceSettings(),
        CircuitBreaker(3, 5.0),
        network,
        lambda exc: Fault.FAILED if isinstance(exc, OSError) else None,
    )

    def request(event: dict[str, str], context: object) -> None:
        tier.set(event["key"], "value", 60)
        tier.get(event["key"])
        guard.call("get", lambda: None, None)
        guard.call("get", lambda: None, None)

    serverless_handler(request)({"key": "k"}, None)

    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    document = json.loads(lines[0])
    directive = document["_aws"]["CloudWatchMetrics"]
    assert isinstance(document["_aws"]["Timestamp"], int)
    assert all(d["Namespace"] == "Shop" for d in directive)
    assert all(d["Dimensions"] == [["FunctionName", "Service"]] for d in directive)
    assert document["FunctionName"] == "shop-api" and document["Service"] == "catalog"
    names = {m["Name"]: m["Unit"] for d in directive for m in d["Metrics"]}
    for name, unit in names.items():
        assert name in document
        assert unit in ("Count", "Milliseconds")
    assert document["ColdStart"] == 1 and document["ContextReused"] == 0
    assert document["products.memory.Hits"] == 1
    assert document["products.memory.Sets"] == 1
    assert document["products.redis.Errors"] == 0
    assert names["products.redis.Latency"] == "Milliseconds"
    assert len(document["products.redis.Latency"]) == 2
    assert all(value >= 0 for value in document["products.redis.Latency"])
    assert "products.memory.Latency" not in names  # in-process reads are not timed
    assert document["Warmup"] is False and document["Invocation"] == 1


def test_latency_samples_are_bounded() -> None:
    stats = metrics.stats_for("bounded", "redis")
    for _ in range(metrics.LATENCY_SAMPLES + 50):
        stats.observe(0.001)
    assert len(stats.latency_ms) == metrics.LATENCY_SAMPLES
    metrics.flush_invocation()
    assert stats.latency_ms == []


def test_emf_splits_more_than_100_metrics_over_several_directives(
    lambda_environment: None,
) -> None:
    for number in range(20):  # 20 caches x 7 counters: 140 metrics and the two flags
        metrics.stats_for(f"cache{number}", "memory").hits += 1
    report = metrics.flush_invocation()
    document = metrics.emf_document(report, metrics.configure_emf(stream=io.StringIO()))
    directives = document["_aws"]["CloudWatchMetrics"]
    sizes = [len(d["Metrics"]) for d in directives]
    assert len(sizes) >= 2 and all(size <= 100 for size in sizes) and sizes[0] == 100
    names = [m["Name"] for d in directives for m in d["Metrics"]]
    assert len(names) == len(set(names)) >= 142
    assert all(name in document for name in names)
    assert all(f"cache{number}.memory.Hits" in names for number in range(20))
