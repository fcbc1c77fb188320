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

import pytest

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
        for subject in ("raw", "sale", "two_step", "write_path"):
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
