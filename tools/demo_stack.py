"""``make run``: a relay and one enrolled demo appliance on loopback, until Ctrl-C.

First run: creates the demo org and store on the relay, enrolls the appliance with the store's
one-time code and loads the demo café (which then syncs to the relay). Later runs reuse both data
directories. Only the two console scripts are used, exactly as an operator would.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
OWNER_EMAIL, OWNER_PASSWORD = "owner@demo.fynlo.test", "demo-owner-pass"
LOGINS = """demo logins (PIN on a paired tablet; email/password for the back office):
  owner    PIN 1111   (the org's owner, from the relay: back office on the relay's login)
  manager  PIN 2222   manager@demo.fynlo.test / demo-manager-pass
  cashier  PIN 3333
  server   PIN 4444
  kitchen  PIN 5555"""


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)  # polling until the server answers
    sys.exit(f"{url} did not answer in {timeout_s} s")


def first_code(relay_data: Path) -> str | None:
    """On a fresh relay: the demo org and store; the store's enrollment code."""
    if (relay_data / "relay.db").exists():
        return None
    relay = str(BIN / "fynlo-relay")
    org = run(
        relay,
        "org",
        "create",
        "--data",
        str(relay_data),
        "--name",
        "Fynlo Demo",
        "--owner-email",
        OWNER_EMAIL,
        "--owner-password",
        OWNER_PASSWORD,
    ).split()[-1]
    return run(
        relay,
        "store",
        "create",
        "--data",
        str(relay_data),
        "--org",
        org,
        "--name",
        "Fynlo Demo Café",
    ).split()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/demo"))
    parser.add_argument("--relay-data", type=Path, default=Path("data/relay"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--relay-port", type=int, default=8090)
    args = parser.parse_args()
    args.relay_data.mkdir(parents=True, exist_ok=True)
    code = first_code(args.relay_data)
    relay_url = f"http://{args.host}:{args.relay_port}"
    relay = subprocess.Popen(
        [
            str(BIN / "fynlo-relay"),
            "serve",
            "--data",
            str(args.relay_data),
            "--host",
            args.host,
            "--port",
            str(args.relay_port),
        ]
    )
    processes = [relay]
    try:
        wait_healthy(relay_url, relay)
        if not (args.data / "edge.db").exists():
            if code is None:
                code = run(
                    str(BIN / "fynlo-relay"),
                    "enrollment-code",
                    "--data",
                    str(args.relay_data),
                    "--store",
                    _first_store(args.relay_data),
                    "--replace",  # the store may have had an appliance: this one replaces it
                ).split()[-1]
            print(
                run(
                    str(BIN / "fynlo-edge"),
                    "enroll",
                    "--data",
                    str(args.data),
                    "--relay",
                    relay_url,
                    "--code",
                    code,
                    "--name",
                    "demo appliance",
                    "--demo",
                ),
                end="",
            )
        edge = subprocess.Popen(
            [
                str(BIN / "fynlo-edge"),
                "serve",
                "--data",
                str(args.data),
                "--host",
                args.host,
                "--port",
                str(args.port),
            ]
        )
        processes.append(edge)
        edge_url = f"http://{args.host}:{args.port}"
        wait_healthy(edge_url, edge)
        print(f"\nappliance: {edge_url}   API docs: {edge_url}/schema")
        print(f"relay:     {relay_url}   API docs: {relay_url}/schema")
        print(f"relay owner login: {OWNER_EMAIL} / {OWNER_PASSWORD}")
        print(LOGINS)
        print("Ctrl-C stops both.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(processes):
            proc.terminate()
            proc.wait(timeout=15)


def _first_store(relay_data: Path) -> str:
    import sqlite3

    with sqlite3.connect(relay_data / "relay.db") as conn:
        row = conn.execute("SELECT id FROM stores ORDER BY created_at_ms LIMIT 1").fetchone()
    if row is None:
        sys.exit("the relay has no store: remove data/relay and run again")
    return str(row[0])


if __name__ == "__main__":
    sys.exit(main())
