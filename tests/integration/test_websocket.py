"""The WebSocket hub pushes committed order and drawer events to logged-in tablets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support.server import EdgeServer, Tablet, ws_url


def _next_of(ws: Any, prefix: str) -> dict[str, Any]:
    """The next message whose type starts with ``prefix`` (events of other kinds may interleave)."""
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
        if message["type"].startswith(prefix):
            return message


def test_a_tablet_hears_orders_and_drawer_events(edge_server: EdgeServer, manager: Tablet) -> None:
    assert manager.access_token
    with connect(ws_url(edge_server, manager.access_token)) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "hello"
        opened = manager.post("/api/v1/drawer/sessions", json={"counts": {"1000": 5}})
        assert opened.status_code == 201, opened.text
        assert _next_of(ws, "drawer.")["data"]["id"] == opened.json()["id"]
        item = manager.get("/api/v1/catalog/items", params={"q": "Croissant"}).json()[0]
        order = manager.post(
            "/api/v1/orders", json={"lines": [{"item_id": item["id"], "quantity": 2}]}
        )
        assert order.status_code == 201, order.text
        event = _next_of(ws, "order.")
        assert event["data"]["id"] == order.json()["id"]


def test_the_websocket_refuses_a_missing_or_bad_token(edge_server: EdgeServer) -> None:
    for url in (f"ws://127.0.0.1:{edge_server.port}/api/v1/ws", ws_url(edge_server, "nope")):
        with pytest.raises(InvalidStatus), connect(url) as ws:
            ws.recv(timeout=5)
