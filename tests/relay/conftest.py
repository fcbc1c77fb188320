"""Relay fixtures: every storage test runs on both backends, each on an empty database.

SQLite gets a file in the test's temp dir. PostgreSQL is started once per session by ``pgserver``
(``FYNLO_TEST_DATABASE_URL`` names another server instead); the session works in a database of
its own there, emptied before each test.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from cloud.relay.storage.base import Storage
from cloud.relay.storage.postgres import PostgresStorage
from cloud.relay.storage.sqlite import SqliteStorage

# children before parents; DELETE beats TRUNCATE on a few rows (no new files to create and sync)
_TABLES = [
    "devices",
    "enrollment_codes",
    "owners",
    "stores",
    "orgs",
    "doc_heads",
    "doc_updates",
    "doc_segments",
    "doc_folded",
    "login_attempts",
    "doc_clients",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for the session."""
    url = os.environ.get("FYNLO_TEST_DATABASE_URL")
    if url:
        yield url
        return
    with warnings.catch_warnings():
        # platformdirs warns once pgserver is imported where XDG_RUNTIME_DIR is unset (CI, root)
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver  # a dev dependency, imported only when a PostgreSQL test runs
    # Its shutdown thread logs after pytest has closed the streams: keep it to warnings.
    logging.getLogger("pgserver").setLevel(logging.WARNING)

    # Not under pytest's basetemp: a concurrent pytest run prunes old basetemps, data dir and all.
    with (
        tempfile.TemporaryDirectory(prefix="fynlo-pg-") as tmp,
        pgserver.get_server(Path(tmp) / "data", cleanup_mode="stop") as server,
    ):
        yield server.get_uri()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A database of the session's own on that server (never someone's data), dropped after."""
    name = f"fynlo_test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_conninfo(postgres_server, dbname=name)
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


class Backend:
    """Opens storages on one database, the way several relay processes would."""

    def __init__(self, kind: str, path: Path, url: str | None) -> None:
        self.kind = kind
        self._path = path
        self._url = url

    def storage(self) -> Storage:
        """A new, unstarted storage on the test's database."""
        if self.kind == "sqlite":
            return SqliteStorage(self._path)
        assert self._url is not None
        return PostgresStorage(self._url)

    async def empty(self) -> None:
        """Drop every row a previous test left (the schema is there once a storage started)."""
        if self._url is not None:
            async with await psycopg.AsyncConnection.connect(self._url) as conn:
                for table in _TABLES:
                    await conn.execute(f"DELETE FROM {table}")
                await conn.commit()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """One backend, on a database no other test sees."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return Backend(request.param, tmp_path / "relay.db", url)


@pytest.fixture
async def storage(backend: Backend) -> AsyncIterator[Storage]:
    """A started storage on an empty database, stopped after the test."""
    async with backend.storage() as started:
        await backend.empty()
        yield started
