"""This appliance's link to the relay: enrollment and the credential it keeps.

The relay URL and device id live in the ``meta`` table; the device token is a secret and lives in
``keys/relay.token`` (owner-only), beside the JWT key.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import apsw

from edge.store.db import connect, db_path
from edge.store.errors import StoreError
from edge.sync.client import Enrollment, RelayClient, enroll
from edge.sync.worker import SyncWorker
from shared.datadir import private_dir, write_private

if TYPE_CHECKING:
    from edge.app.context import Edge

TOKEN_FILE = "keys/relay.token"
log = logging.getLogger("fynlo.sync")


class EnrollmentMismatch(StoreError):
    """The data directory holds another org's or store's data."""


def relay_url(conn: apsw.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'relay_url'").fetchone()
    return str(row[0]) if row else None


def sync_worker(edge: Edge) -> SyncWorker | None:
    """The sync worker of an enrolled appliance (not started), or None when standalone."""
    url = relay_url(edge.store.read)
    token_path = edge.config.data_dir / TOKEN_FILE
    if url is None or not token_path.exists():
        return None
    client = RelayClient(url, token_path.read_text().strip())
    return SyncWorker(
        edge.store,
        client,
        org_id=edge.org_id,
        store_id=edge.store_id,
        interval_s=edge.config.sync_interval_s,
        verify_interval_s=edge.config.sync_verify_interval_s,
    )


async def catch_up(worker: SyncWorker, timeout_s: float) -> bool:
    """One sync round before the appliance serves; whether it completed within ``timeout_s``.

    Order numbers come from the orders this appliance holds: a replacement, or a store restored
    from a backup, must first pull the sales the relay has, or its next order repeats a number.
    An unreachable relay only delays the start by ``timeout_s`` at most: selling goes on offline.
    """
    if timeout_s <= 0:
        return False
    try:
        await asyncio.wait_for(worker.run_once(), timeout_s)
    except TimeoutError:
        log.warning("no catch-up with the relay within %.1f s: serving what is here", timeout_s)
        return False
    except Exception as exc:  # the worker reports it in the sync status on its first round
        log.warning("no catch-up with the relay (%s): serving what is here", exc)
        return False
    log.info("caught up with the relay before serving")
    return True


def exchange_code(url: str, code: str, name: str) -> Enrollment:
    """Trade the one-time code for a device credential (blocking: the CLI calls it)."""
    return asyncio.run(enroll(url, code, name))


def remember(data_dir: Path, url: str, enrollment: Enrollment) -> None:
    """Keep the relay URL, device id and token; refuse a store of another org or store."""
    conn = connect(db_path(data_dir), writer=True)
    try:
        ids = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('org_id', 'store_id')"))
        if ids != {"org_id": enrollment.org_id, "store_id": enrollment.store_id}:
            raise EnrollmentMismatch(
                f"{data_dir} holds store {ids.get('store_id')} of org {ids.get('org_id')}, but"
                f" the code enrolls store {enrollment.store_id} of org {enrollment.org_id}:"
                " enroll into an empty data directory"
            )
        with conn:
            conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [("relay_url", url.rstrip("/")), ("relay_device_id", enrollment.device_id)],
            )
    finally:
        conn.close()
    token_path = data_dir / TOKEN_FILE
    private_dir(token_path.parent)
    write_private(token_path, enrollment.token.encode())
