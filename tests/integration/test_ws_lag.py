"""A tablet that falls too far behind on the WebSocket is told to resync and disconnected."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.support.server import EdgeServer, Tablet, running_edge, ws_url

QUEUE = 8  # the server's per-tablet bound, set through FYNLO_WS_QUEUE
RESYNC_CLOSE_CODE = 4000
# About 50 MB of events: more than the largest loopback socket buffers hold (the drop usually
# comes after a few MB; the loop stops there).
MAX_ORDERS = 1000


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """This module's demo store, serving with a small WebSocket queue bound."""
    data_dir = tmp_path_factory.mktemp("edge") / "data"
    with running_edge(data_dir, env={"FYNLO_WS_QUEUE": str(QUEUE)}) as server:
        yield server


def metric(server: EdgeServer, name: str) -> int:
    """One unlabelled value of the server's Prometheus metrics."""
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(f"{name} "):
            return int(line.split()[1])
    raise AssertionError(f"no metric {name}")


@contextmanager
def stalled(server: EdgeServer, tablet: Tablet) -> Iterator[ClientConnection]:
    """A socket whose client stops reading after the hello, like a tablet whose app froze.

    ``max_queue=1`` pauses the client's reader thread once a frame waits unread, so TCP pushes
    back on the server; compression is off so the events fill the socket buffers at full size.
    """
    assert tablet.access_token
    url = ws_url(server, tablet.access_token)
    with connect(url, max_queue=1, max_size=None, compression=None) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        yield ws


class Listener:
    """A healthy tablet: a thread reads every message as it arrives until the socket closes."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.heard = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        try:
            for raw in self.ws:
                with self.heard:
                    self.messages.append(json.loads(raw))
                    self.heard.notify_all()
        except ConnectionClosed:
            pass

    def wait_for_order(self, order_id: str) -> None:
        """Block until the event for ``order_id`` arrived (or fail after 30 s)."""
        with self.heard:
            found = self.heard.wait_for(lambda: order_id in self.order_ids(), timeout=30)
        assert found, f"the listener never heard of order {order_id}"

    def order_ids(self) -> list[str]:
        return [m["data"]["id"] for m in self.messages if m["type"] == "order.created"]

    def wait_for_hello(self) -> None:
        with self.heard:
            found = self.heard.wait_for(lambda: bool(self.messages), timeout=30)
        assert found and self.messages[0]["type"] == "hello"


@contextmanager
def listening(server: EdgeServer, tablet: Tablet) -> Iterator[Listener]:
    """A healthy tablet's socket for the block."""
    assert tablet.access_token
    with connect(ws_url(server, tablet.access_token), max_size=None) as ws:
        listener = Listener(ws)
        listener.thread.start()
        listener.wait_for_hello()
        try:
            yield listener
        finally:
            ws.close()
            listener.thread.join(timeout=10)


def big_order(tablet: Tablet) -> str:
    """Open an order of 100 noted Croissants (about 50 kB of event) and return its id."""
    item = tablet.get("/api/v1/catalog/items", params={"q": "Croissant"}).json()[0]
    line = {"item_id": item["id"], "quantity": 1, "note": "n" * 200}
    response = tablet.post("/api/v1/orders", json={"lines": [line] * 100})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def orders_until_dropped(server: EdgeServer, tablet: Tablet) -> list[str]:
    """Ring up big orders until the hub reports one more dropped tablet; their ids, in order."""
    before = metric(server, "fynlo_ws_dropped_total")
    created: list[str] = []
    while metric(server, "fynlo_ws_dropped_total") == before:
        assert len(created) < MAX_ORDERS, "the stalled tablet was never dropped"
        created.append(big_order(tablet))
    return created


def read_to_close(ws: ClientConnection) -> tuple[list[dict[str, Any]], ConnectionClosed]:
    """Everything the server still sends, and how it closed the socket."""
    received: list[dict[str, Any]] = []
    while True:
        try:
            received.append(json.loads(ws.recv(timeout=30)))
        except ConnectionClosed as closed:
            return received, closed


def test_a_stalled_tablet_gets_a_resync_and_a_close_and_a_healthy_one_keeps_going(
    edge_server: EdgeServer, manager: Tablet, cashier: Tablet
) -> None:
    with stalled(edge_server, manager) as lagging, listening(edge_server, cashier) as listener:
        created = orders_until_dropped(edge_server, cashier)

        received, closed = read_to_close(lagging)
        assert received[-1]["type"] == "resync"
        assert "reload" in received[-1]["data"]["reason"]
        assert closed.rcvd is not None
        assert (closed.rcvd.code, closed.rcvd.reason) == (RESYNC_CLOSE_CODE, "resync")
        # Before the resync the events came in commit order, without gaps; the ones still queued
        # at the drop were discarded, since the tablet reloads its whole view anyway.
        events = [m["data"]["id"] for m in received[:-1] if m["type"] == "order.created"]
        assert events == created[: len(events)]
        assert len(events) < len(created)

        # The healthy tablet heard every event, the last one after the other was dropped.
        listener.wait_for_order(created[-1])
        assert listener.order_ids()[-len(created) :] == created
        assert all(m["type"] != "resync" for m in listener.messages)


def test_a_dropped_tablet_reconnects_and_hears_new_events(
    edge_server: EdgeServer, manager: Tablet, cashier: Tablet
) -> None:
    with stalled(edge_server, manager) as lagging:
        orders_until_dropped(edge_server, cashier)
        _, closed = read_to_close(lagging)
        assert closed.rcvd is not None and closed.rcvd.code == RESYNC_CLOSE_CODE

    assert manager.get("/api/v1/orders", params={"limit": 1}).status_code == 200  # the reload
    with listening(edge_server, manager) as again:
        order_id = big_order(cashier)
        again.wait_for_order(order_id)


def test_the_server_refuses_a_queue_bound_below_one(tmp_path: Path) -> None:
    refused = pytest.raises(RuntimeError, match="queue bound must be at least 1")
    with refused, running_edge(tmp_path / "data", env={"FYNLO_WS_QUEUE": "0"}):
        pass
