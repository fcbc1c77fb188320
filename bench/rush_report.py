"""The rush section of ``make bench``: sizes, table, targets and bench/results/rush.json."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import apsw

from bench import ratio, target_lines
from bench.rush import RUSH_FULL, RUSH_QUICK, SAMPLE_S, MiB, RushSize, run

DESCRIPTION = (
    "'sales' one-request sales (POST /api/v1/orders carrying its cash payment: the demo café's"
    " 3-line order, a £20 note, change given, into the open till) by 'clients' concurrent"
    " keep-alive clients into one business day of a fresh demo store served by a real"
    " `fynlo-edge serve`, after 'warmup' unmeasured sales into the same day; then the same load"
    " against the bare reference (bench/bare_app.py, POST /sales: the order, its lines and the"
    " payment in one raw transaction). Latencies are cut into windows of 'window' sales in"
    " request-completion order. The WAL peak is the largest size of <store>-wal read every"
    f" {SAMPLE_S * 1000:.0f} ms from a thread of the bench process during the measured load;"
    " store bytes per sale are the database file plus its WAL right after the load, over every"
    " sale rung (warm-up included); RSS is the edge process's VmRSS after the load, and its peak"
    " VmHWM. MB = 2^20 bytes, KB = 1024 bytes. day_orders is the highest order number of the"
    " day: equal to sales_rung when every sale went into one business day."
)
WAL_LIMIT_MB = 64.0
BYTES_PER_SALE_LIMIT = 4096.0  # 4 KB
RSS_LIMIT_MB = 150.0
DRIFT_LIMIT = 1.5  # last window's p99 against the first, and against the bare reference's


def targets(edge: dict[str, Any], bare: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's goals for a long day, judged on the edge in this run."""
    goals = [
        ("edge p99: last window / first window", ratio(edge["last_p99_ms"], edge["first_p99_ms"])),
        ("edge p99, last window / bare p99", ratio(edge["last_p99_ms"], bare["p99_ms"])),
    ]
    out = [_goal(name, value, DRIFT_LIMIT, "x") for name, value in goals]
    out += [
        _goal("edge WAL peak", round(edge["wal_peak_bytes"] / MiB, 1), WAL_LIMIT_MB, "MB"),
        _goal(
            "edge on disk per sale (db + WAL, settled)",
            edge["settled_store_bytes_per_sale"],
            BYTES_PER_SALE_LIMIT,
            "B",
        ),
        _goal("edge RSS after the rush", edge["rss_mb"], RSS_LIMIT_MB, "MB"),
    ]
    return out


def _goal(name: str, value: float, limit: float, unit: str) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "limit": limit,
        "unit": unit,
        "at_most": True,
        "met": value <= limit,
    }


def _series(title: str, key: str, edge: dict[str, Any], bare: dict[str, Any]) -> list[str]:
    """One figure per window, ten to a line, bare above edge."""
    lines = [title]
    for name, figures in (("bare", bare), ("edge", edge)):
        values: list[float] = figures[key]
        for start in range(0, max(1, len(values)), 10):
            label = name if start == 0 else ""
            row = " ".join(f"{v:>7.1f}" for v in values[start : start + 10])
            lines.append(f"  {label:<5} {row}")
    return lines


def _row(label: str, f: dict[str, Any]) -> str:
    return (
        f"  {label:<34} {f['sales']:>7.0f} {f['sales_per_s']:>8.1f} {f['p50_ms']:>8.3f}"
        f" {f['p99_ms']:>8.3f} {f['first_p99_ms']:>9.3f} {f['last_p99_ms']:>9.3f}"
        f" {f['worst_p99_ms']:>9.3f} {f['errors']:>6.0f}"
    )


def _mb(size: float) -> str:
    return f"{size / MiB:.1f} MB"


