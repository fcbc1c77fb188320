"""The WebSocket hub: fans committed order and drawer events out to connected tablets."""

from __future__ import annotations

import asyncio
from typing import Any

MAX_QUEUED = 1000  # a tablet this far behind is dropped and reconnects for a fresh view


class Hub:
    """Subscribers get every event published after a commit, in commit order."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.published = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_QUEUED)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    @property
    def connections(self) -> int:
        return len(self._subscribers)

    def publish_threadsafe(self, events: list[tuple[str, Any]]) -> None:
        """Called by the writer thread after a commit."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._publish, events)

    def _publish(self, events: list[tuple[str, Any]]) -> None:
        for topic, payload in events:
            self.published += 1
            message = {"type": topic, "data": payload}
            for queue in list(self._subscribers):
                try:
                    queue.put_nowait(message)
                except asyncio.QueueFull:
                    self._subscribers.discard(queue)
