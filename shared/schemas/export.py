"""Writes the JSON Schema files of every struct that crosses edge <-> cloud (``make schemas``).

Non-Python clients (the dashboard, a tablet app) build against these files; a test fails when
they no longer match the structs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import msgspec

from shared.schemas import documents, sync

OUT_DIR = Path(__file__).resolve().parent / "json"

DOCUMENTS: tuple[type[msgspec.Struct], ...] = (
    documents.TaxRate,
    documents.Category,
    documents.ModifierGroup,
    documents.Item,
    documents.Discount,
    documents.Employee,
    documents.StoreSettings,
    documents.Order,
    documents.Payment,
    documents.Refund,
    documents.DrawerSession,
    documents.DrawerEntry,
    documents.DaySeal,
    documents.AuditEntry,
)
SYNC: tuple[type[msgspec.Struct], ...] = (
    sync.PushRequest,
    sync.PushResponse,
    sync.PullRequest,
    sync.PullResponse,
    sync.DocList,
    sync.StateRequest,
    sync.StateResponse,
    sync.DocChanged,
)


def rendered() -> dict[str, str]:
    """File name -> JSON text, for every schema group."""
    files = {}
    for name, structs in (("documents", DOCUMENTS), ("sync", SYNC)):
        refs, components = msgspec.json.schema_components(structs, ref_template="#/$defs/{name}")
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"Fynlo {name}",
            "oneOf": list(refs),
            "$defs": components,
        }
        files[f"{name}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def main() -> int:
    OUT_DIR.mkdir(exist_ok=True)
    for name, text in rendered().items():
        (OUT_DIR / name).write_text(text)
        print(f"wrote {OUT_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
