"""Bad data on the relay halts nothing: the appliance quarantines what it cannot read and syncs on.

Real processes: a relay and an enrolled demo café. Malformed entries are written straight into the
relay's storage, past any check of pushes (as older data or a bug would have left them): a string
where the catalog holds an item's map of cells, a map where the people document and the store's
settings hold a value's cell, and a document of a kind no appliance knows. The appliance lists
them, keeps pulling the owner's edits, a new store enrolls into the org, the relay's owner routes
answer, and once the owner removes them every list is empty again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apsw
import httpx
import pycrdt

from edge.store.db import connect, db_path
from edge.store.store import Store
from shared.ids import now_ms, uuid7
from shared.schemas.documents import catalog_doc, people_doc, settings_doc
from shared.schemas.stamped import Stamp, cell_key
from tests.relay.support import RelayServer, relay_cli
from tests.support.answers import expect_json
from tests.support.bad_data import plant
from tests.support.server import CASHIER_PIN, OWNER_PIN, EdgeServer, Tablet, cli, logged_in
from tests.support.sync import Org, enroll, owner_client, synced, wait_for

Entry = tuple[str, str, str]


def listed(tablet: Tablet) -> set[Entry]:
    answer = expect_json(tablet.get("/api/v1/sync/quarantine"))
    return {(q["doc_id"], q["collection"], q["key"]) for q in answer}


def metric(tablet: Tablet, name: str) -> str:
    text = tablet.http.get("/metrics").text
    return next(line.split()[1] for line in text.splitlines() if line.startswith(name + " "))


def file_rows(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    conn: apsw.Connection = connect(db_path(data_dir), writer=False)
    try:
        return sorted(conn.execute(sql).fetchall())
    finally:
        conn.close()


Cafe = tuple[RelayServer, Org, EdgeServer, str, httpx.Client, Tablet]


@contextmanager
def synced_cafe(tmp_path: Path) -> Iterator[Cafe]:
    """A relay, its org, an enrolled demo café in sync with it (and its store id), the relay's
    owner client and the café owner's tablet."""
    with RelayServer(tmp_path / "relay") as relay:
        org = Org(relay)
        edge, store_id = enroll(org, tmp_path / "a")
        owner = owner_client(relay)
        try:
            office = logged_in(edge, OWNER_PIN, "office")
            wait_for(lambda: synced(office), "the demo café to reach the relay")
            yield relay, org, edge, store_id, owner, office
        finally:
            owner.close()
            edge.stop()


