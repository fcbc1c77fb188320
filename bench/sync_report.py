"""The sync section of ``make bench``: sizes, table, target and bench/results/sync.json."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import target_lines
from bench.sync import CONVERGE_LIMIT_S, run

DESCRIPTION = (
    "reconnect: one enrolled store sells 'orders' quick sales (the demo café's 3-line order paid"
    " in cash, orders.sale.open_order) with its sync worker stopped, then the worker runs rounds"
    " against a real fynlo-relay serve (SQLite, loopback, default rate limits) until nothing is"
    " pending: converge_s is the first request to convergence (pushes, then a listing showing the"
    " relay holds nothing new: the store does not pull its own updates back); wire bytes"
    " are request and response bodies as sent (deflated pushes, gzipped pulls), headers not"
    " counted; the relay is then read back and must hold every order. ingest: 'stores' stores"
    " with a device each, as many concurrent clients in one process pushing one small real Yjs"
    " update (a ~300-byte order entry) per request to a day document of their own store, the"
    " relay's per-device rate limit lifted (relay_env); RSS is the relay's VmRSS after the load."
    " sizes: merged day documents (len(doc.get_update()) after loading the appliance's log)."
)


@dataclass(frozen=True)
class SyncSize:
    """How much work the sync section does."""

    orders: int  # sold offline before the reconnect
    stores: int  # pushing at once
    updates: int  # per store
    day_orders: int  # in the realistic day a year is extrapolated from
    rounds: int


SYNC_FULL = SyncSize(orders=2000, stores=100, updates=100, day_orders=300, rounds=3)
SYNC_QUICK = SyncSize(orders=40, stores=10, updates=5, day_orders=30, rounds=1)


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's goal with a figure: convergence after a day offline, under 2 s."""
    reconnect = report["reconnect"]
    value = reconnect["converge_s"]
    return [
        {
            "name": f"reconnect after {reconnect['orders']:.0f} offline orders: converge",
            "value": value,
            "limit": CONVERGE_LIMIT_S,
            "unit": "s",
            "at_most": True,
            "met": value <= CONVERGE_LIMIT_S,
        }
    ]


def _mb(size: float) -> str:
    return f"{size / 1e6:.2f} MB"


def table(report: dict[str, Any], size: SyncSize) -> str:
    """The printed summary of the sync section."""
    rec, ing, day = report["reconnect"], report["ingest"], report["sizes"]
    orders = rec["orders"]
    per_order = rec["day_doc_bytes"] / orders
    big_day = f"day document, {orders:.0f} orders"
    cafe_day = f"day document, {day['day_orders']} orders (a café's day)"
    return "\n".join(
        [
            f"Fynlo sync benchmark: {os.cpu_count()} CPUs, a real fynlo-relay serve (SQLite) on"
            f" loopback, medians of {size.rounds} round(s)",
            f"Reconnect after {orders:.0f} orders sold offline (one store)",
            f"  {'time to convergence (push, nothing to pull)':<48} {rec['converge_s']:>9.3f} s"
            f"   (target < {CONVERGE_LIMIT_S:g} s; {rec['sync_rounds']:.0f} sync round(s),"
            f" {rec['requests']:.0f} requests)",
            f"  {'bytes on the wire per order':<48} {rec['wire_bytes_per_order']:>9.1f} B"
            f"   (sent {rec['sent_bytes_per_order']:.1f} B, {rec['pending_updates']:.0f}"
            " updates pushed)",
            f"  {'orders the relay holds afterwards':<48} {rec['relay_orders']:>9.0f}"
            f"     of {orders:.0f}",
            f"Relay ingest, {ing['stores']:.0f} stores pushing at once (one update of"
            f" ~{ing['push_bytes']:.0f} B per request)",
            f"  {'updates/s':<48} {ing['updates_per_s']:>9.1f}     ({ing['updates']:.0f} pushes)",
            f"  {'push latency p50 / p99':<48} {ing['p50_ms']:>9.3f} ms  / {ing['p99_ms']:.3f} ms",
            f"  {'relay RSS after the load':<48} {ing['relay_rss_mb']:>9.1f} MB"
            f"  (idle {ing['relay_rss_idle_mb']:.1f} MB)",
            "Document sizes (merged, loaded from the appliance's log)",
            f"  {big_day:<48} {_mb(rec['day_doc_bytes']):>12}  ({per_order:.0f} B/order)",
            f"  {cafe_day:<48} {_mb(day['day_doc_bytes']):>12}",
            f"  {'a year of such days (extrapolated: x 365)':<48} {_mb(day['year_bytes']):>12}",
        ]
    )


def sync_section(quick: bool, rounds: int | None, output: Path) -> Path:
    """Run the sync benchmark, print its table and targets, write its JSON; the JSON's path."""
    size = SYNC_QUICK if quick else SYNC_FULL
    if rounds:
        size = SyncSize(size.orders, size.stores, size.updates, size.day_orders, rounds)
    started = time.time()
    figures = run(size.orders, size.stores, size.updates, size.day_orders, size.rounds)
    goals = targets(figures)
    print(table(figures, size))
    print("Sync targets")
    print(target_lines(goals))
    report = {
        "description": DESCRIPTION,
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "size": asdict(size) | {"quick": quick},
        **figures,
        "targets": goals,
        "seconds": round(time.time() - started, 1),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    return output
