"""Fixtures of the integration tests that open a store in process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.store.store import Store, create


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A new, empty store file opened in this process (its writer, readers and background)."""
    create(tmp_path)
    with Store(tmp_path) as s:
        yield s
