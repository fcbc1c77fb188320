"""The relay's owner routes read past entries no replica can read, list them, and remove them.

A real relay process; the bad entries are written straight into its storage (tests.support.
bad_data), as older data or a bug would have left them there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import msgspec
import pycrdt
import pytest

from shared.ids import now_ms, uuid7
from shared.schemas import stamped
from shared.schemas.documents import catalog_doc, settings_doc
from tests.relay.support import RelayServer, relay_cli
from tests.support.bad_data import plant
from tests.support.problems import assert_problem
from tests.support.shop import relay_doc
from tests.support.sync import OWNER, Org, owner_client


@dataclass
class Owned:
    relay: RelayServer
    org: str
    store: str
    owner: httpx.Client


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Owned]:
    with RelayServer(tmp_path_factory.mktemp("relay") / "data") as relay:
        org = Org(relay)
        store, _ = org.store()
        with owner_client(relay) as owner:
            yield Owned(relay, org.id, store, owner)
        assert 'status="500"' not in httpx.get(f"{relay.url}/metrics").text


def _cell(field: str, value: object) -> tuple[str, str]:
    """A stamped cell as a store writes it: (key, text)."""
    stamp = stamped.Stamp(now_ms(), 0, "store")
    return stamped.cell_key(field, stamp), msgspec.json.encode({"v": value}).decode()


def test_settings_with_unreadable_values_read_patch_and_heal(owned: Owned) -> None:
    doc_id = settings_doc(owned.store)
    name_key, name_text = _cell("name", "Corner Café")
    wrong_key, wrong_text = _cell("currency", 5)  # readable, of the wrong type
    broken = stamped.cell_key("timezone", stamped.Stamp(now_ms(), 0, "bug"))
    plant(
        owned.relay,
        doc_id,
        lambda d: d.get("settings", type=pycrdt.Map).update(
            {name_key: name_text, wrong_key: wrong_text, broken: pycrdt.Map({"v": "x"})}
        ),
    )
    url = f"/api/v1/stores/{owned.store}/settings"
    got = owned.owner.get(url)
    assert got.status_code == 200, got.text
    assert (got.json()["name"], got.json()["currency"], got.json()["timezone"]) == (
        "Corner Café",
        "USD",  # the default: the stored value is no currency
        "UTC",
    )
    listed = owned.owner.get(f"/api/v1/orgs/{owned.org}/quarantine").json()
    assert {(q["doc_id"], q["key"]) for q in listed} == {
        (doc_id, "currency"),
        (doc_id, "timezone"),
    }
    # Editing a bad value replaces it, every cell of it included; the good fields are kept.
    patched = owned.owner.patch(url, json={"currency": "GBP"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["currency"]) == ("Corner Café", "GBP")
    listed = owned.owner.get(f"/api/v1/orgs/{owned.org}/quarantine").json()
    assert [(q["key"], q["collection"]) for q in listed] == [("timezone", "settings")]
    # The unreadable one is removed for good: the field reads as its default.
    removed = owned.owner.delete(
        f"/api/v1/orgs/{owned.org}/entries",
        params={"doc_id": doc_id, "collection": "settings", "key": "timezone"},
    )
    assert removed.status_code == 200 and removed.json()["keys"] == 1, removed.text
    assert owned.owner.get(f"/api/v1/orgs/{owned.org}/quarantine").json() == []
    settings = relay_doc(owned.relay, doc_id).get("settings", type=pycrdt.Map)
    assert broken not in settings and stamped.values(settings)["currency"] == "GBP"


def test_catalog_items_skip_what_cannot_be_read(owned: Owned) -> None:
    doc_id = catalog_doc(owned.org)
    good, text, cells = uuid7(), uuid7(), uuid7()

    def write(doc: pycrdt.Doc) -> None:
        items = doc.get("items", type=pycrdt.Map)
        items[good] = pycrdt.Map(
            dict(
                _cell(f, v)
                for f, v in {"name": "Tea", "category_id": "c", "price_minor": 1}.items()
            )
        )
        items[text] = "an item?"
        items[cells] = pycrdt.Map({"name": pycrdt.Map({"v": "Tea"})})

    plant(owned.relay, doc_id, write)
    items = owned.owner.get(f"/api/v1/orgs/{owned.org}/catalog/items")
    assert items.status_code == 200, items.text
    assert [i["id"] for i in items.json()] == [good]
    assert owned.owner.get(f"/api/v1/orgs/{owned.org}/conflicts").status_code == 200
    listed = owned.owner.get(f"/api/v1/orgs/{owned.org}/quarantine", params={"doc_id": doc_id})
    assert {q["key"] for q in listed.json()} == {text, cells}
    # The command line lists the same, one a line.
    out = relay_cli("entry", "list", "--data", str(owned.relay.data_dir), "--org", owned.org)
    assert {line.split("\t")[2] for line in out.stdout.splitlines()} >= {text, cells}


def test_only_the_owners_documents_and_only_what_is_there_can_be_removed(owned: Owned) -> None:
    url = f"/api/v1/orgs/{owned.org}/entries"
    data = str(owned.relay.data_dir)
    other = relay_cli(
        "org", "create", "--data", data, "--name", "Other",
        "--owner-email", "other@cafe.test", "--owner-password", OWNER["password"],
    ).stdout.split()[-1]  # fmt: skip
    foreign_store = relay_cli(
        "store", "create", "--data", data, "--org", other, "--name", "theirs"
    ).stdout.split()[-2]
    for doc_id in (catalog_doc(other), settings_doc(foreign_store), "elsewhere/x/y"):
        refused = owned.owner.delete(url, params={"doc_id": doc_id, "collection": "items"})
        assert_problem(refused, 403, "forbidden")
    missing = owned.owner.delete(
        url, params={"doc_id": catalog_doc(owned.org), "collection": "items", "key": uuid7()}
    )
    assert_problem(missing, 404, "not-found")
    nothing = owned.owner.delete(
        url, params={"doc_id": catalog_doc(owned.org), "collection": "nothing-here"}
    )
    assert_problem(nothing, 404, "not-found")
    other_org = owned.owner.get(f"/api/v1/orgs/{other}/quarantine")
    assert_problem(other_org, 403, "forbidden")
