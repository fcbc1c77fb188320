"""A sustained rush: tens of thousands of one-request sales into one business day, over HTTP.

The judged HTTP sale (``POST /api/v1/orders`` carrying its cash payment, the demo café's 3-line
order) is sold ``sales`` times by 10 concurrent clients into one business day of a fresh demo
store, against a real ``fynlo-edge serve`` with the till open; then the same load against the bare
reference (``bench/bare_app.py``, ``POST /sales``). A short benchmark cannot see what a long day
does to a store (a WAL that is never checkpointed, a document that grows with every sale, memory
that is never given back): here latencies are cut into windows of ``window`` sales in completion
order, so the last window can be set beside the first, and the store's files and the edge's
memory are read while it runs and after.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import percentile, summarise
from bench.bare_app import running_bare
from bench.edge_sale import edge_specs
from bench.load import generate
from edge.store.db import db_path
from edge.store.store import WAL_IDLE_BYTES
from tests.support.server import EdgeServer, running_edge

SAMPLE_S = 0.05  # how often the WAL's size is read during a run
# A long rush must not outlive the cashier's access token (15 minutes by default): a 401 half
# way through would end the run, not measure it.
EDGE_ENV = {"FYNLO_ACCESS_TTL_S": str(6 * 3600)}
MiB = 2**20


@dataclass(frozen=True)
class RushSize:
    """How long the rush is."""

    sales: int  # measured, after the warm-up, all into one business day
    window: int  # sales per window of the latency series
    warmup: int  # unmeasured sales first (same day): connections and caches warm
    seconds: float  # time limit of each load run: a store this slow has failed anyway
    clients: int = 10


RUSH_FULL = RushSize(sales=20_000, window=1_000, warmup=100, seconds=3600.0)
RUSH_QUICK = RushSize(sales=400, window=100, warmup=10, seconds=120.0)


def file_size(path: Path) -> int:
    """Bytes in ``path``; 0 while it does not exist (a WAL before its first write)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def wal_of(db: Path) -> Path:
    """SQLite's write-ahead log beside the database file."""
    return db.with_name(db.name + "-wal")


def status_bytes(pid: int, field: str) -> int:
    """A memory figure of /proc/<pid>/status (``VmRSS``, ``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024  # the kernel reports kB
    raise RuntimeError(f"no {field} for process {pid}")


class PeakSize:
    """A thread reading a file's size every ``interval_s`` while the block runs; keeps the max.

    The WAL can grow and be truncated between two reads, so this is a sampled peak: what the
    disk had to hold at least.
    """

    def __init__(self, path: Path, interval_s: float = SAMPLE_S) -> None:
        self.path = path
        self.interval_s = interval_s
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(self.interval_s):  # wakes at once when the block ends
                return

    def _sample(self) -> None:
        self.peak = max(self.peak, file_size(self.path))
        self.samples += 1

    def __enter__(self) -> PeakSize:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()  # the size the run ended with counts too


def windows(result: dict[str, Any], size: int) -> list[dict[str, float]]:
    """p50, p99 and sales/s of each full window of ``size`` sales, in completion order."""
    latencies: list[float] = result["latencies_ms"]
    completed: list[float] = result["completed_s"]
    out = []
    for start in range(0, len(latencies) - size + 1, size):
        part = latencies[start : start + size]
        began = completed[start - 1] if start else 0.0
        took = completed[start + size - 1] - began
        out.append(
            {
                "p50_ms": round(percentile(part, 50), 3),
                "p99_ms": round(percentile(part, 99), 3),
                "sales_per_s": round(size / took, 1) if took > 0 else 0.0,
            }
        )
    return out


def figures(result: dict[str, Any], size: RushSize) -> dict[str, Any]:
    """Overall figures of one load run and its series of windows."""
    if not result["sales"]:
        raise RuntimeError(f"rush: no sale went through: {result['first_error']}")
    overall = summarise([ms / 1000 for ms in result["latencies_ms"]], result["seconds"])
    series = windows(result, size.window)
    return overall | {
        "errors": result["errors"],
        "first_error": result["first_error"],
        "windows": len(series),
        "first_p99_ms": series[0]["p99_ms"] if series else 0.0,
        "last_p99_ms": series[-1]["p99_ms"] if series else 0.0,
        # shown: a stall in the middle of the day passes a first-against-last target
        "worst_p99_ms": max((w["p99_ms"] for w in series), default=0.0),
        "window_p99_ms": [w["p99_ms"] for w in series],
        "window_p50_ms": [w["p50_ms"] for w in series],
        "window_sales_per_s": [w["sales_per_s"] for w in series],
    }


def store_files(db: Path, sales: int) -> dict[str, float]:
    """The store's files as they are now, and per sale."""
    db_bytes, wal_bytes = file_size(db), file_size(wal_of(db))
    return {
        "db_bytes": db_bytes,
        "wal_bytes": wal_bytes,
        "store_bytes_per_sale": round((db_bytes + wal_bytes) / max(1, sales), 1),
        "db_bytes_per_sale": round(db_bytes / max(1, sales), 1),
    }


