"""The JSON Schema files non-Python clients build against match the structs (`make schemas`)."""

from __future__ import annotations

from shared.schemas.export import OUT_DIR, rendered


def test_schema_files_are_up_to_date() -> None:
    for name, text in rendered().items():
        path = OUT_DIR / name
        assert path.exists(), f"{path} is missing: run `make schemas`"
        assert path.read_text() == text, f"{path} is stale: run `make schemas`"


def test_every_sync_message_is_in_the_sync_schema() -> None:
    text = rendered()["sync.schema.json"]
    for name in ("PushRequest", "PushResponse", "PullRequest", "PullResponse", "DocList"):
        assert f'"{name}"' in text
