"""``fynlo-edge enroll``: link an appliance to the relay, creating its store if it has none."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from pathlib import Path

import apsw

from edge.app import pending_enrollment
from edge.app.bootstrap import open_edge, seed
from edge.app.config import EdgeConfig
from edge.app.relay_link import exchange_code, remember, sync_worker
from edge.store.db import db_path
from edge.store.store import create
from edge.sync.client import Enrollment
from edge.sync.errors import SyncError
from edge.sync.worker import SyncWorker
from shared.credentials import load_or_create_key

STAGING_PREFIX = ".enrolling-"
log = logging.getLogger("fynlo.sync")


class EnrollmentIncomplete(SyncError):
    """The relay took the code, but the new store could not be set up: nothing was kept."""


def enroll_appliance(
    data_dir: Path, url: str, code: str, name: str, *, demo: bool
) -> tuple[Enrollment, list[str]]:
    """Enroll; for an empty data directory also create the store the code names and fetch from
    the relay the org's menu and staff and the store's own documents (settings, days: a
    replacement appliance numbers on after the old one's last order) before seeding what is
    missing.

    The new store is built in a staging directory and moved in only once complete, so a failure
    (or a kill) part-way leaves no store behind; the credential the code bought is kept until then
    (edge.app.pending_enrollment), so running the same enrollment again finishes it without a new
    code. Returns the enrollment and printable lines (the device, the owner's first PIN).
    """
    if db_path(data_dir).exists():
        enrollment = exchange_code(url, code, name)
        remember(data_dir, url, enrollment)  # refuses another org's or store's data
        pending_enrollment.forget(data_dir)  # left by a kill just after the store moved in
        return enrollment, [_enrolled_line(enrollment)]
    data_dir.mkdir(parents=True, exist_ok=True)
    enrollment = pending_enrollment.resume(data_dir, url, code)
    if enrollment is None:
        enrollment = exchange_code(url, code, name)
        pending_enrollment.keep(data_dir, url, code, enrollment)
    lines = [_enrolled_line(enrollment)]
    for stale in data_dir.glob(f"{STAGING_PREFIX}*"):  # left by an enrollment that was killed
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=STAGING_PREFIX) as tmp:
        staging = Path(tmp)
        try:
            lines += _build_store(staging, url, enrollment, demo)
        except Exception as exc:  # whatever it was (the relay, a bug): no half-made store
            log.debug("building the enrolled store failed", exc_info=True)
            reason = str(exc) if isinstance(exc, SyncError) else repr(exc)
            raise EnrollmentIncomplete(
                f"the code was accepted, but the store could not be set up ({reason}); no store"
                " was kept: run the same enrollment again, with the same code, to finish it (the"
                " credential the code bought is kept until then)"
            ) from exc
        _move_in(staging, data_dir)
    pending_enrollment.forget(data_dir)
    return enrollment, lines


def _enrolled_line(enrollment: Enrollment) -> str:
    return f"enrolled as device {enrollment.device_id} of store {enrollment.store_id}"


def _build_store(data_dir: Path, url: str, enrollment: Enrollment, demo: bool) -> list[str]:
    create(data_dir)
    load_or_create_key(data_dir)
    edge = open_edge(EdgeConfig.load(data_dir), identity=(enrollment.org_id, enrollment.store_id))
    try:
        remember(data_dir, url, enrollment)
        worker = sync_worker(edge)
        assert worker is not None
        # Pull first: a store joining an org must keep its menu, staff and PIN pepper, and a
        # replacement its store's settings and sales (in scope: the org's and the store's).
        asyncio.run(_pull_once(worker))
        return seed(edge, demo=demo)
    finally:
        edge.store.stop()


def _move_in(staging: Path, data_dir: Path) -> None:
    """Keys first, the store file last: its presence is what makes the directory hold a store."""
    keys = data_dir / "keys"
    keys.mkdir(exist_ok=True)
    for key in (staging / "keys").iterdir():
        os.replace(key, keys / key.name)
    store = db_path(staging)
    # One self-contained file to move: leaving WAL mode checkpoints and removes the -wal and
    # -shm files (the server turns WAL mode back on when it opens the store).
    conn = apsw.Connection(str(store))
    try:
        conn.execute("PRAGMA journal_mode=DELETE").fetchall()
    finally:
        conn.close()
    os.replace(store, db_path(data_dir))


async def _pull_once(worker: SyncWorker) -> None:
    try:
        await worker.run_once()
    finally:
        await worker.stop()
