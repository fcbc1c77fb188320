"""Routes of the drawer area: till sessions, paid in/out, no-sale."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, JSONBody

from edge.app.auth.principal import Actor, requires
from edge.app.auth.service import resolve_approver
from edge.app.context import Edge
from edge.app.drawer import service
from edge.app.drawer.schemas import (
    CashMoveRequest,
    CloseSessionRequest,
    NoSaleRequest,
    OpenSessionRequest,
    SessionView,
)
from edge.app.params import DayQuery
from edge.domain.permissions import DRAWER_CLOSE, DRAWER_OPEN, DRAWER_REPORT
from shared.schemas.documents import DrawerEntry, DrawerEntryKind


def _edge(request: Request[Any, Any, Any]) -> Edge:
    return request.app.state.edge  # type: ignore[no-any-return]


def _created(value: Any, created: bool) -> Response[Any]:
    # A retried request (same client id) answers 200 with what the first one created.
    return Response(value, status_code=201 if created else 200)


@post("/drawer/sessions", guards=[requires(DRAWER_OPEN)])
async def open_session(
    request: Request[Actor, Any, Any], data: JSONBody[OpenSessionRequest]
) -> Response[SessionView]:
    """Open the main drawer's till session with a counted float (409 if one is open)."""
    edge = _edge(request)
    command = service.open_drawer(edge, request.user, data.counts, data.id)
    return _created(*await edge.store.writer.run(command))


@get("/drawer/sessions/current", guards=[requires(DRAWER_OPEN)])
async def current_session(request: Request[Actor, Any, Any]) -> SessionView:
    """The open session with its live expected cash (hidden from roles that count blind)."""
    return service.current_session(_edge(request), request.user)


@get("/drawer/sessions", guards=[requires(DRAWER_REPORT)])
async def list_sessions(
    request: Request[Actor, Any, Any], day: DayQuery = None
) -> list[SessionView]:
    """Sessions opened on a business day (YYYY-MM-DD; default the open day)."""
    return service.list_sessions(_edge(request), request.user, day)


@get("/drawer/sessions/{session_id:str}", guards=[requires(DRAWER_REPORT)])
async def session_detail(
    request: Request[Actor, Any, Any], session_id: FromPath[str]
) -> SessionView:
    """One session with all its cash movements."""
    return service.session_detail(_edge(request), request.user, session_id)


@post("/drawer/sessions/{session_id:str}/close", guards=[requires(DRAWER_CLOSE)], status_code=200)
async def close_session(
    request: Request[Actor, Any, Any],
    session_id: FromPath[str],
    data: JSONBody[CloseSessionRequest],
) -> SessionView:
    """Close a session with the cash counted out: expected, counted and over/short."""
    edge = _edge(request)
    return await edge.store.writer.run(
        service.close_drawer(edge, request.user, session_id, data.counts)
    )


async def _move(
    request: Request[Actor, Any, Any],
    kind: DrawerEntryKind,
    amount_minor: int,
    data: CashMoveRequest | NoSaleRequest,
) -> Response[DrawerEntry]:
    edge = _edge(request)
    approver = await resolve_approver(edge, request.user, data.manager_pin)
    command = service.move_cash(
        edge, request.user, kind, amount_minor, data.reason, approver, data.id
    )
    return _created(*await edge.store.writer.run(command))


@post("/drawer/paid-in", guards=[requires(DRAWER_OPEN)])
async def paid_in(
    request: Request[Actor, Any, Any], data: JSONBody[CashMoveRequest]
) -> Response[DrawerEntry]:
    """Put cash into the drawer without a sale (a cashier adds a manager PIN)."""
    return await _move(request, "paid_in", data.amount_minor, data)


@post("/drawer/paid-out", guards=[requires(DRAWER_OPEN)])
async def paid_out(
    request: Request[Actor, Any, Any], data: JSONBody[CashMoveRequest]
) -> Response[DrawerEntry]:
    """Take cash out of the drawer without a sale (a cashier adds a manager PIN)."""
    return await _move(request, "paid_out", data.amount_minor, data)


@post("/drawer/no-sale", guards=[requires(DRAWER_OPEN)])
async def no_sale(
    request: Request[Actor, Any, Any], data: JSONBody[NoSaleRequest | None] = None
) -> Response[DrawerEntry]:
    """Open the drawer without a sale (a cashier adds a manager PIN); the body may be empty."""
    return await _move(request, "no_sale", 0, data or NoSaleRequest())


router = Router(
    path="/api/v1",
    route_handlers=[
        open_session,
        current_session,
        list_sessions,
        session_detail,
        close_session,
        paid_in,
        paid_out,
        no_sale,
    ],
    tags=["drawer"],
)
