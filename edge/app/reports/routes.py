"""Routes of the reports area: X report, Z report (closes the day), sealed Z reports."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get, post
from litestar.params import JSONBody

from edge.app.auth.principal import Actor, requires
from edge.app.context import Edge
from edge.app.params import DayPath, DayQuery
from edge.app.reports import service
from edge.domain.permissions import DAY_CLOSE, DRAWER_REPORT
from edge.domain.reports import DayReport
from shared.schemas.fields import Day


class CloseDayRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which business day to close (default: the open one)."""

    day: Day | None = None


def _edge(request: Request[Any, Any, Any]) -> Edge:
    return request.app.state.edge  # type: ignore[no-any-return]


@get("/reports/x", guards=[requires(DRAWER_REPORT)])
async def x_report(request: Request[Actor, Any, Any], day: DayQuery = None) -> DayReport:
    """The X report of a business day so far (default: the open day); changes nothing."""
    return service.x_report(_edge(request), day)


@post("/reports/z", guards=[requires(DAY_CLOSE)], status_code=201)
async def z_report(
    request: Request[Actor, Any, Any], data: JSONBody[CloseDayRequest | None] = None
) -> service.SealedDay:
    """Close a business day: 409 while orders or till sessions are open, then seal it."""
    edge = _edge(request)
    day = data.day if data else None
    return await edge.store.writer.run(service.close_day(edge, request.user, day))


@get("/reports/z/{day:str}", guards=[requires(DRAWER_REPORT)])
async def sealed_z_report(request: Request[Actor, Any, Any], day: DayPath) -> service.SealedDay:
    """The Z report a closed day was sealed with (404 if the day is not closed)."""
    return service.sealed_day(_edge(request), day)


router = Router(
    path="/api/v1", route_handlers=[x_report, z_report, sealed_z_report], tags=["reports"]
)
