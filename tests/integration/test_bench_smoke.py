"""`python -m bench --quick`: every benchmark runs at a tiny size and reports every figure.

No timing is asserted here (the machine running the tests decides those); only that each part
runs, sells without errors, and lands in the table and the JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import apsw
import pytest

from bench import raw_sale
from bench.edge_sale import EdgeSale

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {"sales", "seconds", "sales_per_s", "p50_ms", "p99_ms"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any], Path]:
    output = tmp_path_factory.mktemp("bench") / "edge-sale.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads(output.read_text()), output


def test_in_process_figures_cover_raw_and_edge_alone_and_under_ten_writers(
    quick_run: tuple[str, dict[str, Any], Path],
) -> None:
    _, report, _ = quick_run
    local = report["in_process"]
    for writers in ("lone", "ten_writers"):
        for subject in ("raw", "raw_rows", "sale", "two_step", "write_path"):
            figures = local[f"{writers}/{subject}"]
            assert FIGURES | {"commits_per_sale"} <= figures.keys()
            assert figures["sales"] > 0
            assert figures["sales_per_s"] > 0
            assert 0 < figures["p50_ms"] <= figures["p99_ms"]


def test_http_figures_cover_the_bare_app_and_the_edge_without_errors(
    quick_run: tuple[str, dict[str, Any], Path],
) -> None:
    _, report, _ = quick_run
    for server in ("bare", "edge", "bare/two_step", "edge/two_step"):
        figures = report["http"][server]
        assert figures.keys() >= FIGURES
        assert figures["sales"] > 0
        assert figures["errors"] == 0
        assert 0 < figures["p50_ms"] <= figures["p99_ms"]


def test_every_target_is_checked_and_recorded(quick_run: tuple[str, dict[str, Any], Path]) -> None:
    stdout, report, _ = quick_run
    targets = report["targets"]
    assert len(targets) == 5
    for target in targets:
        assert {"name", "value", "limit", "unit", "at_most", "met"} <= target.keys()
        assert isinstance(target["met"], bool)
        assert target["name"] in stdout
    assert report["sale"]
    assert report["machine"]["cpus"] >= 1


def test_the_table_prints_each_section_and_the_json_path(
    quick_run: tuple[str, dict[str, Any], Path],
) -> None:
    stdout, _, output = quick_run
    for heading in (
        "In process, lone writer",
        "In process, 10 writer threads",
        "Over HTTP, 10 concurrent clients",
        "raw apsw transaction (reference)",
        "edge write path only (1 command)",
        "bare Litestar + apsw (reference)",
        "fynlo-edge serve",
        "Targets",
    ):
        assert heading in stdout
    assert stdout.rstrip().endswith(f"results: {output}")


def test_the_sync_section_prints_its_table_and_writes_its_json(
    quick_run: tuple[str, dict[str, Any], Path],
) -> None:
    stdout, _, output = quick_run
    sync_json = output.with_name("sync.json")
    for heading in (
        "Fynlo sync benchmark",
        "Reconnect after",
        "time to convergence",
        "bytes on the wire per order",
        "Relay ingest, ",
        "push latency p50 / p99",
        "relay RSS after the load",
        "Document sizes",
        "a year of such days (extrapolated",
        "Sync targets",
        f"sync results: {sync_json}",
    ):
        assert heading in stdout
    assert stdout.index("Fynlo sync benchmark") > stdout.index("Over HTTP, 10 concurrent clients")
    report = json.loads(sync_json.read_text())
    assert {"description", "machine", "size", "reconnect", "ingest", "sizes", "targets"} <= (
        report.keys()
    )


def test_the_sync_figures_cover_reconnect_ingest_and_sizes(
    quick_run: tuple[str, dict[str, Any], Path],
) -> None:
    _, _, output = quick_run
    report = json.loads(output.with_name("sync.json").read_text())
    reconnect = report["reconnect"]
    assert {"converge_s", "wire_bytes_per_order", "sent_bytes", "received_bytes"} <= (
        reconnect.keys()
    )
    assert reconnect["relay_orders"] == reconnect["orders"] == report["size"]["orders"]
    assert reconnect["pending_updates"] >= reconnect["orders"]
    assert reconnect["wire_bytes_per_order"] > 0
    assert reconnect["day_doc_bytes"] > 0
    ingest = report["ingest"]
    assert {"updates_per_s", "p50_ms", "p99_ms", "relay_rss_mb"} <= ingest.keys()
    assert ingest["stores"] == report["size"]["stores"]
    assert ingest["updates"] > 0
    assert ingest["errors"] == 0
    assert 0 < ingest["p50_ms"] <= ingest["p99_ms"]
    assert ingest["relay_rss_mb"] > 0
    sizes = report["sizes"]
    assert sizes["day_orders"] == report["size"]["day_orders"]
    assert sizes["year_bytes"] == sizes["day_doc_bytes"] * 365
    assert "extrapolated" in sizes["year_basis"]
    (target,) = report["targets"]
    assert target["unit"] == "s"
    assert target["limit"] == 2.0
    assert isinstance(target["met"], bool)


def test_the_rush_section_prints_its_windows_and_writes_its_json(
    quick_run: tuple[str, dict[str, Any], Path],
) -> None:
    stdout, _, output = quick_run
    rush_json = output.with_name("rush.json")
    for heading in ("Fynlo rush benchmark", "p99 per window of", "WAL peak", "Rush targets"):
        assert heading in stdout
    assert f"rush results: {rush_json}" in stdout
    report = json.loads(rush_json.read_text())
    size = report["size"]
    for server in ("edge", "bare"):
        figures = report[server]
        assert figures["sales"] == size["sales"]
        assert figures["errors"] == 0
        assert len(figures["window_p99_ms"]) == size["sales"] // size["window"]
        assert figures["last_p99_ms"] == figures["window_p99_ms"][-1] > 0
        assert figures["wal_peak_bytes"] > 0
    assert report["edge"]["one_day"]
    assert report["edge"]["rss_mb"] > 0
    assert len(report["targets"]) == 5


TABLES = ("orders", "order_lines", "payments", "drawer_entries", "audit", "crdt_update")


def _counts(conn: apsw.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def test_the_every_row_reference_writes_the_rows_an_edge_sale_writes(tmp_path: Path) -> None:
    sale = EdgeSale(tmp_path / "edge")  # opens the till and sells once
    try:
        before = _counts(sale.edge.store.read)
        sale.sell()
        edge = {t: n - before[t] for t, n in _counts(sale.edge.store.read).items()}
    finally:
        sale.close()
    path, checkpointer = raw_sale.prepare(tmp_path / "raw")
    try:
        conn = raw_sale.open_writer(path)
        raw_sale.sell_every_row(conn)
        assert _counts(conn) == edge
        conn.close()
    finally:
        checkpointer.stop()
    assert edge == {
        "orders": 1,
        "order_lines": 3,
        "payments": 1,
        "drawer_entries": 1,
        "audit": 1,
        "crdt_update": 1,
    }
