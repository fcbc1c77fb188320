"""The edge's sale, measured in process (service layer and single writer) and over HTTP.

A sale is the demo café's order of three lines (a Latte Regular with oat milk, two Croissants, an
Espresso) paid in cash into the open till. Edge figures:

* "sale" (judged): the quick-service sale, one writer command (``orders.sale.open_order`` with
  its payment: prices the lines, numbers the order, takes the cash into the till, audits), one
  commit; over HTTP one ``POST /api/v1/orders`` carrying its payment;
* "two_step": the table-service flow a tablet follows, ``create_order`` then ``take_payment``,
  each awaiting its commit (two commits per lone sale); over HTTP two requests;
* "write_path": no sale at all but the floor under one: a single command putting the same priced
  order, a payment and an audit entry, with no rules, reads or repricing. Its distance to raw is
  what the document write path costs; the rest is the service layer's.

The in-process figures are judged against a raw transaction of the same rows the sale writes
(``raw_sale.sell_every_row``: order, lines, payment, till entry, audit entries, document log row),
as DESIGN's prototype was; a raw write of the business rows alone (order, three lines, payment) is
shown beside it. The bare HTTP reference writes those business rows behind ``POST /sales`` (and in
two requests for the two-step flow).
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from bench import Sell, Summary, combine, drive_threads, raw_sale, summarise
from bench.bare_app import running_bare
from bench.load import generate
from edge.app.audit import audit
from edge.app.bootstrap import initialise, open_edge
from edge.app.catalog.queries import ITEMS, MODIFIER_GROUPS, list_all
from edge.app.catalog.schemas import Catalog
from edge.app.config import EdgeConfig
from edge.app.context import Edge
from edge.app.drawer.service import open_drawer
from edge.app.orders.payments import take_payment
from edge.app.orders.queries import next_number
from edge.app.orders.sale import open_order
from edge.app.orders.schemas import OrderCreate, PaymentCreate
from edge.app.orders.service import create_order
from edge.app.process import tune_gc
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import Item, ModifierGroup, Order, Payment
from tests.support.server import CASHIER_PIN, EdgeServer, pair_tablet, running_edge
from tests.support.store import owner_of

FLOAT_COUNTS = {"1000": 5, "500": 4}  # £70 in the till to start
TENDERED = 2000  # a £20 note for every sale: the till gives change
TABLET = "bench-tablet"
WRITERS = 10
WRITERS_NAME = "ten_writers"
MODES = ("sale", "two_step", "write_path")


def sale_lines(items: list[Item], groups: list[ModifierGroup]) -> list[dict[str, Any]]:
    """The three lines of every sale, as a request body spells them (ids from the demo catalog)."""
    by_name = {item.name: item for item in items}
    options = {(g.name, o.name): o.id for g in groups for o in g.options}
    return [
        {
            "item_id": by_name["Latte"].id,
            "quantity": 1,
            "option_ids": [options["Size", "Regular"], options["Milk", "Oat"]],
        },
        {"item_id": by_name["Croissant"].id, "quantity": 2},
        {"item_id": by_name["Espresso"].id, "quantity": 1},
    ]


class EdgeSale:
    """A demo store opened in process, with its owner logged in and the till open."""

    def __init__(self, data_dir: Path) -> None:
        initialise(data_dir, demo=True)
        self.edge: Edge = open_edge(EdgeConfig.load(data_dir))
        conn = self.edge.store.read
        self.actor = owner_of(self.edge, TABLET)
        self.lines = sale_lines(list_all(conn, ITEMS), list_all(conn, MODIFIER_GROUPS))
        self.edge.store.writer.call(open_drawer(self.edge, self.actor, FLOAT_COUNTS))
        self.template = self.sell()
        self.total_minor = self.template.totals.total_minor

    def close(self) -> None:
        self.edge.store.stop()

    def _order(self, order_id: str | None = None) -> Callable[..., Order]:
        data = msgspec.convert({"lines": self.lines, "id": order_id}, OrderCreate)
        return create_order(self.edge, self.actor, data)

    def sell(self) -> Order:
        """The quick-service sale: one command rings the order up and takes the cash."""
        data = msgspec.convert(
            {"lines": self.lines, "payments": [{"tender": "cash", "tendered_minor": TENDERED}]},
            OrderCreate,
        )
        return self.edge.store.writer.call(open_order(self.edge, self.actor, data))

    def _payment(self, order_id: str, total_minor: int) -> Callable[..., object]:
        data = PaymentCreate(tender="cash", tendered_minor=total_minor)
        return take_payment(self.edge, self.actor, order_id, data)

    def sell_two_step(self) -> Order:
        """Create, await the commit, pay, await the commit: what a table-service tablet does."""
        writer = self.edge.store.writer
        order = writer.call(self._order())
        writer.call(self._payment(order.id, order.totals.total_minor))
        return order

    def sell_write_path(self) -> None:
        """The floor: one command puts the priced order, a payment and an audit entry, no rules."""
        self.edge.store.writer.call(self._write_path)

    def _write_path(self, tx: WriteTx) -> None:
        day = self.template.business_day
        lines = [msgspec.structs.replace(line, id=uuid7()) for line in self.template.lines]
        order = msgspec.structs.replace(
            self.template,
            id=uuid7(),
            number=next_number(tx.conn, day),
            lines=lines,
            opened_at_ms=tx.at_ms,
            updated_at_ms=tx.at_ms,
        )
        payment = Payment(
            id=uuid7(),
            order_id=order.id,
            tender="cash",
            amount_minor=self.total_minor,
            tendered_minor=self.total_minor,
            taken_by=self.actor.employee_id,
            device_id=TABLET,
            taken_at_ms=tx.at_ms,
        )
        doc_id = self.edge.day_doc(day)
        tx.put(doc_id, "orders", order)
        tx.put(doc_id, "payments", payment)
        audit(tx, self.edge, self.actor, "order.sold", "order", order.id, day=day)

    def commits(self) -> int:
        """Transactions the writer has committed so far."""
        return self.edge.store.writer.batches


def measure(sale: EdgeSale, mode: str, threads: int, count: int, seconds: float) -> Summary:
    """One run of ``count`` sales (one of ``MODES``) from ``threads`` threads."""
    sell: Sell = {
        "sale": sale.sell,
        "two_step": sale.sell_two_step,
        "write_path": sale.sell_write_path,
    }[mode]
    before = sale.commits()
    latencies, elapsed = drive_threads(lambda: (sell, _nothing), threads, count, seconds)
    figures = summarise(latencies, elapsed)
    figures["commits_per_sale"] = round((sale.commits() - before) / max(1, len(latencies)), 3)
    return figures


def _nothing() -> None:
    """The edge's sale functions need no per-thread cleanup."""