def settle(db: Path, sales: int, timeout_s: float = 30.0) -> dict[str, Any]:
    """The store's files once the appliance has caught its breath after the rush: in the lull
    it folds the rest of the log and cuts its WAL file back (what a store keeps on disk)."""
    deadline = time.monotonic() + timeout_s
    while file_size(wal_of(db)) > WAL_IDLE_BYTES and time.monotonic() < deadline:
        time.sleep(0.1)
    files = store_files(db, sales)
    return {
        "settled_store_bytes_per_sale": files["store_bytes_per_sale"],
        "settled_wal_bytes": files["wal_bytes"],
        "settled_s": round(timeout_s - max(0.0, deadline - time.monotonic()), 1),
    }


def day_orders(server: EdgeServer, headers: dict[str, str]) -> tuple[str, int]:
    """The business day of the newest orders and the highest order number in it.

    Numbers restart at #1 each business day, so the highest equals the sales rung only when
    every sale of the rush went into the same day.
    """
    response = httpx.get(
        f"{server.url}/api/v1/orders", params={"limit": 50}, headers=headers, timeout=60.0
    )
    response.raise_for_status()
    orders = response.json()
    day = orders[0]["business_day"]
    return day, max(int(o["number"]) for o in orders if o["business_day"] == day)


def rush_edge(data_dir: Path, size: RushSize) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rush against a real ``fynlo-edge serve`` on a fresh demo store; figures and spec."""
    with running_edge(data_dir, env=EDGE_ENV) as server:
        spec = edge_specs(server, size.sales, size.seconds, size.warmup, "http1")["sale"]
        spec |= {"clients": size.clients, "record": True}
        assert server.proc is not None
        pid = server.proc.pid
        rss_idle = status_bytes(pid, "VmRSS")
        db = db_path(data_dir)
        with PeakSize(wal_of(db)) as wal:
            result = generate(spec)
        rung = size.warmup + int(result["sales"])  # warm-up sales go into the same day
        files = store_files(db, rung)
        rss, hwm = status_bytes(pid, "VmRSS"), status_bytes(pid, "VmHWM")
        day, numbered = day_orders(server, spec["headers"])
        settled = settle(db, rung)
    edge = {
        "sales_rung": rung,
        "business_day": day,
        "day_orders": numbered,
        "one_day": numbered == rung,
        "wal_peak_bytes": wal.peak,
        "wal_samples": wal.samples,
        "rss_idle_mb": round(rss_idle / MiB, 1),
        "rss_mb": round(rss / MiB, 1),
        "rss_peak_mb": round(hwm / MiB, 1),
    }
    return figures(result, size) | files | settled | edge, spec


def rush_bare(data_dir: Path, size: RushSize, edge_spec: dict[str, Any]) -> dict[str, Any]:
    """The same load against the bare reference (its files are shown, not judged)."""
    with running_bare(data_dir) as url:
        spec = edge_spec | {"url": url, "headers": {}, "order_path": "/sales", "payment_path": None}
        db = db_path(data_dir)
        with PeakSize(wal_of(db)) as wal:
            result = generate(spec)
        rung = size.warmup + int(result["sales"])
        files = store_files(db, rung)
    bare = {"sales_rung": rung, "wal_peak_bytes": wal.peak, "wal_samples": wal.samples}
    return figures(result, size) | files | bare


def run(size: RushSize) -> dict[str, Any]:
    """The edge's rush, then the bare reference's, each on a fresh store; both sets of figures.

    One after the other, never side by side: an idle server beside the loaded one would cost
    nothing, but the edge's files (gigabytes if its WAL runs away) are removed before the bare
    reference writes its own.
    """
    with tempfile.TemporaryDirectory(prefix="fynlo-bench-rush-") as tmp:
        root = Path(tmp)
        edge, spec = rush_edge(root / "edge", size)
        shutil.rmtree(root / "edge")
        bare = rush_bare(root / "bare", size, spec)
    return {"edge": edge, "bare": bare}
