"""Operations endpoints: /health, /api/v1/status and Prometheus /metrics, plus the WebSocket
event stream."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, Literal

import msgspec
from litestar import Request, Response, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.types import Message, Scope

from edge.app.auth.principal import Actor, requires
from edge.app.context import Edge
from edge.app.exceptions.queries import count_duplicate_numbers
from edge.app.hub import RESYNC, RESYNC_CLOSE_CODE
from edge.domain.permissions import DEVICE_MANAGE
from edge.store import quarantine
from edge.store.documents import document_sizes
from edge.sync.worker import SyncSummary
from shared.schemas.documents import DOC_BUDGET_BYTES

# (status, route template): every answer, those built by exception handlers and the 404s of no
# route included (counted as the ASGI response starts, whatever produced it).
HTTP_RESPONSES: Counter[tuple[int, str]] = Counter()


def _edge(request: Request[Any, Any, Any] | WebSocket[Any, Any, Any]) -> Edge:
    return request.app.state.edge  # type: ignore[no-any-return]


class Health(msgspec.Struct, kw_only=True):
    status: Literal["ok"] = "ok"


class Writes(msgspec.Struct, kw_only=True):
    batches: int
    commands: int


class ApplianceStatus(msgspec.Struct, kw_only=True):
    """Which store this appliance serves and how it is doing (for staff who manage devices)."""

    store_id: str
    org_id: str
    schema_version: int
    writer: Writes
    websocket_clients: int
    # Selling never waits on the relay: a sync failure shows here, not in /health.
    sync: SyncSummary


@get("/health", exclude_from_auth=True, tags=["ops"])
async def health() -> Health:
    """Liveness, for anyone: 200 while the process serves. Nothing else is told here; who the
    store is and how it is doing is ``GET /api/v1/status``, behind a login."""
    return Health()


@get("/api/v1/status", guards=[requires(DEVICE_MANAGE)], tags=["ops"])
async def status(request: Request[Any, Any, Any]) -> ApplianceStatus:
    """The store and org this appliance serves, its schema version, writer, tablets and sync."""
    edge = _edge(request)
    row = edge.store.read.execute("PRAGMA user_version").fetchone()
    return ApplianceStatus(
        store_id=edge.store_id,
        org_id=edge.org_id,
        schema_version=row[0] if row else 0,
        writer=Writes(batches=edge.store.writer.batches, commands=edge.store.writer.commands),
        websocket_clients=edge.hub.connections,
        sync=edge.sync.summary if edge.sync else SyncSummary(enrolled=False),
    )


@get("/metrics", exclude_from_auth=True, tags=["ops"], media_type="text/plain; version=0.0.4")
async def metrics(request: Request[Any, Any, Any]) -> Response[str]:
    """Prometheus text exposition."""
    edge = _edge(request)
    conn = edge.store.read
    orders = conn.execute("SELECT state, count(*) FROM orders GROUP BY state").fetchall()
    over_budget = sum(size > DOC_BUDGET_BYTES for size in document_sizes(conn).values())
    # Kept in the store: a repair a restart ago still counts.
    repairs, missing = conn.execute(
        "SELECT coalesce(sum(repairs), 0), coalesce(sum(relay_missing), 0) FROM sync_state"
    ).fetchone()
    lines = [
        "# TYPE fynlo_writer_batches_total counter",
        f"fynlo_writer_batches_total {edge.store.writer.batches}",
        "# TYPE fynlo_writer_commands_total counter",
        f"fynlo_writer_commands_total {edge.store.writer.commands}",
        "# TYPE fynlo_ws_clients gauge",
        f"fynlo_ws_clients {edge.hub.connections}",
        "# TYPE fynlo_ws_events_total counter",
        f"fynlo_ws_events_total {edge.hub.published}",
        "# TYPE fynlo_ws_dropped_total counter",
        f"fynlo_ws_dropped_total {edge.hub.dropped}",
        "# TYPE fynlo_orders gauge",
        *(f'fynlo_orders{{state="{state}"}} {count}' for state, count in orders),
        "# HELP fynlo_documents_over_budget documents above the 5 MB budget",
        "# TYPE fynlo_documents_over_budget gauge",
        f"fynlo_documents_over_budget {over_budget}",
        "# HELP fynlo_sync_repairs_total what the relay lacked, pushed again (nothing was pending)",
        "# TYPE fynlo_sync_repairs_total counter",
        f"fynlo_sync_repairs_total {repairs}",
        "# HELP fynlo_sync_relay_missing documents the last check found the relay lacking",
        "# TYPE fynlo_sync_relay_missing gauge",
        f"fynlo_sync_relay_missing {missing}",
        "# HELP fynlo_quarantined_entities entries received that this appliance cannot read",
        "# TYPE fynlo_quarantined_entities gauge",
        f"fynlo_quarantined_entities {sum(quarantine.counts(conn).values())}",
        "# HELP fynlo_reconciliation_exceptions order numbers repeated within a business day",
        "# TYPE fynlo_reconciliation_exceptions gauge",
        f"fynlo_reconciliation_exceptions {count_duplicate_numbers(conn)}",
        "# HELP fynlo_http_responses_total answers by status and route template",
        "# TYPE fynlo_http_responses_total counter",
        *(
            f'fynlo_http_responses_total{{status="{s}",route="{r}"}} {n}'
            for (s, r), n in sorted(HTTP_RESPONSES.items())
        ),
    ]
    return Response(
        "\n".join(lines) + "\n", status_code=200, media_type="text/plain; version=0.0.4"
    )


async def count_response(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: Litestar runs it for every message the app sends, so errors
    answered by exception handlers, and requests no route matched, are counted too."""
    if message["type"] == "http.response.start":
        route = scope.get("path_template") or "unmatched"
        HTTP_RESPONSES[(int(message["status"]), str(route))] += 1


@websocket("/api/v1/ws", tags=["ops"])
async def events(socket: WebSocket[Actor, Any, Any]) -> None:
    """Order and drawer events for paired tablets: authenticate with ``?token=<access token>``.

    A tablet the hub dropped for falling behind gets a final ``resync`` message and a close with
    code 4000, so it reconnects and reloads its view instead of silently hearing nothing more.
    """
    edge = _edge(socket)
    await socket.accept()
    subscription = edge.hub.subscribe(socket.user.device_id)
    await socket.send_json({"type": "hello", "data": {"employee_id": socket.user.employee_id}})
    receiver = asyncio.create_task(_drain(socket))
    try:
        while not receiver.done():
            getter = asyncio.create_task(subscription.next())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                continue
            message = getter.result()
            await socket.send_json(message)
            if subscription.dropped and message["type"] == RESYNC:
                await socket.close(code=RESYNC_CLOSE_CODE, reason=RESYNC)
                return
    except WebSocketDisconnect:
        pass
    finally:
        edge.hub.unsubscribe(subscription)
        receiver.cancel()


async def _drain(socket: WebSocket[Any, Any, Any]) -> None:
    """Read (and ignore) what the tablet sends, so a close is noticed at once."""
    try:
        while True:
            await socket.receive_data(mode="text")
    except WebSocketDisconnect:
        return
