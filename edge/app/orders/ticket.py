"""What an order holds and what it comes to: lines priced from the catalog, automatic discounts,
totals recomputed from the lines and the payment ledger, and the one place an order is recorded.
"""

from __future__ import annotations

from functools import cache

import apsw
import msgspec

from edge.app.audit import audit
from edge.app.auth.principal import Actor
from edge.app.context import Edge, is_sealed
from edge.app.orders import queries
from edge.app.orders.schemas import LineInput
from edge.domain.business_day import local_weekday_hhmm
from edge.domain.discounts import applies_now, automatic_discounts
from edge.domain.errors import Conflict, InvalidInput
from edge.domain.order import settle
from edge.domain.pricing import price_line
from edge.domain.totals import compute_totals
from edge.store.memo import memoised
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import (
    AppliedDiscount,
    Discount,
    Order,
    OrderLine,
    OrderTotals,
    StoreSettings,
)

# A priced line depends on these collections only: the writer's memo drops its priced lines when
# one of them changes.
PRICED_FROM = ("items", "modifier_groups", "categories", "tax_rates")


def price_lines(conn: apsw.Connection, inputs: list[LineInput], order_id: str) -> list[OrderLine]:
    """Price each requested line from the catalog as it is now (a snapshot on the order).

    The writer prices a given choice (item, variant, options, quantity) once until the catalog
    changes: a café sells the same few lines all day.
    """
    _check_line_ids(conn, inputs, order_id)

    @cache
    def catalog() -> queries.Catalog:
        """Read once, on the first line the memo has not priced."""
        return queries.catalog_for(conn, (line.item_id for line in inputs))

    priced: list[OrderLine] = []
    for position, line in enumerate(inputs):
        choice = (line.item_id, line.variant_id, tuple(line.option_ids), line.quantity)
        template = memoised(
            conn, PRICED_FROM, choice, lambda p=position, ln=line: _price(catalog(), p, ln)
        )
        priced.append(
            msgspec.structs.replace(template, id=line.id or uuid7(), note=line.note or None)
        )
    return priced


def _price(catalog: queries.Catalog, position: int, line: LineInput) -> OrderLine:
    """One line priced from ``catalog``, with no id or note yet (see ``price_lines``)."""
    item = catalog.items.get(line.item_id)
    if item is None:
        raise InvalidInput(
            f"line {position + 1}: there is no item {line.item_id!r} on the menu",
            item_id=line.item_id,
        )
    return price_line(
        item,
        variant_id=line.variant_id,
        option_ids=list(line.option_ids),
        groups=catalog.groups,
        taxes=catalog.taxes,
        category=catalog.categories.get(item.category_id),
        quantity=line.quantity,
        line_id="",
    )


def _check_line_ids(conn: apsw.Connection, inputs: list[LineInput], order_id: str) -> None:
    given = [line.id for line in inputs if line.id is not None]
    if len(set(given)) != len(given):
        raise InvalidInput("two lines of the request share one id", line_ids=given)
    for line_id, owner in queries.line_orders(conn, given).items():
        where = "this order" if owner == order_id else "another order"
        raise Conflict(f"line id {line_id} is already used by {where}", line_id=line_id)


def automatic_for(
    conn: apsw.Connection, settings: StoreSettings, at_ms: int, lines: list[OrderLine]
) -> list[AppliedDiscount]:
    """The time-window discounts live at ``at_ms`` (store time) for these newly rung lines."""
    if not lines:
        return []
    weekday, hhmm = local_weekday_hhmm(at_ms, settings.timezone)

    def live_rules() -> list[Discount]:
        rules = [d for d in queries.live_discounts(conn) if d.scope == "item" and d.window]
        return [rule for rule in rules if applies_now(rule, weekday, hhmm)]

    # The rules live in a given minute, worked out once: every sale of that minute asks.
    rules = memoised(conn, "discounts", ("live at", weekday, hhmm), live_rules)
    if not rules:
        return []
    categories = queries.item_categories(conn, (line.item_id for line in lines))
    return automatic_discounts(rules, lines, categories, weekday, hhmm, uuid7)


def retotal(
    conn: apsw.Connection,
    order: Order,
    pending_paid_minor: int = 0,
    *,
    ledger: queries.Ledger | None = None,
) -> OrderTotals:
    """The order's totals from its lines, discounts and ledger (plus a pending refund or void).

    ``ledger`` spares the query when the caller knows it (a new order has none).
    """
    money = queries.ledger(conn, order.id) if ledger is None else ledger
    receipt = compute_totals(
        order.lines,
        order.discounts,
        service_charge_percent=order.service_charge_percent,
        tax_mode=order.tax_mode,
        rounding=order.rounding,
        paid_minor=money.paid_minor + pending_paid_minor,
        tip_minor=money.tip_minor,
        refunded_minor=money.refunded_minor,
    )
    return receipt.totals


def with_tender(totals: OrderTotals, paid_minor: int, tip_minor: int) -> OrderTotals:
    """Totals after a tender of ``paid_minor`` (negative for a refund) and ``tip_minor``."""
    return msgspec.structs.replace(
        totals,
        paid_minor=totals.paid_minor + paid_minor,
        tip_minor=totals.tip_minor + tip_minor,
        balance_minor=totals.balance_minor - paid_minor,
    )


def writable_day(tx: WriteTx, edge: Edge, order: Order) -> str:
    """The order's business day, refusing a day whose Z report has sealed it."""
    if is_sealed(tx.conn, edge.day_doc(order.business_day)):
        raise Conflict(
            f"order #{order.number} belongs to {order.business_day}, which is closed",
            business_day=order.business_day,
        )
    return order.business_day


def record(
    tx: WriteTx,
    edge: Edge,
    actor: Actor,
    order: Order,
    event: str,
    *,
    approved_by: str | None = None,
    detail: dict[str, object] | None = None,
    settles: bool = True,
    totals: OrderTotals | None = None,
) -> Order:
    """Settle ``order``'s state from its totals, write it, audit and publish it.

    ``totals`` defaults to a retotal from the ledger in the projections, which show this command's
    own payments only after it returns (or flushes): a command that records a payment or refund
    passes the totals that include it.
    """
    if totals is None:
        totals = retotal(tx.conn, order)
    # settle() also refuses an overpaid order, so it runs even when the state must not move.
    state = settle(order.state, totals.balance_minor, totals.total_minor)
    order = msgspec.structs.replace(
        order, totals=totals, state=state if settles else order.state, updated_at_ms=tx.at_ms
    )
    day = writable_day(tx, edge, order)
    tx.put(edge.day_doc(day), "orders", order)
    audit(
        tx,
        edge,
        actor,
        f"order.{event}",
        "order",
        order.id,
        day=day,
        approved_by=approved_by,
        detail={"number": order.number, **(detail or {})},
    )
    tx.publish(f"order.{event}", order)
    return order
