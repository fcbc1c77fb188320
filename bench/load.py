"""HTTP load generator: concurrent clients selling through an API, in a process of its own.

A sale is one request, ``POST order_path`` with an order body that carries its payments, or two:
the order, then ``POST payment_path`` (its ``{id}`` replaced by the new order's id) with the
payment body. In bodies the string ``"$uuid"``
becomes a fresh UUIDv7 (ids born on the tablet) and ``"$total"`` the order's ``total_minor``.
Loopback only; bounded by a sale count and a time limit. Reads a JSON spec on stdin and writes
its JSON result to the spec's ``result_path``:

    {"url": "http://127.0.0.1:8000", "headers": {}, "order_path": "/orders",
     "order_body": {...}, "payment_path": "/orders/{id}/payments", "payment_body": {...},
     "clients": 10, "sales": 2000, "seconds": 20, "warmup": 100}

With ``"record": true`` the result also lists every measured sale in completion order:
``latencies_ms`` and ``completed_s`` (seconds from the start of the measured phase), so a long
run can be cut into windows and its drift seen.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httptools
import httpx
import msgspec

from bench import summarise
from shared.ids import uuid7

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def fill(template: Any, total_minor: int | None = None) -> Any:
    """The body of one request: placeholders of ``template`` replaced."""
    if isinstance(template, dict):
        return {k: fill(v, total_minor) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, total_minor) for v in template]
    if template == "$uuid":
        return uuid7()
    if template == "$total":
        return total_minor
    return template


class Http1:
    """One keep-alive HTTP/1.1 connection speaking JSON, parsed by httptools.

    httpx spends ~1 ms of CPU per request (h11 and anyio in pure Python): on two cores the
    client then saturates before the server does. This costs ~40 µs, so the server is measured.
    """

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        fixed = {
            "Host": f"{self._host}:{self._port}",
            "Content-Type": "application/json",
            **headers,
        }
        self._head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        """POST ``body`` as JSON; the status and the decoded JSON answer."""
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        data = msgspec.json.encode(body)
        request = f"POST {path} HTTP/1.1\r\n{self._head}Content-Length: {len(data)}\r\n\r\n"
        self._writer.write(request.encode() + data)
        response = _Response()
        parser = httptools.HttpResponseParser(response)
        while not response.complete:
            chunk = await self._reader.read(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            parser.feed_data(chunk)
        raw = b"".join(response.body)
        return parser.get_status_code(), msgspec.json.decode(raw) if raw else None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()


class _Response:
    """httptools callbacks: collect the body, note the end of the message."""

    def __init__(self) -> None:
        self.body: list[bytes] = []
        self.complete = False

    def on_body(self, chunk: bytes) -> None:
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.complete = True


class HttpxClient:
    """The same calls through httpx (``"client": "httpx"``), to compare client overhead."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        response = await self._client.post(path, json=body)
        return response.status_code, response.json() if response.content else None

    async def close(self) -> None:
        """The shared httpx client is closed by its owner."""


