"""Creating a store (``fynlo-edge init``) and opening one for serving."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import apsw

from edge.app.audit import audit
from edge.app.auth.pins import ensure_pin_key, verifier, write_pin
from edge.app.config import EdgeConfig
from edge.app.context import Edge
from edge.app.employees.records import new_employee
from edge.app.hub import Hub
from edge.app.pin_migration import PinMigration
from edge.app.relay_link import sync_worker
from edge.app.security import new_pin
from edge.store import rowdata
from edge.store.store import Store, create
from edge.store.writer import WriteTx
from shared.credentials import load_or_create_key
from shared.ids import uuid7
from shared.schemas.documents import Employee, StoreSettings, people_doc


def initialise(data_dir: Path, *, demo: bool) -> list[str]:
    """Create the store file, identity, settings and first staff; return printable logins."""
    create(data_dir)
    load_or_create_key(data_dir)
    edge = open_edge(EdgeConfig.load(data_dir), identity=(uuid7(), uuid7()))
    try:
        return seed(edge, demo=demo)
    finally:
        edge.store.stop()


def seed(edge: Edge, *, demo: bool) -> list[str]:
    """The first settings and staff of a new store (the demo café with ``demo``)."""
    if has_settings(edge.store.read, edge) and has_staff(edge):
        # A replacement appliance: the store exists, its settings and days came from the relay.
        return ["the store's settings, menu, staff and sales came from the relay"]
    if demo:
        from edge.app.demo import seed_demo

        return seed_demo(edge)
    if has_staff(edge):
        # Another store of this org set the staff up already (pulled from the relay). PINs are a
        # store's own: the org's owners get a first one here, and set up the staff who work here.
        return edge.store.writer.call(lambda tx: _join_org(tx, edge, StoreSettings()))
    pin = new_pin()
    owner_id = uuid7()
    edge.store.writer.call(lambda tx: _first_owner(tx, edge, owner_id, pin))
    return [f"owner PIN {pin} (change it after the first login)"]


def has_staff(edge: Edge) -> bool:
    """Whether the org's people document already holds employees."""
    return edge.store.read.execute("SELECT 1 FROM employees LIMIT 1").fetchone() is not None


def has_settings(conn: apsw.Connection, edge: Edge) -> bool:
    """Whether the store's settings document holds settings (pulled from the relay)."""
    row = conn.execute(
        "SELECT 1 FROM doc_values WHERE doc_id = ? AND collection = 'settings' LIMIT 1",
        (edge.settings_doc,),
    ).fetchone()
    return row is not None


def base_setup(tx: WriteTx, edge: Edge, settings: StoreSettings) -> str:
    """Write the store settings, unless it has some, and the store's PIN key, unless it has
    one; return the key.

    Both are kept when they exist: settings the store already has (an owner's, pulled from the
    relay) are newer than these defaults would look, and the key is what the PINs already set at
    this store were tagged with.
    """
    if not has_settings(tx.conn, edge):
        for key, value in _settings_items(settings):
            tx.set(edge.settings_doc, "settings", key, value)
    return ensure_pin_key(tx, edge.store_id)


def setup_store_only(tx: WriteTx, edge: Edge, settings: StoreSettings) -> str:
    """A new store of an org whose menu and staff exist: the store's own settings; its key."""
    key = base_setup(tx, edge, settings)
    audit(tx, edge, None, "store.init", "store", edge.store_id)
    return key


def _join_org(tx: WriteTx, edge: Edge, settings: StoreSettings) -> list[str]:
    """A new store of an org with staff: every active owner gets a first PIN here (printed once,
    as the first store's owner does); they set the PINs of the staff who work here."""
    key = setup_store_only(tx, edge, settings)
    lines = []
    taken: set[str] = set()
    for owner in active_owners(tx.conn):
        pin = new_pin()
        while pin in taken:  # unique here, as any PIN
            pin = new_pin()
        taken.add(pin)
        write_pin(tx, edge.store_id, verifier(key, owner.id, pin))
        lines.append(
            f"owner {owner.name} PIN {pin} at this store (change it after the first login)"
        )
    return lines or ["no active owner: log in to the back office to set up staff PINs"]


def active_owners(conn: apsw.Connection) -> list[Employee]:
    rows = conn.execute(
        "SELECT data FROM employees WHERE role = 'owner' AND active = 1 ORDER BY name, id"
    )
    return [rowdata.decode(data, Employee) for (data,) in rows]


def _settings_items(settings: StoreSettings) -> list[tuple[str, object]]:
    return [(name, getattr(settings, name)) for name in settings.__struct_fields__]


def _first_owner(tx: WriteTx, edge: Edge, owner_id: str, pin: str) -> None:
    key = base_setup(tx, edge, StoreSettings())
    owner, verifier_here = new_employee(owner_id, key, name="Owner", role="owner", pin=pin)
    tx.put(people_doc(edge.org_id), "employees", owner)
    assert verifier_here is not None
    write_pin(tx, edge.store_id, verifier_here)
    audit(tx, edge, None, "store.init", "store", edge.store_id)


def open_edge(config: EdgeConfig, identity: tuple[str, str] | None = None) -> Edge:
    """Start the store of ``config.data_dir`` and build the process context around it."""
    hub = Hub(config.ws_queue)
    listeners: list[Callable[[list[tuple[str, Any]]], None]] = [hub.publish_threadsafe]
    store = Store(config.data_dir, on_commit=lambda events: [f(events) for f in listeners])
    store.start()
    if identity is not None:
        org_id, store_id = identity
        store.writer.call(lambda tx: write_identity(tx, org_id, store_id))
    edge = Edge(
        config=config,
        store=store,
        hub=hub,
        jwt_key=load_or_create_key(config.data_dir),
        org_id=store.meta("org_id"),
        store_id=store.meta("store_id"),
        clock=store.clock,
    )
    # Before the first sync: this store's PIN verifiers move out of the people document from
    # the copy it holds, whatever the relay has done to it meanwhile.
    pins = PinMigration(edge)
    pins.start()
    listeners.append(pins.on_commit)
    edge.sync = sync_worker(edge)
    if edge.sync is not None:
        listeners.append(edge.sync.notify_threadsafe)
    return edge


def write_identity(tx: WriteTx, org_id: str, store_id: str) -> None:
    tx.conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [("org_id", org_id), ("store_id", store_id)],
    )
