"""Creating a store (``fynlo-edge init``) and opening one for serving."""

from __future__ import annotations

import secrets
from pathlib import Path

from edge.app.audit import audit
from edge.app.config import EdgeConfig
from edge.app.context import Edge
from edge.app.employees.records import new_employee
from edge.app.hub import Hub
from edge.app.security import load_or_create_key
from edge.store.ids import uuid7
from edge.store.store import Store, create
from edge.store.writer import WriteTx
from shared.schemas.documents import StoreSettings, people_doc


def initialise(data_dir: Path, *, demo: bool) -> list[str]:
    """Create the store file, identity, settings and first staff; return printable logins."""
    create(data_dir)
    load_or_create_key(data_dir)
    edge = open_edge(EdgeConfig.load(data_dir), identity=(uuid7(), uuid7()))
    try:
        if demo:
            from edge.app.demo import seed_demo

            return seed_demo(edge)
        pin = f"{secrets.randbelow(10**6):06d}"
        owner_id = uuid7()
        edge.store.writer.call(lambda tx: _first_owner(tx, edge, owner_id, pin))
        return [f"owner PIN {pin} (change it after the first login)"]
    finally:
        edge.store.stop()


def base_setup(tx: WriteTx, edge: Edge, settings: StoreSettings) -> str:
    """Write the store settings and the org's PIN pepper; return the pepper."""
    for key, value in _settings_items(settings):
        tx.set(edge.settings_doc, "settings", key, value)
    pepper = secrets.token_hex(16)
    tx.set(people_doc(edge.org_id), "meta", "pin_pepper", pepper)
    return pepper


def _settings_items(settings: StoreSettings) -> list[tuple[str, object]]:
    return [(name, getattr(settings, name)) for name in settings.__struct_fields__]


def _first_owner(tx: WriteTx, edge: Edge, owner_id: str, pin: str) -> None:
    pepper = base_setup(tx, edge, StoreSettings())
    owner = new_employee(owner_id, pepper, name="Owner", role="owner", pin=pin)
    tx.put(people_doc(edge.org_id), "employees", owner)
    audit(tx, edge, None, "store.init", "store", edge.store_id)


def open_edge(config: EdgeConfig, identity: tuple[str, str] | None = None) -> Edge:
    """Start the store of ``config.data_dir`` and build the process context around it."""
    hub = Hub(config.ws_queue)
    store = Store(config.data_dir, on_commit=hub.publish_threadsafe)
    store.start()
    if identity is not None:
        org_id, store_id = identity
        store.writer.call(lambda tx: _write_identity(tx, org_id, store_id))
    edge = Edge(
        config=config,
        store=store,
        hub=hub,
        jwt_key=load_or_create_key(config.data_dir),
        org_id=store.meta("org_id"),
        store_id=store.meta("store_id"),
        clock=store.clock,
    )
    return edge


def _write_identity(tx: WriteTx, org_id: str, store_id: str) -> None:
    tx.conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [("org_id", org_id), ("store_id", store_id)],
    )
