"""The HTTP reference: a bare Litestar + uvicorn app doing a sale's two writes, nothing else.

``POST /sales`` inserts an order, its lines and its cash payment in one ``BEGIN IMMEDIATE``
transaction through the same SQL as ``bench.raw_sale`` (the quick-service sale); ``POST /orders``
and ``POST /orders/{id}/payments`` do the same in two requests (the table-service sale).
No auth, no documents, no rules, no audit. Sync handlers run on Litestar's thread pool and take
turns on one apsw connection behind a lock (used by two threads at once, apsw raises
``ThreadingViolationError``).

Run: ``python -m bench.bare_app --data DIR --port PORT`` (prints one JSON line when serving).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apsw
import msgspec
import uvicorn
from litestar import Litestar, Request, get, post
from litestar.datastructures import State

from bench.raw_sale import immediate, insert_order, insert_payment, open_writer, prepare
from shared.schemas.documents import Order, Payment
from tests.support.server import free_port, stop_process, wait_healthy

PRICE_MINOR = 300  # every line costs the same: pricing is business logic, not a physical cost


class BareLine(msgspec.Struct):
    """A line of the order body; other fields of the edge's body shape are ignored."""

    item_id: str
    quantity: int = 1


class BareOrder(msgspec.Struct):
    lines: list[BareLine]


class BarePayment(msgspec.Struct):
    tender: str = "cash"
    amount_minor: int | None = None
    tendered_minor: int | None = None


class BareSale(msgspec.Struct):
    """The quick-service body: lines and the tenders taken with them."""

    lines: list[BareLine]
    payments: list[BarePayment]


class BareSaleResult(msgspec.Struct):
    order: Order
    payments: list[Payment]


class Writer:
    """The one writer connection, used by one pool thread at a time.

    Also tried: a connection per pool thread. It sells ~20% more per second, but threads then
    wait on SQLite's busy handler, which sleeps in steps of milliseconds: p99 80-110 ms instead
    of 15-20 ms. The lock is the stronger reference.
    """

    def __init__(self, path: Path) -> None:
        self.conn = open_writer(path)
        self.lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[apsw.Connection]:
        with self.lock, immediate(self.conn):
            yield self.conn


def _writer(request: Request[Any, Any, Any]) -> Writer:
    writer: Writer = request.app.state.writer
    return writer


@post("/orders", sync_to_thread=True)
def create_order(request: Request[Any, Any, Any], data: BareOrder) -> Order:
    """Insert the order and its lines."""
    lines = [(ln.item_id, "Item", PRICE_MINOR, ln.quantity) for ln in data.lines]
    with _writer(request).transaction() as conn:
        return insert_order(conn, lines)


@post("/orders/{order_id:str}/payments", sync_to_thread=True)
def pay(request: Request[Any, Any, Any], order_id: str, data: BarePayment) -> Payment:
    """Insert a payment of the amount sent."""
    amount = data.amount_minor if data.amount_minor is not None else data.tendered_minor or 0
    with _writer(request).transaction() as conn:
        return insert_payment(conn, order_id, amount)


@post("/sales", sync_to_thread=True)
def sell(request: Request[Any, Any, Any], data: BareSale) -> BareSaleResult:
    """Insert the order, its lines and its payments in one transaction."""
    lines = [(ln.item_id, "Item", PRICE_MINOR, ln.quantity) for ln in data.lines]
    with _writer(request).transaction() as conn:
        order = insert_order(conn, lines)
        total = order.totals.total_minor
        payments = [insert_payment(conn, order.id, total) for _ in data.payments]
    return BareSaleResult(order=order, payments=payments)


@get("/health")
async def health() -> dict[str, str]:
    """Answers once the app serves."""
    return {"status": "ok"}


def create_app(path: Path) -> Litestar:
    """The bare app over the store file at ``path``."""
    return Litestar(
        route_handlers=[create_order, pay, sell, health],
        state=State({"writer": Writer(path)}),
    )


@contextmanager
def running_bare(data_dir: Path, timeout_s: float = 20.0) -> Iterator[str]:
    """Serve the bare app on a free loopback port for the block; yield its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    root = Path(__file__).resolve().parent.parent
    log = data_dir.parent / f"bare-{port}.log"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.bare_app", "--data", str(data_dir), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"},
        )
    try:
        wait_healthy(proc, url, timeout_s, log, "bare app")
        yield url
    finally:
        stop_process(proc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="directory of the store file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    path, checkpointer = prepare(args.data)
    print(json.dumps({"event": "serving", "url": f"http://{args.host}:{args.port}"}), flush=True)
    try:
        # The same server settings as `fynlo-edge serve`.
        uvicorn.run(
            create_app(path), host=args.host, port=args.port, log_level="warning", access_log=False
        )
    finally:
        checkpointer.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