def run_raw(
    data_dir: Path,
    threads: int,
    count: int,
    seconds: float,
    warmup: int,
    *,
    every_row: bool = False,
) -> Summary:
    """One run of a raw reference on a fresh file, each thread with its own connection."""
    path, checkpointer = raw_sale.prepare(data_dir)
    try:
        sell, close = raw_sale.seller(path, every_row)
        try:
            for _ in range(warmup):
                sell()
        finally:
            close()
        figures = summarise(
            *drive_threads(lambda: raw_sale.seller(path, every_row), threads, count, seconds)
        )
    finally:
        checkpointer.stop()
    figures["commits_per_sale"] = 1.0
    return figures


def run_edge(
    data_dir: Path, mode: str, threads: int, count: int, seconds: float, warmup: int
) -> Summary:
    """One run of the edge on a fresh demo store, after ``warmup`` unmeasured sales."""
    sale = EdgeSale(data_dir)
    try:
        for _ in range(warmup):
            sale.sell()
        return measure(sale, mode, threads, count, seconds)
    finally:
        sale.close()


def in_process(count: int, rounds: int, seconds: float, warmup: int) -> dict[str, Summary]:
    """Raw and edge, lone and under 10 writers, interleaved round by round; medians of rounds.

    Keys are ``{lone|ten_writers}/{raw|raw_rows|sale|two_step|write_path}``. Every run starts on
    a fresh store (its sales fill one business day), so no run pays for the days of the runs
    before it.
    """
    runs: dict[str, list[Summary]] = {}
    tune_gc()  # as `fynlo-edge serve` runs (raw and edge alike)
    with tempfile.TemporaryDirectory(prefix="fynlo-bench-") as tmp:
        stores = (Path(tmp) / f"store-{n}" for n in itertools.count())
        for _ in range(rounds):
            for name, threads in (("lone", 1), (WRITERS_NAME, WRITERS)):
                for key, every_row in (("raw", False), ("raw_rows", True)):
                    figures = run_raw(
                        next(stores), threads, count, seconds, warmup, every_row=every_row
                    )
                    runs.setdefault(f"{name}/{key}", []).append(figures)
                for mode in MODES:
                    figures = run_edge(next(stores), mode, threads, count, seconds, warmup)
                    runs.setdefault(f"{name}/{mode}", []).append(figures)
    return {key: combine(values) for key, values in runs.items()}


