"""The WebSocket hub: fans committed order and drawer events out to connected tablets.

A tablet that falls ``max_queued`` events behind (a stalled socket, a sleeping screen) is dropped
rather than slowing every other tablet or holding events without bound: its queue is emptied, it
gets one final ``resync`` message, and the socket handler closes it with ``RESYNC_CLOSE_CODE`` so
the tablet reconnects and reloads its view over HTTP.
"""

from __future__ import annotations

import asyncio
from typing import Any

MAX_QUEUED = 1000  # a tablet this far behind is dropped and reconnects for a fresh view
RESYNC = "resync"
RESYNC_CLOSE_CODE = 4000  # application-defined: "reload your view", not "server overloaded"


class Subscription:
    """One tablet's events not yet sent; ``dropped`` once it fell too far behind to catch up
    (or its tablet was revoked)."""

    def __init__(self, max_queued: int, device_id: str | None = None) -> None:
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_queued)
        self.dropped = False
        self.device_id = device_id

    async def next(self) -> dict[str, Any]:
        """The next event; after a drop, the one ``resync`` message (nothing follows it)."""
        return await self.events.get()

    def drop(self, resync: dict[str, Any]) -> None:
        """Replace what is queued by ``resync``: stale events are useless to a reloading tablet."""
        self.dropped = True
        while not self.events.empty():
            self.events.get_nowait()
        # Queued, not flagged alone, so a handler already waiting on next() wakes up for it.
        self.events.put_nowait(resync)


class Hub:
    """Subscribers get every event published after a commit, in commit order."""

    def __init__(self, max_queued: int = MAX_QUEUED) -> None:
        if max_queued < 1:
            # asyncio.Queue(0) is unbounded: refuse rather than silently never drop anyone.
            raise ValueError(f"the WebSocket queue bound must be at least 1, not {max_queued}")
        self.max_queued = max_queued
        self._subscribers: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.published = 0
        self.dropped = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, device_id: str | None = None) -> Subscription:
        """A new subscription that hears every event published from now on."""
        subscription = Subscription(self.max_queued, device_id)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def cut_off(self, device_id: str) -> None:
        """End the sockets of a revoked tablet: a last ``resync`` and a close, and its
        reconnection is refused (its token no longer authenticates)."""
        for subscription in [s for s in self._subscribers if s.device_id == device_id]:
            self._subscribers.discard(subscription)
            subscription.drop({"type": RESYNC, "data": {"reason": "this tablet was revoked"}})

    @property
    def connections(self) -> int:
        return len(self._subscribers)

    def publish_threadsafe(self, events: list[tuple[str, Any]]) -> None:
        """Called by the writer after a commit."""
        if events and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._publish, events)

    def _publish(self, events: list[tuple[str, Any]]) -> None:
        for topic, payload in events:
            self.published += 1
            message = {"type": topic, "data": payload}
            for subscription in list(self._subscribers):
                try:
                    subscription.events.put_nowait(message)
                except asyncio.QueueFull:
                    self._drop(subscription)

    def _drop(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        self.dropped += 1
        reason = f"more than {self.max_queued} events behind; reload the view"
        subscription.drop({"type": RESYNC, "data": {"reason": reason}})
