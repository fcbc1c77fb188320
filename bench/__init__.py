"""Benchmarks of the edge sale path: every figure beside a reference measured in the same run.

Shared here: the latency summary (sales/s, p50, p99) and the drivers that time a sale function
alone or from several threads, so the edge and its references are measured the same way; and
the printed lines of the sections' targets.
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

Sell = Callable[[], object]
Summary = dict[str, float]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of unsorted values; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil without floats drifting
    return ordered[int(rank) - 1]


def summarise(latencies_s: list[float], elapsed_s: float) -> Summary:
    """Throughput and latency figures of one measured run (latencies in milliseconds)."""
    return {
        "sales": len(latencies_s),
        "seconds": round(elapsed_s, 3),
        "sales_per_s": round(len(latencies_s) / elapsed_s, 1) if elapsed_s > 0 else 0.0,
        "p50_ms": round(percentile(latencies_s, 50) * 1000, 3),
        "p99_ms": round(percentile(latencies_s, 99) * 1000, 3),
    }


def combine(rounds: list[Summary]) -> Summary:
    """Median of each figure over rounds: one slow round on a busy machine does not decide."""
    keys = rounds[0].keys()
    return {k: round(statistics.median(r[k] for r in rounds), 3) for k in keys}


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, rounded; infinity when the reference is zero."""
    return round(numerator / denominator, 3) if denominator else float("inf")


def target_lines(goals: list[dict[str, Any]]) -> str:
    """Printed goals of the sync and rush sections (dicts of name, value, limit, unit, met)."""
    lines = []
    for goal in goals:
        verdict = "met" if goal["met"] else "MISSED"
        lines.append(
            f"  {goal['name']:<46} {goal['value']:>8.3f}{goal['unit']:<4} (target <="
            f" {goal['limit']:g}{goal['unit']}) {verdict}"
        )
    return "\n".join(lines)


def drive_alone(sell: Sell, count: int, seconds: float) -> tuple[list[float], float]:
    """Call ``sell`` back to back until ``count`` sales or ``seconds`` pass; time each call."""
    latencies: list[float] = []
    clock = time.perf_counter
    start = clock()
    deadline = start + seconds
    for _ in range(count):
        t0 = clock()
        sell()
        t1 = clock()
        latencies.append(t1 - t0)
        if t1 > deadline:
            break
    return latencies, clock() - start


def drive_threads(
    make_sell: Callable[[], tuple[Sell, Callable[[], None]]],
    threads: int,
    count: int,
    seconds: float,
) -> tuple[list[float], float]:
    """``threads`` threads sell concurrently, ``count`` sales in all or until ``seconds`` pass.

    ``make_sell`` runs on each thread and returns its sale function and a cleanup (a thread may
    need its own connection). All threads start together once every one is ready.
    """
    per_thread = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    results: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    ready = threading.Barrier(threads + 1)
    go = threading.Event()

    def worker(index: int) -> None:
        try:
            sell, cleanup = make_sell()
        except BaseException as exc:
            errors.append(exc)
            ready.abort()
            return
        try:
            ready.wait()
            go.wait()
            results[index] = drive_alone(sell, per_thread[index], seconds)[0]
        except BaseException as exc:
            errors.append(exc)
        finally:
            cleanup()

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a worker failed: it is raised below
        ready.wait()
    start = time.perf_counter()
    go.set()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return [lat for part in results for lat in part], elapsed
