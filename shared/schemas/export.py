"""Writes the JSON Schema files of every struct that crosses edge <-> cloud (``make schemas``),
and the layout of the replicated documents (``compact-layout.json``).

Non-Python clients (the dashboard, a tablet app) build against these files; a test fails when
they no longer match the structs. The layout is what a client needs to read a document itself:
which collections each document holds and how (compact arrays, stamped cells, flat cells), and
every entity's fields in their stored order with their defaults. The compact encoding is
positional, so that order is the format (``tests/integration/test_reference_client.py`` reads
real documents with the npm ``yjs`` package and this file alone).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import msgspec

from shared.schemas import documents, sync
from shared.schemas.layout import ROOTS, Kind

OUT_DIR = Path(__file__).resolve().parent / "json"

DOCUMENTS: tuple[type[msgspec.Struct], ...] = (
    documents.TaxRate,
    documents.Category,
    documents.ModifierGroup,
    documents.Item,
    documents.Discount,
    documents.Employee,
    documents.StorePin,
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

LAYOUT_FILE = "compact-layout.json"

# The id of each kind of document, as a template.
DOC_IDS: dict[Kind, str] = {
    "catalog": documents.catalog_doc("{org_id}"),
    "people": documents.people_doc("{org_id}"),
    "settings": documents.settings_doc("{store_id}"),
    "day": documents.day_doc("{store_id}", "{business_day}"),
    "pins": documents.pins_doc("{store_id}"),
}

ENCODINGS = {
    "encoded": (
        "one entity per key of the collection's map, its value msgpack (shared/schemas/compact.py):"
        " an array of the struct's field values in the order of 'structs', a struct-typed field as"
        " its own array (or nil), a list-of-struct field as a list of arrays; fields missing at the"
        " end take their default, extra trailing values are ignored; an entry's first field 'id'"
        " is nil, its key is the id (nested structs keep theirs); 16 raw bytes at any depth are a"
        " UUID (its canonical lower-case text). A text value instead of bytes is the entity as"
        " JSON with field names (older documents)."
    ),
    "fields": (
        "one entity per key of the collection's map, its value a map of cells"
        " (shared/schemas/stamped.py): key '{field}@{ms:013d}.{counter:04d}.{replica}', value the"
        ' JSON text {"v": value, "by": who}; a field\'s value is its cell with the highest'
        " (ms, counter, replica), the numbers compared as numbers; a key without '@' is a cell of"
        " stamp (0, 0, '') holding the plain JSON value; every other cell of a field is a conflict"
        " that lost. Fields without a cell take their default; the entity's id is its key."
    ),
    "flat": "the collection's map holds cells as in 'fields' directly, one field per setting",
}


def _field_layout(field: msgspec.structs.FieldInfo, hint: Any) -> dict[str, Any]:
    # As compact._Plan reads a hint: an optional struct is its struct, list[Struct] a list of it.
    args = [a for a in get_args(hint) if a is not type(None)]
    if get_origin(hint) is Union and len(args) == 1:
        hint = args[0]
    item = get_args(hint)[0] if get_origin(hint) is list else None
    found: dict[str, Any] = {"name": field.name}
    if field.default_factory is not msgspec.NODEFAULT:
        found["default"] = msgspec.to_builtins(field.default_factory())
    elif field.default is not msgspec.NODEFAULT:
        found["default"] = msgspec.to_builtins(field.default)
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        found["struct"] = hint.__name__
    elif isinstance(item, type) and issubclass(item, msgspec.Struct):
        found["list_of"] = item.__name__
    return found


def _structs_in(hint: Any) -> list[type[msgspec.Struct]]:
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        return [hint]
    return [s for arg in get_args(hint) for s in _structs_in(arg)]


def _struct_layouts(roots: list[type[msgspec.Struct]]) -> dict[str, list[dict[str, Any]]]:
    """Each struct's fields in their stored order, of the structs they nest too."""
    found: dict[str, list[dict[str, Any]]] = {}
    todo = list(roots)
    while todo:
        cls = todo.pop()
        if cls.__name__ in found:
            continue
        hints = get_type_hints(cls)
        found[cls.__name__] = [_field_layout(f, hints[f.name]) for f in msgspec.structs.fields(cls)]
        todo += [nested for hint in hints.values() for nested in _structs_in(hint)]
    return found


def layout() -> dict[str, Any]:
    """The published layout of the replicated documents (see ENCODINGS)."""
    docs = {
        kind: {
            "id": DOC_IDS[kind],
            "collections": {
                root.name: {
                    "mode": root.mode,
                    **({} if root.mode == "flat" else {"struct": root.struct.__name__}),
                    **({"append_only": True} if root.append_only else {}),
                }
                for root in roots
            },
        }
        for kind, roots in ROOTS.items()
    }
    entities = [r.struct for roots in ROOTS.values() for r in roots if r.mode != "flat"]
    return {
        "title": "Fynlo document layout",
        "encodings": ENCODINGS,
        "documents": docs,
        "structs": {name: {"fields": fields} for name, fields in _struct_layouts(entities).items()},
    }


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
    files[LAYOUT_FILE] = json.dumps(layout(), indent=2, sort_keys=True) + "\n"
    return files


def main() -> int:
    OUT_DIR.mkdir(exist_ok=True)
    for name, text in rendered().items():
        (OUT_DIR / name).write_text(text)
        print(f"wrote {OUT_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
