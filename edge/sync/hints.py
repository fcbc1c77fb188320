"""Live hints from the relay: a WebSocket that wakes the sync worker when a document changes.

Only a hint: the worker pulls by cursor either way, so a missed message costs at most one polling
interval. The socket reconnects with the same jittered backoff as the worker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from edge.sync.backoff import backoff_s
from shared.tasks import cancel_and_wait

log = logging.getLogger("fynlo.sync")


class HintListener:
    """Calls ``on_hint`` for every ``doc.changed`` (and ``resync``) the relay sends."""

    def __init__(
        self,
        url: str,
        on_hint: Callable[[], None],
        *,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._url = url
        self._on_hint = on_hint
        self._jitter = jitter
        self._task: asyncio.Task[None] | None = None
        self.connected = False

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("hint listener already started")
        self._task = asyncio.create_task(self._run(), name="sync-hints")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                async with connect(self._url, open_timeout=10, compression=None) as socket:
                    self.connected, failures = True, 0
                    self._on_hint()  # whatever changed while we were away
                    async for message in socket:
                        if _is_hint(message):
                            self._on_hint()
            except (OSError, WebSocketException, TimeoutError) as exc:
                log.info("relay hints unavailable: %s", exc)
            self.connected = False
            failures += 1
            await asyncio.sleep(backoff_s(failures, self._jitter()))


def _is_hint(message: str | bytes) -> bool:
    try:
        kind = json.loads(message).get("type")
    except (ValueError, AttributeError):
        return False
    return kind in ("doc.changed", "resync")