def test_unreadable_entries_are_quarantined_and_everything_else_syncs_on(tmp_path: Path) -> None:
    with synced_cafe(tmp_path) as (relay, org, edge, store_id, owner, office):
        catalog, people, settings = (
            catalog_doc(org.id),
            people_doc(org.id),
            settings_doc(store_id),
        )
        customers = f"org/{org.id}/customers/7"  # a kind of document no version knows yet
        bad_item = uuid7()
        rogue = Stamp(now_ms(), 0, "rogue")  # later than every cell written so far
        pepper_cell, currency_cell = cell_key("pin_pepper", rogue), cell_key("currency", rogue)

        plant(relay, catalog, lambda d: d.get("items", type=pycrdt.Map).update({bad_item: "x"}))
        plant(relay, people, lambda d: d.get("meta", type=pycrdt.Map).update(
            {pepper_cell: pycrdt.Map({"v": "not a pepper"})}))  # fmt: skip
        plant(relay, settings, lambda d: d.get("settings", type=pycrdt.Map).update(
            {currency_cell: pycrdt.Map({"v": "EUR"})}))  # fmt: skip
        plant(relay, customers, lambda d: d.get("customers", type=pycrdt.Map).update(
            {uuid7(): "someone"}))  # fmt: skip
        expected = {
            (catalog, "items", bad_item),
            (people, "meta", "pin_pepper"),
            (settings, "settings", "currency"),
            (customers, "customers", ""),
        }
        wait_for(lambda: listed(office) == expected, "the bad entries to be quarantined")

        # Sync goes on: the owner's next price edit arrives.
        item = office.get("/api/v1/catalog/items", params={"q": "Croissant"}).json()[0]
        edit = owner.patch(
            f"/api/v1/orgs/{org.id}/catalog/items/{item['id']}", json={"price_minor": 999}
        )
        assert edit.status_code == 200, edit.text
        wait_for(
            lambda: office.get(f"/api/v1/catalog/items/{item['id']}").json()["price_minor"] == 999,
            "the owner's price edit",
        )
        status = expect_json(office.get("/api/v1/sync/status"))
        assert status["summary"]["failures"] == 0 and status["summary"]["last_error"] is None
        assert status["quarantined"] == 4
        assert {d["doc_id"]: d["quarantined"] for d in status["docs"]}[catalog] == 1
        assert metric(office, "fynlo_quarantined_entities") == "4"
        # What could be read of the bad values is in use: the café still sells in pounds.
        assert expect_json(office.get("/api/v1/settings"))["currency"] == "GBP"
        by_key = {q["key"]: q for q in office.get("/api/v1/sync/quarantine").json()}
        assert by_key["currency"]["projected"] and currency_cell in by_key["currency"]["error"]
        assert not by_key[bad_item]["projected"]
        # A manager's list: staff without the audit permission do not see it.
        till = logged_in(edge, CASHIER_PIN, "till")
        assert till.get("/api/v1/sync/quarantine").status_code == 403

        # The relay's own owner routes read past them.
        got = owner.get(f"/api/v1/stores/{store_id}/settings")
        assert got.status_code == 200 and got.json()["currency"] == "GBP", got.text
        renamed = owner.patch(f"/api/v1/stores/{store_id}/settings", json={"name": "Renamed"})
        assert renamed.status_code == 200 and renamed.json()["currency"] == "GBP", renamed.text
        items = owner.get(f"/api/v1/orgs/{org.id}/catalog/items")
        assert items.status_code == 200 and bad_item not in {i["id"] for i in items.json()}
        assert owner.get(f"/api/v1/orgs/{org.id}/conflicts").status_code == 200
        on_relay = expect_json(owner.get(f"/api/v1/orgs/{org.id}/quarantine"))
        assert {(q["doc_id"], q["collection"], q["key"]) for q in on_relay} == expected

        # A new store of the org enrolls, the org's bad entries quarantined there too.
        _, code = org.store()
        second = tmp_path / "b"
        joined = cli("enroll", "--data", str(second), "--relay", relay.url, "--code", code,
                     check=False)  # fmt: skip
        assert joined.returncode == 0, joined.stderr
        assert "Traceback" not in joined.stderr
        assert {r[:2] for r in file_rows(second, "SELECT doc_id, key FROM quarantine")} == {
            (catalog, bad_item),
            (people, "pin_pepper"),
            (customers, ""),
        }

        # The owner removes them (one through the command line); every replica pulls that.
        for doc_id, collection, key in [
            (catalog, "items", bad_item),
            (people, "meta", pepper_cell),  # only that cell
            (customers, "customers", None),  # the whole root
        ]:
            params = {"doc_id": doc_id, "collection": collection}
            removed = owner.delete(
                f"/api/v1/orgs/{org.id}/entries",
                params={**params, **({"key": key} if key else {})},
            )
            assert removed.status_code == 200 and removed.json()["keys"] == 1, removed.text
        where = ["--doc", settings, "--collection", "settings", "--key", currency_cell]
        relay_cli("entry", "remove", "--data", str(relay.data_dir), "--org", org.id, *where)
        wait_for(lambda: listed(office) == set(), "the quarantine to clear")
        assert metric(office, "fynlo_quarantined_entities") == "0"
        assert expect_json(owner.get(f"/api/v1/orgs/{org.id}/quarantine")) == []
        now = expect_json(office.get("/api/v1/settings"))
        assert (now["name"], now["currency"]) == ("Renamed", "GBP")
        wait_for(lambda: synced(office), "everything in sync")


def test_a_document_the_relay_refuses_holds_back_only_itself(tmp_path: Path) -> None:
    with synced_cafe(tmp_path) as (_, org, edge, store_id, owner, office):
        # Older data, or a bug, left this appliance holding a change no reader could read:
        # a root the catalog has no place for. The relay refuses to store it.
        edge.stop()
        catalog = catalog_doc(org.id)
        with Store(edge.data_dir) as store:
            store.writer.call(
                lambda tx: store.writer.docs.change(
                    tx.conn, catalog, lambda live: live.root("widgets").update({"w": "1"}),
                    tx.at_ms,
                )
            )  # fmt: skip
        edge.start()

        def catalog_status() -> dict[str, Any]:
            docs = expect_json(office.get("/api/v1/sync/status"))["docs"]
            return next(d for d in docs if d["doc_id"] == catalog)  # type: ignore[no-any-return]

        wait_for(lambda: catalog_status()["last_error"] is not None, "the refusal")
        assert "relay refused" in catalog_status()["last_error"]
        assert not catalog_status()["in_sync"]
        # Everything else syncs on: the owner's edit of the store's settings arrives.
        edit = owner.patch(f"/api/v1/stores/{store_id}/settings", json={"name": "Renamed"})
        assert edit.status_code == 200, edit.text
        wait_for(
            lambda: office.get("/api/v1/settings").json()["name"] == "Renamed",
            "the owner's settings edit",
        )
        summary = expect_json(office.get("/api/v1/sync/status"))["summary"]
        assert summary["failures"] == 0 and summary["refused"] >= 1
