"""Route: the reconciliation exceptions a manager must look at (repeated order numbers)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.params import Parameter

from edge.app.auth.principal import Actor, requires
from edge.app.context import Edge
from edge.app.exceptions import queries
from edge.app.pages import CURSOR, decode_cursor, page
from edge.app.params import DayQuery
from edge.domain.permissions import DRAWER_REPORT


@get("/exceptions", guards=[requires(DRAWER_REPORT)])
async def list_exceptions(
    request: Request[Actor, Any, Any],
    day: DayQuery = None,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Parameter(max_length=200, description=CURSOR)] = None,
) -> Response[list[queries.DuplicateNumber]]:
    """Order numbers held by two or more orders of one business day (the latest day first),
    with each order's id, state, totals, device and time; optionally of one business day.

    Derived from the orders replicated here, so they stay listed until the data changes: both
    sales are real and kept; this is how a manager reconciles the receipts that share a number.
    Page by page (the next page's cursor in X-Next-Cursor and Link rel=next).
    """
    edge: Edge = request.app.state.edge
    found = queries.duplicate_numbers(edge.store.read, day, limit + 1, decode_cursor(cursor))
    return page(request, found, limit, lambda d: (d.number, d.business_day))


router = Router(path="/api/v1", route_handlers=[list_exceptions], tags=["exceptions"])
