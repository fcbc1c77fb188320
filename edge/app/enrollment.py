"""``fynlo-edge enroll``: link an appliance to the relay, creating its store if it has none."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge.app.bootstrap import open_edge, seed
from edge.app.config import EdgeConfig
from edge.app.relay_link import exchange_code, remember, sync_worker
from edge.store.db import db_path
from edge.store.store import create
from edge.sync.client import Enrollment
from edge.sync.worker import SyncWorker
from shared.credentials import load_or_create_key


def enroll_appliance(
    data_dir: Path, url: str, code: str, name: str, *, demo: bool
) -> tuple[Enrollment, list[str]]:
    """Enroll; for an empty data directory also create the store the code names and fetch the
    org's menu and staff from the relay before seeding what is missing.

    Returns the enrollment and printable lines (the device, the owner's first PIN).
    """
    enrollment = exchange_code(url, code, name)
    lines = [f"enrolled as device {enrollment.device_id} of store {enrollment.store_id}"]
    if db_path(data_dir).exists():
        remember(data_dir, url, enrollment)  # refuses another org's or store's data
        return enrollment, lines
    create(data_dir)
    load_or_create_key(data_dir)
    edge = open_edge(EdgeConfig.load(data_dir), identity=(enrollment.org_id, enrollment.store_id))
    try:
        remember(data_dir, url, enrollment)
        worker = sync_worker(edge)
        assert worker is not None
        # Pull first: a store joining an org must keep its menu, staff and PIN pepper.
        asyncio.run(_pull_once(worker))
        lines += seed(edge, demo=demo)
    finally:
        edge.store.stop()
    return enrollment, lines


async def _pull_once(worker: SyncWorker) -> None:
    try:
        await worker.run_once()
    finally:
        await worker.stop()
