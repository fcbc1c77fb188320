"""Route: what this appliance received but cannot read, left out of its tables.

An entity another replica wrote in a shape this version cannot read (a bug, older data) stays in
its document, so every replica converges, but out of the tables: the rest of the menu, the staff
and the sales go on syncing (edge.store.quarantine). A manager sees it here; the owner removes it
on the relay (``DELETE /api/v1/orgs/{org}/entries?doc_id=&collection=&key=``) or
rewrites the field, and it leaves this list by the next sync.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from edge.app.auth.principal import Actor, requires
from edge.domain.permissions import AUDIT_READ
from edge.store import quarantine
from edge.store.quarantine import Quarantined


@get("/sync/quarantine", guards=[requires(AUDIT_READ)])
async def list_quarantine(request: Request[Actor, Any, Any]) -> list[Quarantined]:
    """Every entry received from elsewhere that this appliance cannot read, last seen first
    (``key`` '': a whole root it does not know; ``projected``: the readable rest of the entry is
    in use, its unreadable cells left out)."""
    return quarantine.entries(request.app.state.edge.store.read)
