"""Two appliances and a relay, all real processes: enrollment, convergence, scope.

Store A enrolls into an empty data directory and seeds the demo café; store B enrolls next and
gets the org's menu and staff from the relay (a demo store gives the demo staff their demo PINs
at B too: a PIN belongs to a store, see tests/integration/test_store_pins.py).
Concurrent edits of one item on both sides both survive (per-field last-writer-wins), each store
sells, and everything converges: equal catalogs everywhere, every sale on the relay exactly once,
and no store ever receives another store's day.
"""

from __future__ import annotations

import re
from pathlib import Path

import pycrdt

from edge.app.pending_enrollment import PENDING_FILE
from edge.store.db import db_path
from shared.schemas.documents import catalog_doc
from shared.schemas.sync import Update, update_hash
from tests.relay.support import RelayServer
from tests.support.sales import croissant_order
from tests.support.server import (
    CASHIER_PIN,
    MANAGER_PIN,
    OWNER_PIN,
    EdgeServer,
    cli,
    logged_in,
    pair_tablet,
)
from tests.support.sync import FAST_SYNC, Org, enroll, rows, synced, wait_for


def test_two_stores_converge_through_the_relay(relay: RelayServer, tmp_path: Path) -> None:
    org = Org(relay)
    edge_a, store_a = enroll(org, tmp_path / "a")
    try:
        owner_a = pair_tablet(edge_a)
        owner_a.login(OWNER_PIN)
        wait_for(lambda: synced(owner_a), "store A to push its menu and staff")

        edge_b, store_b = enroll(org, tmp_path / "b")
        try:
            cashier_b = pair_tablet(edge_b)
            cashier_b.login(CASHIER_PIN)  # the demo staff, hired at A, have their PINs at B
            owner_b = pair_tablet(edge_b)
            owner_b.login(OWNER_PIN)
            catalog_sql = "SELECT id, name, price_minor FROM items"
            assert rows(edge_b, catalog_sql) == rows(edge_a, catalog_sql)

            latte = owner_a.get("/api/v1/catalog/items", params={"q": "Latte"}).json()[0]
            # Both sides edit the same item at once, each a different field.
            assert (
                owner_a.patch(
                    f"/api/v1/catalog/items/{latte['id']}", json={"name": "Caffè latte"}
                ).status_code
                == 200
            )
            assert (
                owner_b.patch(
                    f"/api/v1/catalog/items/{latte['id']}", json={"price_minor": 360}
                ).status_code
                == 200
            )

            croissant = cashier_b.get("/api/v1/catalog/items", params={"q": "Croissant"}).json()
            till = cashier_b.post("/api/v1/drawer/sessions", json={"counts": {"1000": 5}})
            assert till.status_code == 201
            sold = [
                cashier_b.post(
                    "/api/v1/orders",
                    json={
                        "lines": [{"item_id": croissant[0]["id"], "quantity": 1}],
                        "payments": [{"tender": "cash", "tendered_minor": 500}],
                    },
                ).json()["id"]
                for _ in range(3)
            ]

            def both_edits_everywhere() -> bool:
                want = [(latte["id"], "Caffè latte", 360)]
                sql = f"SELECT id, name, price_minor FROM items WHERE id = '{latte['id']}'"
                return rows(edge_a, sql) == want and rows(edge_b, sql) == want

            wait_for(both_edits_everywhere, "both edits to reach both stores")
            wait_for(lambda: synced(owner_b) and synced(owner_a), "both stores to be pushed")
            assert rows(edge_a, catalog_sql) == rows(edge_b, catalog_sql)
            # B's day is B's: A never receives it; B's sales are in B's tables exactly once.
            assert rows(edge_a, f"SELECT id FROM orders WHERE id IN ({_quoted(sold)})") == []
            assert len(rows(edge_b, f"SELECT id FROM orders WHERE id IN ({_quoted(sold)})")) == 3
            assert (
                rows(
                    edge_a, f"SELECT doc_id FROM crdt_update WHERE doc_id LIKE 'store/{store_b}/%'"
                )
                == []
            )
            heads = relay.storage(lambda s: s.heads([f"store/{store_b}/", f"store/{store_a}/"]))
            assert any(h.doc_id.startswith(f"store/{store_b}/day/") for h in heads)
        finally:
            edge_b.stop()
    finally:
        edge_a.stop()


def _quoted(ids: list[str]) -> str:
    return ", ".join(f"'{i}'" for i in ids)


def test_enrolling_a_store_that_holds_another_stores_data_is_refused(
    relay: RelayServer, tmp_path: Path
) -> None:
    org = Org(relay)
    cli("init", "--data", str(tmp_path / "x"), "--demo")
    _, code = org.store()
    result = cli(
        "enroll", "--data", str(tmp_path / "x"), "--relay", relay.url, "--code", code, check=False
    )
    assert result.returncode == 2
    assert "empty data directory" in result.stderr


def test_a_used_enrollment_code_is_refused(relay: RelayServer, tmp_path: Path) -> None:
    org = Org(relay)
    _, code = org.store()
    assert (
        cli(
            "enroll", "--data", str(tmp_path / "a"), "--relay", relay.url, "--code", code
        ).returncode
        == 0
    )
    again = cli(
        "enroll", "--data", str(tmp_path / "b"), "--relay", relay.url, "--code", code, check=False
    )
    assert again.returncode == 2
    assert "enrollment failed" in again.stderr
    assert not db_path(tmp_path / "b").exists()  # nothing half-created


