"""Relay ingest load: many enrolled stores pushing at once, in a process of its own.

Each device (one store) pushes ``updates`` small real Yjs updates to a day document of its own
store, one update per ``POST /api/v1/sync/push``, as an appliance does after each sale while
online. Every body is built before the clock starts (a pycrdt document per store, one order entry
per update, encoded as the appliance does) so the relay is measured, not the generator. Loopback
only; bounded by the update count and a time limit. Reads a JSON spec on stdin, prints one JSON
result line on stdout:

    {"url": "http://127.0.0.1:8090", "devices": [{"token": "...", "doc_id": "store/.../day/..."}],
     "updates": 50, "warmup": 2, "seconds": 30}
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any
from urllib.parse import urlsplit

import httptools
import pycrdt

from bench import summarise
from bench.load import LOOPBACK, serve_stdin
from shared.ids import uuid7
from shared.schemas import compact
from shared.schemas.documents import Order, OrderLine, OrderTotals
from shared.schemas.sync import PushDoc, PushRequest, Update, encode, update_hash

PUSH = "/api/v1/sync/push"


def order_entry(n: int, business_day: str) -> Order:
    """A small paid order of a day."""
    at = int(time.time() * 1000)
    line = OrderLine(id=uuid7(), item_id=uuid7(), name="Latte", unit_price_minor=340, quantity=1)
    order = Order(
        id=uuid7(), number=n, business_day=business_day, state="paid", lines=[line],
        totals=OrderTotals(subtotal_minor=340, tax_minor=57, total_minor=340), device_id="t1",
        opened_by=uuid7(), opened_at_ms=at, updated_at_ms=at,
    )  # fmt: skip
    return order


def push_bodies(doc_id: str, count: int) -> list[bytes]:
    """``count`` push requests, each one Yjs update adding one order to the document."""
    doc = pycrdt.Doc()
    orders = doc.get("orders", type=pycrdt.Map)
    day = doc_id.rsplit("/", 1)[1]
    bodies = []
    for n in range(count):
        before = doc.get_state()
        order = order_entry(n + 1, day)
        orders[order.id] = compact.encode(order)  # as the appliance writes it
        update = doc.get_update(before)
        request = PushRequest(
            docs=[PushDoc(doc_id=doc_id, updates=[Update(hash=update_hash(update), body=update)])]
        )
        bodies.append(encode(request))
    return bodies


class Device:
    """One store's keep-alive HTTP/1.1 connection posting msgpack pushes (parsed by httptools)."""

    def __init__(self, url: str, token: str, bodies: list[bytes]) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._head = (
            f"POST {PUSH} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/x-msgpack\r\n"
            "Accept: application/x-msgpack\r\n"
        )
        self.bodies = bodies
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def push(self, body: bytes) -> int:
        """Send one push; the answer's status."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._streams
        writer.write(f"{self._head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        response = _Response()
        parser = httptools.HttpResponseParser(response)
        while not response.complete:
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionError("the relay closed the connection")
            parser.feed_data(chunk)
        return int(parser.get_status_code())

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            await self._streams[1].wait_closed()


class _Response:
    """httptools callbacks: only the end of the message matters here."""

    def __init__(self) -> None:
        self.complete = False

    def on_message_complete(self) -> None:
        self.complete = True


class Ingest:
    """One run: every device pushes its bodies back to back; latencies and errors noted."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error = ""

    async def device_loop(self, device: Device, bodies: list[bytes], measure: bool) -> None:
        clock = time.perf_counter
        for body in bodies:
            if clock() > self.deadline:
                return
            t0 = clock()
            status = await device.push(body)
            if status != 200:
                self.errors += 1
                self.first_error = self.first_error or f"push answered {status}"
                if self.errors > max(10, len(self.latencies)):
                    return  # the relay refuses: stop rather than hammer it
            elif measure:
                self.latencies.append(clock() - t0)


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Warm every connection up, then measure every device pushing at once."""
    host = urlsplit(spec["url"]).hostname
    if host not in LOOPBACK:
        raise ValueError(f"load is generated against loopback only, not {host!r}")
    warmup, updates = int(spec["warmup"]), int(spec["updates"])
    devices = [
        Device(spec["url"], d["token"], push_bodies(d["doc_id"], warmup + updates))
        for d in spec["devices"]
    ]
    ingest = Ingest(float(spec["seconds"]))
    try:
        await asyncio.gather(*(ingest.device_loop(d, d.bodies[:warmup], False) for d in devices))
        start = time.perf_counter()
        await asyncio.gather(*(ingest.device_loop(d, d.bodies[warmup:], True) for d in devices))
        elapsed = time.perf_counter() - start
    finally:
        for device in devices:
            await device.close()
    figures = summarise(ingest.latencies, elapsed)
    return {
        "stores": len(devices),
        "updates": figures["sales"],
        "seconds": figures["seconds"],
        "updates_per_s": figures["sales_per_s"],
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "push_bytes": round(statistics.mean(len(b) for d in devices for b in d.bodies), 1),
        "errors": ingest.errors,
        "first_error": ingest.first_error,
    }


def main() -> int:
    return serve_stdin(run)


if __name__ == "__main__":
    raise SystemExit(main())