class Load:
    """Shared state of one run: what to send, how many sales are left, what came back."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.remaining = 0
        self.deadline = 0.0
        self.latencies: list[float] = []
        self.completed: list[float] = []  # when each measured sale finished, from ``started``
        self.started = 0.0
        self.errors = 0
        self.first_error = ""

    async def sale(self, client: Http1 | HttpxClient) -> bool:
        """One sale; False (and the error noted) when a request fails.

        With a ``payment_path`` the sale is two requests (order, then its payment); without one,
        the order body carries its payments and the sale is that one request.
        """
        spec = self.spec
        status, order = await client.post(spec["order_path"], fill(spec["order_body"]))
        if status >= 300:
            return self._failed(spec["order_path"], status, order)
        if not spec.get("payment_path"):
            return True
        path = spec["payment_path"].replace("{id}", order["id"])
        body = fill(spec["payment_body"], order["totals"]["total_minor"])
        status, payment = await client.post(path, body)
        if status >= 300:
            return self._failed(path, status, payment)
        return True

    def _failed(self, path: str, status: int, body: Any) -> bool:
        self.errors += 1
        if not self.first_error:
            self.first_error = f"{path} {status} {body}"
        return False

    async def client_loop(self, client: Http1 | HttpxClient, measure: bool) -> None:
        clock = time.perf_counter
        while self.remaining > 0 and clock() < self.deadline:
            self.remaining -= 1
            t0 = clock()
            ok = await self.sale(client)
            if ok and measure:
                t1 = clock()  # one event loop: appending here keeps completion order
                self.latencies.append(t1 - t0)
                self.completed.append(t1 - self.started)
            if self.errors > max(10, len(self.latencies)):
                return  # the server refuses: stop rather than hammer it

    async def phase(
        self, clients: list[Http1 | HttpxClient], sales: int, seconds: float, measure: bool
    ) -> float:
        """Run ``sales`` sales over the clients; return the elapsed time."""
        self.remaining = sales
        start = self.started = time.perf_counter()
        self.deadline = start + seconds
        await asyncio.gather(*(self.client_loop(client, measure) for client in clients))
        return time.perf_counter() - start


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Warm up, then measure; the summary of the measured sales."""
    host = urlsplit(spec["url"]).hostname
    if host not in LOOPBACK:
        raise ValueError(f"load is generated against loopback only, not {host!r}")
    count = int(spec["clients"])
    headers = spec.get("headers", {})
    load = Load(spec)
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(
        base_url=spec["url"], headers=headers, limits=limits, timeout=30.0
    ) as shared:
        clients: list[Http1 | HttpxClient] = (
            [HttpxClient(shared) for _ in range(count)]
            if spec.get("client") == "httpx"
            else [Http1(spec["url"], headers) for _ in range(count)]
        )
        try:
            await load.phase(clients, int(spec.get("warmup", 0)), float(spec["seconds"]), False)
            elapsed = await load.phase(clients, int(spec["sales"]), float(spec["seconds"]), True)
        finally:
            for client in clients:
                await client.close()
    result: dict[str, Any] = summarise(load.latencies, elapsed)
    result.update(
        clients=count,
        errors=load.errors,
        first_error=load.first_error[:500],
        client=spec.get("client", "http1"),
    )
    if spec.get("record"):
        result["latencies_ms"] = [round(lat * 1000, 4) for lat in load.latencies]
        result["completed_s"] = [round(at, 4) for at in load.completed]
    return result


def generate(spec: dict[str, Any], module: str = "bench.load") -> dict[str, Any]:
    """Run the load generator in a process of its own (not sharing our GIL); its result.

    The result comes back in a file, not on stdout: a recorded run's is hundreds of KB, and a
    pipe left non-blocking by the child's event loop cut it short (seen at 160 and 256 KiB).
    """
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    with tempfile.TemporaryDirectory(prefix="fynlo-load-") as tmp:
        out = Path(tmp) / "result.json"
        proc = subprocess.run(
            [sys.executable, "-m", module],
            input=json.dumps({**spec, "result_path": str(out)}),
            capture_output=True,
            text=True,
            cwd=root,
            env=env,
            timeout=float(spec["seconds"]) * 2 + 60,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"load generator {module} failed: {proc.stderr[-2000:]}")
        try:
            result: dict[str, Any] = json.loads(out.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RuntimeError(
                f"load generator {module}: no readable result ({exc}): {proc.stderr[-2000:]}"
            ) from exc
    return result


def serve_stdin(load: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]) -> int:
    """A load process's main: the spec on stdin, the JSON result written where it names."""
    spec = json.loads(sys.stdin.read())
    try:
        import uvloop
    except ImportError:  # the plain loop works, only with more client overhead
        result = asyncio.run(load(spec))
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(load(spec))
    Path(spec["result_path"]).write_text(json.dumps(result))
    return 0


def main() -> int:
    return serve_stdin(run)


if __name__ == "__main__":
    raise SystemExit(main())
