"""The README's curl walkthrough, run as it stands against what `make run` starts.

The shell block under "A sale with nothing but curl" is taken from README.md, pointed at this
test's ports and data directory (nothing else is changed) and run with bash, curl and jq. Each
`# ->` line in it is what the command above it must print: the figures a newcomer reads are the
figures the till gives.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
READY = "Ctrl-C stops both."


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## A sale with nothing but curl", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """tools/demo_stack.py, as `make run` starts it, on free ports: (appliance port, its data)."""
    port, data = free_port(), tmp_path / "demo"
    log = tmp_path / "stack.log"
    args = [sys.executable, str(ROOT / "tools/demo_stack.py"), "--data", str(data),
            "--relay-data", str(tmp_path / "relay"), "--port", str(port),
            "--relay-port", str(free_port())]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        for _ in range(600):  # up to a minute: both processes start and the demo enrolls
            if READY in log.read_text() or proc.poll() is not None:
                break
            _exited_within(proc, 0.1)
        assert READY in log.read_text(), log.read_text()
        yield port, data
    finally:
        stop_process(proc)


def _exited_within(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """Wait up to ``seconds`` for the stack to exit (between looks at its log)."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def test_the_walkthrough_sells_and_balances_as_the_readme_says(stack: tuple[int, Path]) -> None:
    assert shutil.which("jq") and shutil.which("curl"), "the walkthrough needs curl and jq"
    port, data = stack
    script = walkthrough()
    expected = [
        line.removeprefix("# -> ") for line in script.splitlines() if line.startswith("# -> ")
    ]
    assert len(expected) == 4
    script = script.replace("http://127.0.0.1:8080/api/v1", f"http://127.0.0.1:{port}/api/v1")
    script = script.replace("--data data/demo", f"--data {data}")
    script = script.replace(".venv/bin/fynlo-edge", str(BIN / "fynlo-edge"))
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = [line for line in done.stdout.splitlines() if re.match(r"^\{.*\}$", line)]
    assert printed == expected, done.stdout
