"""Per-tier cache counters and latencies, process-wide; one report per Lambda invocation.

Counters are plain integer attributes bumped without a lock: under concurrent threads a few
increments can be lost, which is the usual trade for metrics on a hot path.

At the end of each invocation :func:`flush_invocation` turns what happened since the previous
flush into a plain dict (for the app's own logging) and, when enabled, prints it as one
CloudWatch Embedded Metric Format (EMF) JSON line, which Lambda's log pipeline turns into
metrics without an API call. EMF is on by default only inside Lambda.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from serverless_cache import registry

#: The counters of every tier, in report order.
COUNTERS = (
    "hits",
    "misses",
    "sets",
    "deletes",
    "errors",
    "promotions",
    "recovered",
    "fail_safe",
    "eager_refreshes",
    "factory_timeouts",
    "invalidations",
    "dropped",
    "tag_fetches",
)
#: The most metric definitions one EMF directive may hold.
EMF_METRICS_PER_DIRECTIVE = 100
#: Latency samples kept per tier between two flushes (EMF accepts 100 values per metric).
LATENCY_SAMPLES = 100
#: EMF metric names and units of the counters.
_EMF_NAMES = {name: name.title().replace("_", "") for name in COUNTERS}


@dataclass
class TierStats:
    """Counters of one tier of one cache, and latency samples of its store calls.

    Latency is recorded by network tiers per store call; in-process reads take microseconds
    and are not timed.
    """

    hits: int = 0
    misses: int = 0
    sets: int = 0
    deletes: int = 0
    errors: int = 0
    promotions: int = 0
    #: Writes undone after the store came back (keys deleted, or 1 for a namespace cleared).
    recovered: int = 0
    #: get_or_set answers served from a fallback copy (factory failed or store unreachable).
    fail_safe: int = 0
    #: Entries recomputed before they expired (EAGER_REFRESH).
    eager_refreshes: int = 0
    #: Factories that outlived FACTORY_SOFT_TIMEOUT or FACTORY_HARD_TIMEOUT.
    factory_timeouts: int = 0
    #: Keys named by invalidation messages (push invalidation), and the in-process copies
    #: they (or a lost connection) removed.
    invalidations: int = 0
    dropped: int = 0
    #: Tag versions read from the store (see serverless_cache.tags).
    tag_fetches: int = 0
    latency_ms: list[float] = field(default_factory=list, repr=False, compare=False)

    def observe(self, seconds: float) -> None:
        """Record one store call's duration (the first LATENCY_SAMPLES since the last flush)."""
        if len(self.latency_ms) < LATENCY_SAMPLES:
            self.latency_ms.append(seconds * 1000.0)

    def as_dict(self) -> dict[str, int]:
        """The counters (cumulative since the process started or the last reset)."""
        return {name: getattr(self, name) for name in COUNTERS}


class MetricsState:
    """This process's counters, their values at the last flush, the invocation count and the
    EMF settings: one registry entry, reset in place so views keep their counters."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stats: dict[tuple[str, str], TierStats] = {}
        #: Counter values at the last flush, so that each invocation reports its own deltas.
        self.flushed: dict[tuple[str, str], dict[str, int]] = {}
        #: How many invocations this execution environment has served (since a restore).
        self.invocations = 0
        self.emf: EmfSettings | None = None
        self.last_report: dict[str, Any] | None = None

    def reset(self) -> None:
        """Zero every counter and forget the EMF settings."""
        self.emf = self.last_report = None
        with self.lock:
            for stats in self.stats.values():
                for name in COUNTERS:
                    setattr(stats, name, 0)
                stats.latency_ms.clear()
            self.flushed.clear()
        self.invocations = 0

    def restore(self) -> None:
        """After a SnapStart restore the next invocation is a cold one."""
        self.invocations = 0


def _state() -> MetricsState:
    return registry.get_or_create("metrics", None, MetricsState)


def stats_for(cache: str, tier: str) -> TierStats:
    """The shared counters for ``tier`` of the cache named ``cache``."""
    state = _state()
    found = state.stats.get((cache, tier))
    if found is None:
        with state.lock:
            found = state.stats.setdefault((cache, tier), TierStats())
    return found


def reset() -> None:
    """Zero every counter and forget the EMF settings (tests, or the start of a measured run)."""
    _state().reset()


# -- execution context ---------------------------------------------------------------------
def begin_invocation() -> bool:
    """Count an invocation; True when the execution context is reused (not a cold start)."""
    state = _state()
    state.invocations += 1
    return state.invocations > 1


def invocation_number() -> int:
    """How many invocations this execution environment has begun (0 outside a handler)."""
    return _state().invocations


def context_reused() -> bool:
    """Whether the current invocation runs in an execution context that served one before."""
    return _state().invocations > 1


def forget_context() -> None:
    """Treat the next invocation as a cold one (after a SnapStart restore)."""
    _state().invocations = 0


# -- per-invocation report -----------------------------------------------------------------
def invocation_metrics(*, warmup: bool = False) -> dict[str, Any]:
    """What happened since the last flush, as a plain dict; does not reset anything.

    ``{"cold_start": bool, "context_reused": bool, "warmup": bool, "invocation": n,
    "caches": {alias: {tier: {"hits": n, ..., "latency_ms": [...]}}}}``: counters are deltas
    since the previous flush; latency samples are in milliseconds.
    """
    return _report(_collect(flush=False), warmup)


def _collect(*, flush: bool) -> dict[str, dict[str, dict[str, Any]]]:
    """Counter deltas since the last flush; with ``flush``, also start the next period.

    Counters are read once, under the lock, so an increment is in this report or the next.
    """
    caches: dict[str, dict[str, dict[str, Any]]] = {}
    state = _state()
    with state.lock:
        for key, stats in state.stats.items():
            current, before = stats.as_dict(), state.flushed.get(key, {})
            entry: dict[str, Any] = {name: current[name] - before.get(name, 0) for name in COUNTERS}
            entry["latency_ms"] = [round(sample, 3) for sample in stats.latency_ms]
            caches.setdefault(key[0], {})[key[1]] = entry
            if flush:
                state.flushed[key] = current
                stats.latency_ms.clear()
    return caches


def _report(caches: dict[str, dict[str, dict[str, Any]]], warmup: bool) -> dict[str, Any]:
    reused = context_reused()
    return {
        "cold_start": not reused,
        "context_reused": reused,
        "warmup": warmup,
        "invocation": _state().invocations,
        "caches": caches,
    }


def flush_invocation(*, warmup: bool = False) -> dict[str, Any]:
    """End the invocation's report: return it, print it as EMF if enabled, start the next."""
    report = _state().last_report = _report(_collect(flush=True), warmup)
    settings = emf_settings()
    if settings.enabled:
        settings.stream.write(json.dumps(emf_document(report, settings)) + "\n")
        settings.stream.flush()
    return report


