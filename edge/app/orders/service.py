"""Order commands: open, ring up, void lines, edit, send, close, reopen.

Discounts are in ``discounts.py``, tenders in ``payments.py``, refunds and voids in ``refunds.py``;
``ticket.py`` prices lines and records an order (totals, state, audit, event).

Each public function validates what it can up front and returns a command for the single writer
(``edge.store.writer.run(cmd)`` in a route, ``edge.store.writer.call(cmd)`` in a benchmark). The
command reads the order through ``tx.conn``, decides through ``edge.domain`` and records the new
order through ``ticket.record``. Nothing here knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import apsw
import msgspec

from edge.app.auth.principal import Actor
from edge.app.context import Edge
from edge.app.orders import queries, replays, ticket
from edge.app.orders.schemas import LinesAdd, LineVoid, OrderCreate, OrderDetail, OrderPatch
from edge.domain.errors import NotFound
from edge.domain.money import parse_percent
from edge.domain.order import Rule, check_action, transition
from edge.domain.permissions import ORDER_CREATE, ORDER_VOID, authorize, require
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import Order, OrderLine

T = TypeVar("T")
OrderCommand = Callable[[WriteTx], Order]
# Orders rung up by a back-office login (no paired tablet) name this as their device.
BACK_OFFICE = "back-office"


class Replayable(Generic[T]):
    """A command that, once run, tells whether it only returned what an earlier request made.

    Tablets mint ids and retry after a timeout; the second attempt must not write again, and the
    route answers it 200 instead of 201.
    """

    def __init__(self, run: Callable[[WriteTx], tuple[T, bool]]) -> None:
        self._run = run
        self.replayed = False

    def __call__(self, tx: WriteTx) -> T:
        value, self.replayed = self._run(tx)
        return value


def allow(actor: Actor, rule: Rule, approver: Actor | None) -> str | None:
    """Check the actor against a transition rule; the approving manager's id on an override."""
    if not rule.override:
        require(actor.role, rule.permission)
        return None
    return approved_by(actor, rule.permission, approver)


def approved_by(actor: Actor, permission: str, approver: Actor | None) -> str | None:
    """``authorize`` the actor; the approver's id when the action rests on their override."""
    how = authorize(actor.role, permission, approver.role if approver else None)
    return approver.employee_id if how == "override" and approver else None


def order_detail(conn: apsw.Connection, order_id: str) -> OrderDetail:
    """An order with its payments and refunds."""
    order = queries.get_order(conn, order_id)
    return OrderDetail(
        **msgspec.structs.asdict(order),
        payments=queries.payments_of(conn, order_id),
        refunds=queries.refunds_of(conn, order_id),
    )


def create_order(edge: Edge, actor: Actor, data: OrderCreate) -> Replayable[Order]:
    """Open an order numbered next in its business day; a known ``data.id`` replays."""
    require(actor.role, ORDER_CREATE)
    if data.service_charge_percent is not None:
        parse_percent(data.service_charge_percent)
    order_id = data.id or uuid7()
    request = replays.digest(data) if data.id is not None else None

    def run(tx: WriteTx) -> tuple[Order, bool]:
        # Only an id the tablet minted can be a retry (an id minted here is new).
        existing = None if data.id is None else queries.find_order(tx.conn, order_id)
        if existing is not None:
            return existing, True
        settings = edge.settings(tx.conn)
        day = edge.open_day(tx.conn, tx.at_ms, settings)
        lines = ticket.price_lines(tx.conn, data.lines, order_id)
        service = data.service_charge_percent
        order = Order(
            id=order_id,
            number=queries.next_number(tx.conn, day),
            business_day=day,
            lines=lines,
            # Not held to the actor's discount limit (see add_lines).
            discounts=ticket.automatic_for(tx.conn, settings, tx.at_ms, lines),
            service_charge_percent=settings.service_charge_percent if service is None else service,
            # The store's tax setup is snapshotted: a later settings change never reprices it.
            tax_mode=settings.tax_mode,
            rounding=settings.rounding,
            currency=settings.currency,
            table=data.table,
            note=data.note,
            device_id=actor.device_id or BACK_OFFICE,
            opened_by=actor.employee_id,
            opened_at_ms=tx.at_ms,
            updated_at_ms=tx.at_ms,
        )
        no_money = queries.Ledger(0, 0, 0)  # no tender can predate the order
        totals = ticket.retotal(tx.conn, order, ledger=no_money)
        # What the request asked for: a retry of this id must ask the same (orders.replays).
        detail: dict[str, object] = {"lines": len(lines)}
        if request is not None:
            detail["request"] = request
        return ticket.record(tx, edge, actor, order, "created", detail=detail, totals=totals), False

    return Replayable(run)


