"""One process works on a data directory at a time: a rebuild or a second server on a directory a
server uses is refused, and a server killed with -9 leaves no lock behind."""

from __future__ import annotations

from pathlib import Path

from tests.support.server import EdgeServer, cli, free_port


def test_a_rebuild_or_second_server_is_refused_while_one_serves(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli("init", "--data", str(data), "--demo")
    server = EdgeServer(data)
    server.start()
    try:
        rebuild = cli("rebuild", "--data", str(data), check=False)
        assert rebuild.returncode == 2 and "in use" in rebuild.stderr, rebuild.stderr
        assert server.proc is not None and f"pid {server.proc.pid}" in rebuild.stderr
        second = cli("serve", "--data", str(data), "--port", str(free_port()), check=False)
        assert second.returncode == 2 and "in use" in second.stderr, second.stderr
        server.kill()  # kill -9: the kernel drops the lock with the process
        done = cli("rebuild", "--data", str(data))
        assert "rebuilt projections" in done.stdout
        server.start()  # and the server takes it again
    finally:
        server.stop()
