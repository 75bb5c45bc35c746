"""A small harness for side-by-side timing: contenders run in interleaved rounds.

Interleaving means a noisy moment on the machine hits every contender alike; the median of the
rounds ignores outliers; ratios to a baseline measured in the same run are what we quote, in
words ("1.25x slower" means it takes 1.25 times the baseline's time). The CPU column is this
process's CPU time per call: on a busy machine it moves less than the elapsed time (for a
network call it leaves out the wait for the server).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def compare(
    title: str,
    contenders: dict[str, Callable[[], object]],
    baseline: str,
    *,
    rounds: int = 15,
    calls: int = 5_000,
) -> dict[str, float]:
    """Time ``calls`` calls of each contender per round; print and return median ns per call."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
            for _ in range(calls):
                fn()
            samples[name].append((time.perf_counter_ns() - start) / calls)
            cpu[name].append((time.process_time_ns() - start_cpu) / calls)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"\n{title}")
    against = f"compared with {baseline}"
    width = max(34, len(against))
    print(f"  {'contender':<44} {'median':>12}  {against:<{width}}  cpu")
    for name, median in medians.items():
        words = relative(median, medians[baseline])
        cpu_words = relative(cpu_medians[name], cpu_medians[baseline])
        print(f"  {name:<44} {median / 1000:>9.3f} us  {words:<{width}}  {cpu_words}")
    return medians


def relative(measured: float, baseline: float) -> str:
    """``measured`` against ``baseline`` in words: "1.30x faster", "1.30x slower", "as fast"."""
    if measured <= 0 or baseline <= 0:
        return "-"
    if abs(measured / baseline - 1) < 0.005:
        return "as fast"
    if measured < baseline:
        return f"{baseline / measured:.2f}x faster"
    return f"{measured / baseline:.2f}x slower"


def setup_django() -> None:
    """Configure Django once per run, with every alias the benchmarks of the run read: ``make
    bench`` runs them all in one process, where the first ``settings.configure`` wins."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            CACHES={
                "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
                "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
                "ours": {"BACKEND": "serverless_cache.django.ExecutionContextCache"},
            }
        )
        django.setup()
