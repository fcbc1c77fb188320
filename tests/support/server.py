"""A real ``fynlo-edge serve`` process on a free loopback port, and a client that speaks to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.answers import expect_json

BIN = Path(sys.executable).parent / "fynlo-edge"

# Logins of the demo café (also printed by `make run` and listed in the README).
OWNER_PIN, MANAGER_PIN, CASHIER_PIN, SERVER_PIN, KITCHEN_PIN = (
    "1111",
    "2222",
    "3333",
    "4444",
    "5555",
)
OWNER_LOGIN = {"email": "owner@demo.fynlo.test", "password": "demo-owner-pass"}
# Pairing codes come from the manager's back-office login: in an enrolled demo store the owner is
# the org's, from the relay, with the relay's password, not the demo's.
MANAGER_LOGIN = {"email": "manager@demo.fynlo.test", "password": "demo-manager-pass"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``fynlo-edge`` with arguments and capture its output."""
    return subprocess.run(
        [str(BIN), *args], capture_output=True, text=True, check=check, timeout=120
    )


def wait_healthy(
    proc: subprocess.Popen[bytes], url: str, timeout_s: float, log: Path, name: str
) -> None:
    """Poll ``url``/health until the process answers 200 (or dies, or the deadline passes)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited early: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling a condition (the health answer), not waiting for luck
    raise TimeoutError(f"{name} did not answer in {timeout_s} s")


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """SIGTERM for a clean shutdown; SIGKILL if it does not come in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout_s)


def kill_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL: no clean shutdown, exactly like pulling the plug on the process."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


class EdgeServer:
    """One appliance process; ``restart`` and ``kill`` keep the same data directory and port."""

    def __init__(
        self, data_dir: Path, port: int | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.env = env or {}  # extra FYNLO_* settings for the process, e.g. a small WS queue
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"edge-{self.port}.log"
        self.office_token: str | None = None  # the manager's back office: issues pairing codes

    def start(self, timeout_s: float = 20.0) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN), "serve", "--data", str(self.data_dir), "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        wait_healthy(self.proc, self.url, timeout_s, self.log, "fynlo-edge")

    def kill(self) -> None:
        kill_process(self.proc)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


OPEN_TABLETS: list[Tablet] = []


class Tablet:
    """A paired tablet: holds its device token and the logged-in employee's access token."""

    def __init__(self, server: EdgeServer, device_token: str, *, per_test: bool = True) -> None:
        self.server = server
        self.device_token = device_token
        self.http = httpx.Client(base_url=server.url, timeout=30.0)
        self.access_token: str | None = None
        if per_test:  # closed after each test by the conftest fixture; others by their owner
            OPEN_TABLETS.append(self)

    def login(self, pin: str) -> dict[str, Any]:
        response = self.http.post(
            "/api/v1/auth/pin", json={"pin": pin}, headers={"X-Device-Token": self.device_token}
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        self.access_token = body["access_token"]
        return body

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, headers=self.headers(), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=json, headers=self.headers(), **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.http.patch(path, json=json, headers=self.headers(), **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.http.put(path, json=json, headers=self.headers(), **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, headers=self.headers(), **kw)

    def close(self) -> None:
        self.http.close()


def ws_url(server: EdgeServer, token: str) -> str:
    """The WebSocket address of ``server`` for a tablet holding the access ``token``."""
    return f"ws://127.0.0.1:{server.port}/api/v1/ws?token={token}"


def employee_id(tablet: Tablet) -> str:
    """The id of the employee logged in on ``tablet``."""
    return str(tablet.get("/api/v1/auth/me").json()["employee_id"])


def _issue_pairing_code(server: EdgeServer) -> httpx.Response:
    if server.office_token is None:
        login = expect_json(httpx.post(f"{server.url}/api/v1/auth/password", json=MANAGER_LOGIN))
        server.office_token = str(login["access_token"])
    return httpx.post(
        f"{server.url}/api/v1/devices/pairing-codes",
        headers={"Authorization": f"Bearer {server.office_token}"},
    )


def pairing_code(server: EdgeServer) -> str:
    """A one-time code from the API, asked for by the manager logged in to the back office once."""
    response = _issue_pairing_code(server)
    if response.status_code == 401:  # the owner's access token outlived its TTL: log in again
        server.office_token = None
        response = _issue_pairing_code(server)
    assert response.status_code == 201, response.text
    return str(response.json()["code"])


def pair_tablet(
    server: EdgeServer, name: str = "till", *, per_test: bool = True, code: str | None = None
) -> Tablet:
    """Pair a new tablet with ``code``, or one issued through the API as a manager would.

    The `fynlo-edge pairing-code` path is exercised by the auth and till-story tests; a subprocess
    per tablet here would cost half a second of interpreter start-up each.
    """
    code = code or pairing_code(server)
    response = httpx.post(f"{server.url}/api/v1/devices/pair", json={"code": code, "name": name})
    response.raise_for_status()
    return Tablet(server, response.json()["device_token"], per_test=per_test)


def logged_in(server: EdgeServer, pin: str, name: str, *, per_test: bool = True) -> Tablet:
    """A newly paired tablet with the employee holding ``pin`` logged in."""
    tablet = pair_tablet(server, name, per_test=per_test)
    tablet.login(pin)
    return tablet


@contextmanager
def running_edge(
    data_dir: Path, demo: bool = True, env: dict[str, str] | None = None
) -> Iterator[EdgeServer]:
    """Initialise a store in ``data_dir`` and run a server on it for the block."""
    cli("init", "--data", str(data_dir), *(["--demo"] if demo else []))
    server = EdgeServer(data_dir, env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()
