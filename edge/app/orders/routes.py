"""Routes of the orders area: ring up, send, discount, pay, refund, void, reopen, close.

Each handler parses, resolves an inline manager override, runs one service command through the
writer and returns its result. Creates that carry a client id answer 201 the first time, 200 with
the stored entity when retried, and 409 when the id comes with a different request (``replays``).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from litestar import Request, Response, Router, delete, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter

from edge.app.auth.principal import Actor, requires
from edge.app.auth.service import resolve_approver
from edge.app.context import Edge
from edge.app.orders import discounts, payments, queries, refunds, replays, sale, service
from edge.app.orders.schemas import (
    Approval,
    DiscountApply,
    LinesAdd,
    LineVoid,
    OrderCreate,
    OrderDetail,
    OrderPatch,
    OrderVoid,
    PaymentCreate,
    PaymentResult,
    RefundCreate,
    RefundResult,
)
from edge.app.pages import CURSOR, decode_cursor, page
from edge.app.params import DayQuery
from edge.domain.business_day import parse_day
from edge.domain.permissions import (
    ORDER_CREATE,
    ORDER_DISCOUNT,
    ORDER_EDIT,
    ORDER_READ,
    ORDER_SEND,
    ORDER_VOID,
    PAYMENT_TAKE,
)
from shared.schemas.documents import Order, OrderState

R = TypeVar("R")
Req = Request[Actor, Any, Any]


def _edge(request: Req) -> Edge:
    return request.app.state.edge  # type: ignore[no-any-return]


async def _approver(request: Req, manager_pin: str | None) -> Actor | None:
    return await resolve_approver(_edge(request), request.user, manager_pin)


def _answer(value: R, replayed: bool) -> Response[R]:
    return Response(value, status_code=200 if replayed else 201)


@post("/orders", guards=[requires(ORDER_CREATE)])
async def create_order(request: Req, data: JSONBody[OrderCreate]) -> Response[OrderDetail]:
    """Open an order with its first lines and, for a quick-service sale, its ``payments``.

    The order and its payments are taken together or not at all (each tender needs
    payment.take). A retried id returns the stored order, with its payments, with 200.
    """
    edge = _edge(request)
    opened = sale.open_order(edge, request.user, data)
    command = replays.guarded(opened, replays.same_order(data), "order", data.id)
    order = await edge.store.writer.run(command)
    return _answer(order, command.replayed)


@get("/orders", guards=[requires(ORDER_READ)])
async def list_orders(
    request: Req,
    # "state" is a name Litestar reserves for the app state: read the query parameter by alias.
    order_state: Annotated[OrderState | None, QueryParameter(name="state")] = None,
    day: DayQuery = None,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Parameter(max_length=200, description=CURSOR)] = None,
) -> Response[list[Order]]:
    """Orders, newest first, filtered by state and business day; page by page (the next
    page's cursor in X-Next-Cursor and Link rel=next)."""
    if day is not None:
        parse_day(day)
    after = decode_cursor(cursor)
    rows = queries.list_orders(_edge(request).store.read, order_state, day, limit + 1, after)
    return page(request, rows, limit, lambda o: (o.opened_at_ms, o.id))


@get("/orders/{order_id:str}", guards=[requires(ORDER_READ)])
async def get_order(request: Req, order_id: FromPath[str]) -> OrderDetail:
    """One order with its payments and refunds."""
    return service.order_detail(_edge(request).store.read, order_id)


@post("/orders/{order_id:str}/lines", guards=[requires(ORDER_EDIT)], status_code=200)
async def add_lines(request: Req, order_id: FromPath[str], data: JSONBody[LinesAdd]) -> Order:
    """Add lines to an open or sent order."""
    edge = _edge(request)
    return await edge.store.writer.run(service.add_lines(edge, request.user, order_id, data))


@post(
    "/orders/{order_id:str}/lines/{line_id:str}/void",
    guards=[requires(ORDER_EDIT)],
    status_code=200,
)
async def void_line(
    request: Req, order_id: FromPath[str], line_id: FromPath[str], data: JSONBody[LineVoid]
) -> Order:
    """Void a line; a line the kitchen has needs order.void or a manager's PIN."""
    edge = _edge(request)
    approver = await _approver(request, data.manager_pin)
    command = service.void_line(edge, request.user, order_id, line_id, data, approver)
    return await edge.store.writer.run(command)


@post("/orders/{order_id:str}/discounts", guards=[requires(ORDER_DISCOUNT)], status_code=200)
async def apply_discount(
    request: Req, order_id: FromPath[str], data: JSONBody[DiscountApply]
) -> Order:
    """Apply a discount; above the store's thresholds it needs a manager (or their PIN)."""
    edge = _edge(request)
    approver = await _approver(request, data.manager_pin)
    command = discounts.apply_discount(edge, request.user, order_id, data, approver)
    return await edge.store.writer.run(command)


@delete(
    "/orders/{order_id:str}/discounts/{applied_id:str}",
    guards=[requires(ORDER_DISCOUNT)],
    status_code=200,
)
async def remove_discount(
    request: Req, order_id: FromPath[str], applied_id: FromPath[str]
) -> Order:
    """Remove a discount from an open or sent order."""
    edge = _edge(request)
    command = discounts.remove_discount(edge, request.user, order_id, applied_id)
    return await edge.store.writer.run(command)


@patch("/orders/{order_id:str}", guards=[requires(ORDER_EDIT)])
async def update_order(request: Req, order_id: FromPath[str], data: JSONBody[OrderPatch]) -> Order:
    """Change the service charge, table or note of an open or sent order."""
    edge = _edge(request)
    return await edge.store.writer.run(service.update_order(edge, request.user, order_id, data))


@post("/orders/{order_id:str}/send", guards=[requires(ORDER_SEND)], status_code=200)
async def send_order(request: Req, order_id: FromPath[str]) -> Order:
    """Send the new lines to the kitchen."""
    edge = _edge(request)
    return await edge.store.writer.run(service.send_order(edge, request.user, order_id))


@post("/orders/{order_id:str}/payments", guards=[requires(PAYMENT_TAKE)])
async def take_payment(
    request: Req, order_id: FromPath[str], data: JSONBody[PaymentCreate]
) -> Response[PaymentResult]:
    """Take cash (with change), card or external; a retried id returns the stored payment."""
    edge = _edge(request)
    command = replays.guarded(
        payments.take_payment(edge, request.user, order_id, data),
        replays.same_payment(data),
        "payment",
        data.id,
    )
    result = await edge.store.writer.run(command)
    return _answer(result, command.replayed)


@post("/orders/{order_id:str}/refunds", guards=[requires(PAYMENT_TAKE)])
async def refund(
    request: Req, order_id: FromPath[str], data: JSONBody[RefundCreate]
) -> Response[RefundResult]:
    """Give money back on a paid or closed order (payment.refund, or a manager's PIN)."""
    edge = _edge(request)
    approver = await _approver(request, data.manager_pin)
    command = replays.guarded(
        refunds.refund_payment(edge, request.user, order_id, data, approver),
        replays.same_refund(data),
        "refund",
        data.id,
    )
    result = await edge.store.writer.run(command)
    return _answer(result, command.replayed)


@post("/orders/{order_id:str}/void", guards=[requires(ORDER_VOID)], status_code=200)
async def void_order(request: Req, order_id: FromPath[str], data: JSONBody[OrderVoid]) -> Order:
    """Void an order; once money was taken it needs a manager, and paid orders a refund first."""
    edge = _edge(request)
    approver = await _approver(request, data.manager_pin)
    command = refunds.void_order(edge, request.user, order_id, data, approver)
    return await edge.store.writer.run(command)


@post("/orders/{order_id:str}/reopen", guards=[requires(ORDER_EDIT)], status_code=200)
async def reopen_order(
    request: Req, order_id: FromPath[str], data: JSONBody[Approval | None] = None
) -> Order:
    """Reopen a paid or closed order (order.reopen, or a manager's PIN)."""
    edge = _edge(request)
    approver = await _approver(request, data.manager_pin if data is not None else None)
    command = service.reopen_order(edge, request.user, order_id, approver)
    return await edge.store.writer.run(command)


@post("/orders/{order_id:str}/close", guards=[requires(ORDER_EDIT)], status_code=200)
async def close_order(request: Req, order_id: FromPath[str]) -> Order:
    """Close a paid order."""
    edge = _edge(request)
    return await edge.store.writer.run(service.close_order(edge, request.user, order_id))


router = Router(
    path="/api/v1",
    route_handlers=[
        create_order,
        list_orders,
        get_order,
        add_lines,
        void_line,
        apply_discount,
        remove_discount,
        update_order,
        send_order,
        take_payment,
        refund,
        void_order,
        reopen_order,
        close_order,
    ],
    tags=["orders"],
)
