"""The JSON Schema files and the document layout non-Python clients build against match the
structs (`make schemas`)."""

from __future__ import annotations

import msgspec

from edge.store.collections import doc_collections
from shared.schemas import compact
from shared.schemas import documents as d
from shared.schemas.export import DOC_IDS, OUT_DIR, layout, rendered


def test_schema_files_are_up_to_date() -> None:
    for name, text in rendered().items():
        path = OUT_DIR / name
        assert path.exists(), f"{path} is missing: run `make schemas`"
        assert path.read_text() == text, f"{path} is stale: run `make schemas`"


def test_every_sync_message_is_in_the_sync_schema() -> None:
    text = rendered()["sync.schema.json"]
    for name in ("PushRequest", "PushResponse", "PullRequest", "PullResponse", "DocList"):
        assert f'"{name}"' in text


def test_the_published_layout_names_the_collections_the_edge_stores() -> None:
    published = layout()["documents"]
    for kind, template in DOC_IDS.items():
        doc_id = template.format(org_id="org-1", store_id="store-1", business_day="2026-01-02")
        held = {
            c.name: {"mode": c.mode, **({"struct": c.struct.__name__} if c.struct else {})}
            for c in doc_collections(doc_id)
        }
        listed = {
            name: {k: v for k, v in coll.items() if k != "append_only"}
            for name, coll in published[kind]["collections"].items()
        }
        assert listed == held, kind


def test_the_published_field_order_is_the_compact_encodings() -> None:
    structs = layout()["structs"]
    for name, struct in structs.items():
        names = [f["name"] for f in struct["fields"]]
        assert names == list(compact._plan(getattr(d, name)).names), name
    order_fields = {f["name"]: f for f in structs["Order"]["fields"]}
    assert order_fields["lines"]["list_of"] == "OrderLine"
    assert order_fields["totals"]["struct"] == "OrderTotals"
    assert order_fields["totals"]["default"] == msgspec.to_builtins(d.OrderTotals())
