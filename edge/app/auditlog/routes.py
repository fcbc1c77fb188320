"""Route: read the audit trail (who did what, when, on which device, approved by whom)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.params import Parameter

from edge.app.auth.principal import Actor, requires
from edge.app.pages import CURSOR, decode_cursor, page
from edge.app.params import DayQuery
from edge.domain.permissions import AUDIT_READ
from edge.store import rowdata
from shared.schemas.documents import AuditEntry


@get("/audit", guards=[requires(AUDIT_READ)])
async def list_audit(
    request: Request[Actor, Any, Any],
    day: DayQuery = None,
    entity_id: Annotated[str | None, Parameter(max_length=64)] = None,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 200,
    cursor: Annotated[str | None, Parameter(max_length=200, description=CURSOR)] = None,
) -> Response[list[AuditEntry]]:
    """Audit entries, newest first, optionally of one business day or one entity; page by page
    (the next page's cursor in X-Next-Cursor and Link rel=next)."""
    edge = request.app.state.edge
    sql = "SELECT data FROM audit WHERE 1 = 1"
    args: list[object] = []
    if day is not None:
        sql += " AND doc_id = ?"
        args.append(edge.day_doc(day))
    if entity_id is not None:
        sql += " AND entity_id = ?"
        args.append(entity_id)
    after = decode_cursor(cursor)
    if after is not None:
        sql += " AND (at_ms, id) < (?, ?)"
        args += after
    sql += " ORDER BY at_ms DESC, id DESC LIMIT ?"
    args.append(limit + 1)
    rows = [rowdata.decode(r[0], AuditEntry) for r in edge.store.read.execute(sql, args)]
    return page(request, rows, limit, lambda e: (e.at_ms, e.id))


router = Router(path="/api/v1", route_handlers=[list_audit], tags=["audit"])
