"""Live hints: a WebSocket per connected device, told when a document in its scope changes.

The hub reaches the devices connected to this process; ``cloud.relay.fanout`` feeds it, from
this process's pushes (SQLite) or from every relay's through LISTEN/NOTIFY (PostgreSQL).

A device that falls ``max_queued`` hints behind (a stalled socket) is not allowed to hold memory
without bound or slow the others: its hints are dropped, it gets one ``resync`` message and a
close with ``RESYNC_CLOSE_CODE``, and then lists its documents over HTTP (``GET /sync/docs``).
A device revoked through this process (an owner's revoke, a replacement enrolling) is closed
with ``UNAUTHORIZED_CLOSE_CODE`` at once; elsewhere its next reconnect is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from cloud.relay.routes import device_for, relay_of
from cloud.relay.storage.base import Device
from shared.problems import ApiError
from shared.schemas.sync import DocChanged, in_scope
from shared.tasks import cancel_and_wait

RESYNC = msgspec.json.encode({"type": "resync"}).decode()
REVOKED = "revoked"  # never sent: the socket closes with UNAUTHORIZED_CLOSE_CODE instead
RESYNC_CLOSE_CODE = 4000  # application-defined: "list your documents again"
UNAUTHORIZED_CLOSE_CODE = 4401  # before accept: the server answers the handshake with 403


class Listener:
    """One connected device's hints not yet sent."""

    def __init__(self, device: Device, max_queued: int) -> None:
        self.device = device
        self.hints: asyncio.Queue[str] = asyncio.Queue(max_queued)
        self.dropped = False

    def offer(self, hint: str) -> bool:
        """Queue a hint; False when the device is too far behind (it is then told to resync)."""
        try:
            self.hints.put_nowait(hint)
        except asyncio.QueueFull:
            self.drop()
            return False
        return True

    def drop(self) -> None:
        """Replace the queued hints by one ``resync``: the device lists its documents again."""
        self.dropped = True
        while not self.hints.empty():
            self.hints.get_nowait()
        self.hints.put_nowait(RESYNC)

    def revoke(self) -> None:
        """Drop the queued hints: the socket closes, the device's credential is gone."""
        while not self.hints.empty():
            self.hints.get_nowait()
        self.hints.put_nowait(REVOKED)


class Hub:
    """Connected devices, and the fan-out of ``doc.changed`` hints to those whose scope covers."""

    def __init__(self, max_queued: int) -> None:
        if max_queued < 1:
            # asyncio.Queue(0) is unbounded: refuse rather than never drop anyone.
            raise ValueError(f"the hint queue bound must be at least 1, not {max_queued}")
        self.max_queued = max_queued
        self._listeners: set[Listener] = set()
        self.published = 0
        self.dropped = 0

    @property
    def connections(self) -> int:
        return len(self._listeners)

    def subscribe(self, device: Device) -> Listener:
        listener = Listener(device, self.max_queued)
        self._listeners.add(listener)
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def publish(self, doc_id: str, head: int, origin_device_id: str | None = None) -> None:
        """Hint every device whose scope covers ``doc_id``, except the one whose push it was."""
        hint = msgspec.json.encode(DocChanged(doc_id=doc_id, head=head)).decode()
        for listener in list(self._listeners):
            device = listener.device
            if device.id == origin_device_id or not in_scope(
                doc_id, device.org_id, device.store_id
            ):
                continue
            self.published += 1
            if not listener.offer(hint):
                self._listeners.discard(listener)
                self.dropped += 1

    def cut_off(self, revoked: Callable[[Device], bool]) -> None:
        """Close the sockets of the devices ``revoked`` picks: their credential was revoked."""
        for listener in list(self._listeners):
            if revoked(listener.device):
                listener.revoke()
                self._listeners.discard(listener)

    def resync_all(self) -> None:
        """Tell every connected device to resync: hints may have been lost (the feed dropped)."""
        for listener in list(self._listeners):
            listener.drop()
            self._listeners.discard(listener)
            self.dropped += 1


@websocket("/api/v1/sync/ws", tags=["sync"])
async def hints(socket: WebSocket[Any, Any, Any]) -> None:
    """Live ``doc.changed`` hints for an enrolled device: connect with ``?token=<device token>``.

    The first message is ``{"type": "hello", ...}``, sent once the device is subscribed, so a
    client that waits for it misses no hint of a push made after it.
    """
    try:
        device = await device_for(socket)
    except ApiError:
        await socket.close(code=UNAUTHORIZED_CLOSE_CODE, reason="unknown or revoked device token")
        return
    hub = relay_of(socket).hub
    await socket.accept()
    listener = hub.subscribe(device)
    receiver = asyncio.create_task(_drain(socket))
    try:
        await socket.send_json(
            {
                "type": "hello",
                "device_id": device.id,
                "org_id": device.org_id,
                "store_id": device.store_id,
            }
        )
        await _forward(socket, listener, receiver)
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(listener)
        await cancel_and_wait(receiver)


async def _forward(
    socket: WebSocket[Any, Any, Any], listener: Listener, receiver: asyncio.Task[None]
) -> None:
    """Send hints as they come until the device goes away or has to resync."""
    while not receiver.done():
        getter = asyncio.create_task(listener.hints.get())
        done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if getter not in done:
            getter.cancel()
            return
        hint = getter.result()
        if hint is REVOKED:
            await socket.close(code=UNAUTHORIZED_CLOSE_CODE, reason="device revoked")
            return
        await socket.send_text(hint)
        if hint is RESYNC and listener.dropped:
            await socket.close(code=RESYNC_CLOSE_CODE, reason="resync")
            return


async def _drain(socket: WebSocket[Any, Any, Any]) -> None:
    """Read (and ignore) what the device sends, so its close is noticed at once."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await socket.receive_data(mode="text")