def test_a_change_reaches_the_other_store_by_live_hint(relay: RelayServer, tmp_path: Path) -> None:
    # Polling every ten minutes: only the relay's hint can bring the change in time.
    slow = {"FYNLO_SYNC_INTERVAL_S": "600"}
    org = Org(relay)
    edge_a, _ = enroll(org, tmp_path / "a", slow)
    owner_a = pair_tablet(edge_a)
    owner_a.login(OWNER_PIN)
    wait_for(lambda: synced(owner_a), "store A to push its menu and staff")
    edge_b, _ = enroll(org, tmp_path / "b", slow)
    try:
        owner_b = pair_tablet(edge_b)
        owner_b.login(OWNER_PIN)
        wait_for(
            lambda: owner_b.get("/api/v1/sync/status").json()["summary"]["live"],
            "store B to hear the relay's hints",
        )
        item = owner_a.get("/api/v1/catalog/items", params={"q": "Espresso"}).json()[0]
        patched = owner_a.patch(f"/api/v1/catalog/items/{item['id']}", json={"name": "Ristretto"})
        assert patched.status_code == 200
        sql = f"SELECT name FROM items WHERE id = '{item['id']}'"
        wait_for(lambda: rows(edge_b, sql) == [("Ristretto",)], "the hint to bring the rename")
    finally:
        edge_b.stop()
        edge_a.stop()


def test_two_new_stores_set_up_at_once_keep_their_own_pins(
    relay: RelayServer, tmp_path: Path
) -> None:
    # Both enroll before either has synced. The org's owner comes from the relay (no appliance
    # makes an owner) and gets a first PIN of each store's own; the PIN set at one store logs in
    # there and nowhere else (until the owner sets one there).
    org = Org(relay)
    servers, pins = [], []
    for name in ("a", "b"):
        _, code = org.store()
        out = cli("enroll", "--data", str(tmp_path / name), "--relay", relay.url, "--code", code)
        pins.append(re.findall(r"owner Owner PIN (\d+) at this store", out.stdout)[0])
    try:
        for name in ("a", "b"):
            servers.append(EdgeServer(tmp_path / name, env=FAST_SYNC))
            servers[-1].start()
        tablets = [  # no password login on these stores: the technician's code pairs them
            pair_tablet(s, code=cli("pairing-code", "--data", str(s.data_dir)).stdout.split()[-1])
            for s in servers
        ]
        for tablet, pin in zip(tablets, pins, strict=True):
            tablet.login(pin)
        for tablet in tablets:
            wait_for(lambda t=tablet: synced(t), "each store to push its setup")
        employees = "SELECT count(*) FROM employees"
        wait_for(lambda: all(rows(s, employees) == [(1,)] for s in servers), "the org's owner")
        for tablet, pin, other in zip(tablets, pins, reversed(pins), strict=True):
            assert tablet.login(pin)["role"] == "owner"
            refused = tablet.http.post(
                "/api/v1/auth/pin",
                json={"pin": other},
                headers={"X-Device-Token": tablet.device_token},
            )
            assert refused.status_code == 401, refused.text
    finally:
        for server in servers:
            server.stop()


def test_an_enrollment_cut_short_after_the_code_leaves_no_store(tmp_path: Path) -> None:
    # The relay takes the code, then refuses the pull of the org's data (one request allowed):
    # the half-made store must not stay, or the directory would hold a store with no staff.
    tight = {"FYNLO_RELAY_SYNC_RATE_PER_S": "0.001", "FYNLO_RELAY_SYNC_BURST": "1"}
    with RelayServer(tmp_path / "relay", env=tight) as relay:
        org = Org(relay)
        store_id, code = org.store()
        # The org has a document to pull (no store of it has pushed one yet).
        body = pycrdt.Doc().get_update()
        update = Update(hash=update_hash(body), body=body)
        relay.storage(lambda storage: storage.append(catalog_doc(org.id), [update], at_ms=1))
        data = tmp_path / "a"
        args = ("enroll", "--data", str(data), "--relay", relay.url, "--code", code)
        result = cli(*args, check=False)
    assert result.returncode == 2
    assert "run the same enrollment again, with the same code" in result.stderr
    assert not db_path(data).exists()
    # Only the credential the code bought (edge.app.pending_enrollment), for the next run.
    assert sorted(p.name for p in data.iterdir()) in ([PENDING_FILE], [PENDING_FILE, "keys"])
    assert not (data / "keys" / "relay.token").exists()
    # The code is not burned: once the relay lets it, the same command finishes the enrollment.
    with RelayServer(tmp_path / "relay", port=relay.port):
        assert store_id in cli(*args).stdout
    assert db_path(data).exists() and not (data / PENDING_FILE).exists()


def test_lag_counts_only_changes_waiting_for_the_relay(tmp_path: Path) -> None:
    relay = RelayServer(tmp_path / "relay")
    relay.start()
    try:
        server, store_id = enroll(Org(relay), tmp_path / "a")
    except BaseException:
        relay.stop()
        raise
    try:
        till = logged_in(server, MANAGER_PIN, "till")
        wait_for(lambda: synced(till), "the demo café to reach the relay")

        def lags() -> dict[str, int]:
            docs = till.get("/api/v1/sync/status").json()["docs"]
            return {d["doc_id"]: d["lag_ms"] for d in docs}

        # In sync and unchanged: nothing is behind, however long ago the last exchange was.
        assert set(lags().values()) == {0}
        relay.stop()
        order = croissant_order(till)
        day = f"store/{store_id}/day/{order['business_day']}"
        wait_for(lambda: lags()[day] > 0, "the sale to wait for the relay")
        assert {d for d, lag in lags().items() if lag} == {day}
    finally:
        server.stop()
        relay.stop()