def over_http(
    sales: int, rounds: int, seconds: float, warmup: int, client: str = "http1"
) -> dict[str, Summary]:
    """The bare app and a real ``fynlo-edge serve`` under the same load, interleaved by round.

    Each round starts both servers on fresh stores. Keys are ``bare`` and ``edge`` (the
    one-request sale) and ``bare/two_step`` and ``edge/two_step`` (order, then payment): medians
    of rounds, plus the count of failed sales.
    """
    runs: dict[str, list[Summary]] = {}
    errors: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="fynlo-bench-http-") as tmp:
        for n in range(rounds):
            root = Path(tmp) / f"round-{n}"
            with running_bare(root / "bare") as bare_url, running_edge(root / "edge") as server:
                specs = edge_specs(server, sales, seconds, warmup, client)
                for flow, edge_spec in specs.items():
                    bare_spec = edge_spec | {"url": bare_url, "headers": {}} | _BARE_PATHS[flow]
                    for name, spec in (("bare", bare_spec), ("edge", edge_spec)):
                        key = name if flow == "sale" else f"{name}/{flow}"
                        result = generate(spec)
                        if not result["sales"]:
                            failure = result["first_error"]
                            raise RuntimeError(f"{key}: no sale went through: {failure}")
                        errors[key] = errors.get(key, 0) + int(result["errors"])
                        runs.setdefault(key, []).append(
                            {k: v for k, v in result.items() if k in _FIGURES}
                        )
    return {key: {**combine(values), "errors": errors[key]} for key, values in runs.items()}


_BARE_PATHS: dict[str, dict[str, str | None]] = {
    "sale": {"order_path": "/sales", "payment_path": None},
    "two_step": {"order_path": "/orders", "payment_path": "/orders/{id}/payments"},
}


_FIGURES = ("sales", "seconds", "sales_per_s", "p50_ms", "p99_ms")


def edge_specs(
    server: EdgeServer, sales: int, seconds: float, warmup: int, client: str
) -> dict[str, dict[str, Any]]:
    """Pair a till, log the cashier in, open the drawer, read the menu: each flow's load spec."""
    tablet = pair_tablet(server, "bench till")
    try:
        tablet.login(CASHIER_PIN)
        tablet.post("/api/v1/drawer/sessions", json={"counts": FLOAT_COUNTS}).raise_for_status()
        response = tablet.get("/api/v1/catalog")
        response.raise_for_status()
        catalog = msgspec.convert(response.json(), Catalog)
        headers = tablet.headers()
    finally:
        tablet.close()
    lines = sale_lines(catalog.items, catalog.modifier_groups)
    common = {
        "url": server.url,
        "headers": headers,
        "clients": WRITERS,
        "sales": sales,
        "seconds": seconds,
        "warmup": warmup,
        "client": client,
        "order_path": "/api/v1/orders",
    }
    cash = {"id": "$uuid", "tender": "cash", "tendered_minor": TENDERED}
    return {
        "sale": common
        | {"order_body": {"id": "$uuid", "lines": lines, "payments": [cash]}, "payment_path": None},
        "two_step": common
        | {
            "order_body": {"id": "$uuid", "lines": lines},
            "payment_path": "/api/v1/orders/{id}/payments",
            "payment_body": {"id": "$uuid", "tender": "cash", "tendered_minor": "$total"},
        },
    }
