"""Route: the reconciliation exceptions a manager must look at (repeated order numbers)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get
from litestar.params import Parameter

from edge.app.auth.principal import Actor, requires
from edge.app.context import Edge
from edge.app.exceptions import queries
from edge.app.params import DayQuery
from edge.domain.permissions import DRAWER_REPORT


@get("/exceptions", guards=[requires(DRAWER_REPORT)])
async def list_exceptions(
    request: Request[Actor, Any, Any],
    day: DayQuery = None,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
) -> list[queries.DuplicateNumber]:
    """Order numbers held by two or more orders of one business day (the latest day first),
    with each order's id, state, totals, device and time; optionally of one business day.

    Derived from the orders replicated here, so they stay listed until the data changes: both
    sales are real and kept; this is how a manager reconciles the receipts that share a number.
    """
    edge: Edge = request.app.state.edge
    return queries.duplicate_numbers(edge.store.read, day, limit)


router = Router(path="/api/v1", route_handlers=[list_exceptions], tags=["exceptions"])
