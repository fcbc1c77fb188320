"""Where a push's ``doc.changed`` hints go: this process's hub, or every relay process's hub.

On SQLite the hub is fed directly. On PostgreSQL the relay that appended NOTIFYs
``fynlo_doc_changed`` (payload ``doc_id head origin_device_id``) once the append has committed,
and every relay process, the one that appended included, feeds its hub from its own LISTEN
connection: one path for every hint, so no device hears a push twice.

A lost hint costs a device one polling interval at most (it pulls by cursor either way), so a
failed NOTIFY is logged, never a failed push. When the LISTEN connection drops, hints sent
meanwhile are lost: once listening again, the hub tells every device to resync.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Any, Protocol

from cloud.relay.config import RelayConfig
from cloud.relay.routes.live import Hub
from cloud.relay.storage.base import Storage
from shared.schemas.sync import DocHead

if TYPE_CHECKING:
    import psycopg

    from cloud.relay.storage.postgres import PostgresStorage

from shared.tasks import cancel_and_wait

log = logging.getLogger("fynlo.relay")
CHANNEL = "fynlo_doc_changed"
LISTENER_NAME = "fynlo-relay-fanout"  # its application_name: how an operator spots it
# A dead server behind a silent network would leave the LISTEN connection waiting forever.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10}
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.1, 5.0


class Fanout(Protocol):
    """Hands the documents a push changed to the hubs whose devices should hear of them."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, changed: list[DocHead], origin_device_id: str) -> None: ...


class LocalFanout:
    """In-process: this relay's pushes reach the devices connected to this relay."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def publish(self, changed: list[DocHead], origin_device_id: str) -> None:
        for doc in changed:
            self.hub.publish(doc.doc_id, doc.head, origin_device_id=origin_device_id)


def encode_hint(doc_id: str, head: int, origin_device_id: str) -> str:
    """A NOTIFY payload (document and device ids never hold spaces)."""
    return f"{doc_id} {head} {origin_device_id}"


def decode_hint(payload: str) -> tuple[str, int, str] | None:
    """``(doc_id, head, origin_device_id)`` from a payload; None when it is not one of ours."""
    parts = payload.split(" ")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2]


class PostgresFanout:
    """Across relay processes on one database, through LISTEN/NOTIFY on a dedicated connection."""

    def __init__(self, storage: PostgresStorage, hub: Hub) -> None:
        self.storage = storage
        self.hub = hub
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """LISTEN before the app serves, so no device misses a hint of a push made after."""
        if self._task is not None:
            raise RuntimeError("fan-out already started")
        conn = await self._listen()
        self._task = asyncio.create_task(self._run(conn), name="relay-fanout")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def publish(self, changed: list[DocHead], origin_device_id: str) -> None:
        import psycopg

        payloads = [encode_hint(d.doc_id, d.head, origin_device_id) for d in changed]
        try:
            await self.storage.notify(CHANNEL, payloads)
        except psycopg.Error as exc:  # the updates are stored: devices find them when they poll
            log.warning("could not notify %d document change(s): %s", len(payloads), exc)

    async def _listen(self) -> psycopg.AsyncConnection[Any]:
        import psycopg  # the driver is only imported when PostgreSQL is used

        conn = await psycopg.AsyncConnection.connect(
            self.storage.dsn, autocommit=True, application_name=LISTENER_NAME, **_KEEPALIVES
        )
        await conn.execute(f"LISTEN {CHANNEL}")
        return conn

    async def _run(self, conn: psycopg.AsyncConnection[Any] | None) -> None:
        """Feed the hub from notifications; reconnect with backoff whenever the connection drops."""
        import psycopg

        failures = 0
        while True:
            try:
                if conn is None:
                    conn = await self._listen()
                    log.info("listening for document changes again")
                    self.hub.resync_all()  # hints sent while we were away are lost
                failures = 0
                async for note in conn.notifies():
                    self._deliver(note.payload)
            except psycopg.Error as exc:
                log.warning("document change feed lost: %s", exc)
            finally:
                if conn is not None:
                    await conn.close()
                conn = None
            failures += 1
            delay_s = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (failures - 1))
            await asyncio.sleep(delay_s * (0.5 + random.random() / 2))  # relays spread out

    def _deliver(self, payload: str) -> None:
        hint = decode_hint(payload)
        if hint is None:
            log.warning("ignored a malformed document change: %r", payload[:200])
            return
        doc_id, head, origin = hint
        self.hub.publish(doc_id, head, origin_device_id=origin)


def open_fanout(config: RelayConfig, storage: Storage, hub: Hub) -> Fanout:
    """LISTEN/NOTIFY when the relay runs on PostgreSQL, the hub directly when on SQLite."""
    if config.database is None:
        return LocalFanout(hub)
    from cloud.relay.storage.postgres import PostgresStorage

    if not isinstance(storage, PostgresStorage):
        raise TypeError(f"a PostgreSQL relay with {type(storage).__name__}")
    return PostgresFanout(storage, hub)