def add_lines(edge: Edge, actor: Actor, order_id: str, data: LinesAdd) -> OrderCommand:
    """Ring more lines up on an open or sent order; resending the same line ids changes nothing."""

    def command(tx: WriteTx) -> Order:
        order = queries.get_order(tx.conn, order_id)
        known = {line.id for line in order.lines}
        if all(line.id is not None and line.id in known for line in data.lines):
            return order  # a retry of lines already added
        allow(actor, check_action(order, "add_lines"), None)
        lines = ticket.price_lines(tx.conn, data.lines, order_id)
        # The owner's automatic rules are never held to the actor's discount limit: a sale is not
        # blocked by them. They count toward the total a later manual discount is judged on.
        automatic = ticket.automatic_for(tx.conn, edge.settings(tx.conn), tx.at_ms, lines)
        order = msgspec.structs.replace(
            order, lines=[*order.lines, *lines], discounts=[*order.discounts, *automatic]
        )
        detail = {"line_ids": [line.id for line in lines]}
        return ticket.record(tx, edge, actor, order, "lines_added", detail=detail)

    return command


def void_line(
    edge: Edge,
    actor: Actor,
    order_id: str,
    line_id: str,
    data: LineVoid,
    approver: Actor | None = None,
) -> OrderCommand:
    """Void one line; once the kitchen has it, that takes order.void or a manager's override."""

    def command(tx: WriteTx) -> Order:
        order = queries.get_order(tx.conn, order_id)
        line = _line(order, line_id)
        if line.voided:
            return order  # voided already: a retry
        allow(actor, check_action(order, "edit_lines"), None)
        approver_id = approved_by(actor, ORDER_VOID, approver) if line.sent else None
        lines = [
            msgspec.structs.replace(ln, voided=True) if ln.id == line_id else ln
            for ln in order.lines
        ]
        order = msgspec.structs.replace(order, lines=lines)
        detail = {"line_id": line_id, "name": line.name, "sent": line.sent, "reason": data.reason}
        return ticket.record(
            tx, edge, actor, order, "line_voided", approved_by=approver_id, detail=detail
        )

    return command


def _line(order: Order, line_id: str) -> OrderLine:
    for line in order.lines:
        if line.id == line_id:
            return line
    raise NotFound(f"order #{order.number} has no line {line_id}", line_id=line_id)


def update_order(edge: Edge, actor: Actor, order_id: str, data: OrderPatch) -> OrderCommand:
    """Change an open or sent order's service charge, table or note."""
    changes = {
        name: getattr(data, name)
        for name in ("service_charge_percent", "table", "note")
        if getattr(data, name) is not msgspec.UNSET
    }
    if isinstance(changes.get("service_charge_percent"), str):
        parse_percent(changes["service_charge_percent"])

    def command(tx: WriteTx) -> Order:
        order = queries.get_order(tx.conn, order_id)
        allow(actor, check_action(order, "edit_lines"), None)
        if not changes:
            return order
        order = msgspec.structs.replace(order, **changes)
        return ticket.record(tx, edge, actor, order, "updated", detail=dict(changes))

    return command


def send_order(edge: Edge, actor: Actor, order_id: str) -> OrderCommand:
    """Send the order's unsent live lines to the kitchen ("order.sent")."""

    def command(tx: WriteTx) -> Order:
        order = queries.get_order(tx.conn, order_id)
        allow(actor, check_action(order, "send"), None)
        fresh = [ln.id for ln in order.lines if not ln.sent and not ln.voided and ln.quantity > 0]
        lines = [
            msgspec.structs.replace(ln, sent=True) if ln.id in fresh else ln for ln in order.lines
        ]
        state = transition(order.state, "send", paid_minor=order.totals.paid_minor)
        order = msgspec.structs.replace(order, lines=lines, state=state)
        return ticket.record(tx, edge, actor, order, "sent", detail={"line_ids": fresh})

    return command


def close_order(edge: Edge, actor: Actor, order_id: str) -> OrderCommand:
    """Close a paid order, or one with nothing left to pay (it leaves the open tickets)."""

    def command(tx: WriteTx) -> Order:
        order = queries.get_order(tx.conn, order_id)
        if order.state == "closed":
            return order
        allow(actor, check_action(order, "close"), None)
        state = transition(order.state, "close")
        order = msgspec.structs.replace(order, state=state, closed_at_ms=tx.at_ms)
        return ticket.record(tx, edge, actor, order, "closed")

    return command


def reopen_order(
    edge: Edge, actor: Actor, order_id: str, approver: Actor | None = None
) -> OrderCommand:
    """Reopen a paid or closed order for changes (order.reopen, or a manager's override)."""

    def command(tx: WriteTx) -> Order:
        order = queries.get_order(tx.conn, order_id)
        approver_id = allow(actor, check_action(order, "reopen"), approver)
        state = transition(order.state, "reopen")
        order = msgspec.structs.replace(order, state=state, closed_at_ms=None)
        # Not settled: a reopened order owes nothing yet and would fall straight back to paid.
        return ticket.record(
            tx, edge, actor, order, "reopened", approved_by=approver_id, settles=False
        )

    return command