def table(report: dict[str, Any], size: RushSize) -> str:
    """The printed summary of the rush."""
    edge, bare = report["edge"], report["bare"]
    lines = [
        f"Fynlo rush benchmark: {os.cpu_count()} CPUs, SQLite {apsw.sqlite_lib_version()},"
        f" {size.sales:,} one-request sales into one business day, {size.clients} clients,"
        f" windows of {size.window:,}",
        "  sale in one request (POST /api/v1/orders with its payment; bare: POST /sales);"
        " first / last / worst: p99 of those windows",
        f"  {'subject':<34} {'sales':>7} {'sales/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'first p99':>9} {'last p99':>9} {'worst p99':>9} {'errors':>6}",
        _row("bare Litestar + apsw (reference)", bare),
        _row("fynlo-edge serve", edge),
        *_series(f"p99 per window of {size.window:,} sales (ms)", "window_p99_ms", edge, bare),
        *_series(f"p50 per window of {size.window:,} sales (ms)", "window_p50_ms", edge, bare),
        *_series("sales/s per window", "window_sales_per_s", edge, bare),
        "Store and memory after the rush",
        f"  {'WAL peak (sampled)':<40} edge {_mb(edge['wal_peak_bytes']):>10}"
        f"   bare {_mb(bare['wal_peak_bytes']):>10}",
        f"  {'db + WAL per sale':<40} edge {edge['store_bytes_per_sale']:>8.0f} B"
        f"   bare {bare['store_bytes_per_sale']:>8.0f} B",
        f"  {'db + WAL per sale, settled after the rush':<40} edge"
        f" {edge['settled_store_bytes_per_sale']:>8.0f} B   (after {edge['settled_s']:.1f} s)",
        f"  {'db file alone per sale':<40} edge {edge['db_bytes_per_sale']:>8.0f} B"
        f"   bare {bare['db_bytes_per_sale']:>8.0f} B",
        f"  {'db / WAL after the load':<40} edge {_mb(edge['db_bytes'])} / {_mb(edge['wal_bytes'])}"
        f"   bare {_mb(bare['db_bytes'])} / {_mb(bare['wal_bytes'])}",
        f"  {'edge RSS: idle / after / peak (VmHWM)':<40} {edge['rss_idle_mb']:.1f} /"
        f" {edge['rss_mb']:.1f} / {edge['rss_peak_mb']:.1f} MB",
        f"  {'edge orders numbered in the day':<40} {edge['day_orders']:,} of"
        f" {edge['sales_rung']:,} rung ({edge['business_day']},"
        f" {'one business day' if edge['one_day'] else 'NOT one business day'})",
        f"  {'edge last-window p99 / bare p99 overall':<40}"
        f" {ratio(edge['last_p99_ms'], bare['p99_ms']):.3f}x (judged; against bare's last window"
        f" {ratio(edge['last_p99_ms'], bare['last_p99_ms']):.3f}x, shown)",
    ]
    failed = {k: report[k]["first_error"] for k in ("edge", "bare") if report[k]["errors"]}
    if failed:
        lines.append(f"  errors: {failed}")
    return "\n".join(lines)


def rush_section(quick: bool, output: Path) -> Path:
    """Run the rush, print its table and targets, write its JSON; the JSON's path."""
    size = RUSH_QUICK if quick else RUSH_FULL
    started = time.time()
    figures = run(size)
    goals = targets(figures["edge"], figures["bare"])
    print(table(figures, size))
    print("Rush targets")
    print(target_lines(goals))
    edge, bare = figures["edge"], figures["bare"]
    report = {
        "description": DESCRIPTION,
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "sqlite": apsw.sqlite_lib_version(),
            "platform": platform.platform(),
        },
        "size": asdict(size) | {"quick": quick},
        **figures,
        "ratios": {
            "edge_last_over_first_p99": ratio(edge["last_p99_ms"], edge["first_p99_ms"]),
            "edge_last_over_bare_last_p99": ratio(edge["last_p99_ms"], bare["last_p99_ms"]),
            "edge_last_over_bare_overall_p99": ratio(edge["last_p99_ms"], bare["p99_ms"]),
        },
        "targets": goals,
        "seconds": round(time.time() - started, 1),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    return output