def last_report() -> dict[str, Any] | None:
    """The report of the last flushed invocation (None before the first)."""
    return _state().last_report


# -- CloudWatch Embedded Metric Format -----------------------------------------------------
@dataclass
class EmfSettings:
    """Where and how the EMF line is written; see :func:`configure_emf`."""

    enabled: bool = False
    namespace: str = "ServerlessCache"
    dimensions: dict[str, str] = field(default_factory=dict)
    stream: TextIO = field(default_factory=lambda: sys.stdout)


def configure_emf(
    *,
    enabled: bool | None = None,
    namespace: str | None = None,
    dimensions: dict[str, str] | None = None,
    stream: TextIO | None = None,
) -> EmfSettings:
    """Set the EMF output; arguments left as None keep their environment-derived default.

    Defaults: enabled when ``SERVERLESS_CACHE_EMF`` says so ("1"/"0"), otherwise exactly when
    running in Lambda (``AWS_LAMBDA_FUNCTION_NAME`` is set); namespace from
    ``SERVERLESS_CACHE_EMF_NAMESPACE`` or "ServerlessCache"; dimensions ``FunctionName`` (in
    Lambda) plus the ones given here; the stream is stdout, which Lambda sends to CloudWatch.
    """
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if enabled is None:
        flag = os.environ.get("SERVERLESS_CACHE_EMF", "").strip().lower()
        enabled = flag in ("1", "true", "yes", "on") if flag else bool(function_name)
    base = {"FunctionName": function_name} if function_name else {}
    emf = _state().emf = EmfSettings(
        enabled=enabled,
        namespace=namespace
        or os.environ.get("SERVERLESS_CACHE_EMF_NAMESPACE")
        or EmfSettings.namespace,
        dimensions={**base, **(dimensions or {})},
        stream=stream or sys.stdout,
    )
    return emf


def emf_settings() -> EmfSettings:
    """The EMF settings in force (from the environment until :func:`configure_emf` is called)."""
    return _state().emf or configure_emf()


def emf_document(report: dict[str, Any], settings: EmfSettings | None = None) -> dict[str, Any]:
    """The EMF object for one invocation report (see :func:`invocation_metrics`).

    One document per invocation, so each cache alias and tier is in the metric name:
    ``"<alias>.<tier>.Hits"`` (Count), ... and ``"<alias>.<tier>.Latency"`` (Milliseconds, a
    list of samples), plus ``ColdStart`` and ``ContextReused`` (0 or 1), under the configured
    namespace and dimensions.
    """
    settings = settings or emf_settings()
    values: dict[str, Any] = {
        "ColdStart": int(report["cold_start"]),
        "ContextReused": int(report["context_reused"]),
    }
    definitions = [{"Name": name, "Unit": "Count"} for name in values]
    for alias, tiers in sorted(report["caches"].items()):
        for tier, entry in sorted(tiers.items()):
            for counter in COUNTERS:
                name = f"{alias}.{tier}.{_EMF_NAMES[counter]}"
                values[name] = entry[counter]
                definitions.append({"Name": name, "Unit": "Count"})
            if entry["latency_ms"]:
                name = f"{alias}.{tier}.Latency"
                values[name] = entry["latency_ms"]
                definitions.append({"Name": name, "Unit": "Milliseconds"})
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [  # EMF allows 100 metrics per directive
                {
                    "Namespace": settings.namespace,
                    "Dimensions": [sorted(settings.dimensions)],
                    "Metrics": definitions[start : start + EMF_METRICS_PER_DIRECTIVE],
                }
                for start in range(0, len(definitions), EMF_METRICS_PER_DIRECTIVE)
            ],
        },
        **settings.dimensions,
        **values,
        "Warmup": report["warmup"],
        "Invocation": report["invocation"],
    }
