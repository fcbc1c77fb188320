"""An earlier release of Fynlo, run for real: to write the data an upgrade must migrate.

The code of a past commit is unpacked from this repository's history (``git archive``) and its
``fynlo-edge`` and ``fynlo-relay`` run from there with the same interpreter and dependencies: its
packages come first on ``PYTHONPATH``, ahead of the installed (current) ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

from tests.support.server import EdgeServer, stop_process, wait_healthy

REPO = Path(__file__).resolve().parents[2]
_MAINS = {
    "fynlo-edge": "from edge.app.cli import main",
    "fynlo-relay": "from cloud.relay.cli import main",
}


def unpack(commit: str, into: Path) -> Path | None:
    """The packages of ``commit`` unpacked in ``into``; None when git or the commit is missing."""
    if shutil.which("git") is None:
        return None
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "edge", "cloud", "shared"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return None
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


class Release:
    """The commands of an unpacked release."""

    def __init__(self, code: Path) -> None:
        self.code = code

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(self.code),
            "PYTHONUNBUFFERED": "1",
            **(extra or {}),
        }

    def argv(self, command: str, *args: str) -> list[str]:
        return [sys.executable, "-c", f"import sys; {_MAINS[command]}; sys.exit(main())", *args]

    def run(self, command: str, *args: str) -> str:
        """Run a command of the release; its output."""
        done = subprocess.run(
            self.argv(command, *args),
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.code,  # python -c puts the working directory first on the path
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def serve(self, command: str, data: Path, port: int, log: Path, env: dict[str, str]) -> Served:
        args = ["serve", "--data", str(data), "--port", str(port)]
        with log.open("ab") as out:
            proc = subprocess.Popen(
                self.argv(command, *args),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env(env),
                cwd=self.code,
            )
        served = Served(proc)
        try:
            wait_healthy(proc, f"http://127.0.0.1:{port}", 30.0, log, f"old {command}")
        except (RuntimeError, TimeoutError):
            served.stop()
            raise
        return served


class Served:
    """A running process of a release."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def stop(self) -> None:
        stop_process(self.proc)


def edge_of_release(release: Release, server: EdgeServer) -> Served:
    """Serve ``server``'s data directory and port with the release instead of this code."""
    return release.serve("fynlo-edge", server.data_dir, server.port, server.log, server.env)
