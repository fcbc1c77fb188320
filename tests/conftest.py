"""Shared fixtures: a demo store served by a real fynlo-edge process, and logged-in tablets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import (
    CASHIER_PIN,
    MANAGER_PIN,
    OPEN_TABLETS,
    OWNER_PIN,
    EdgeServer,
    Tablet,
    pair_tablet,
    running_edge,
)


@pytest.fixture(autouse=True)
def _close_tablets() -> Iterator[None]:
    """Every tablet a test opened is closed after it (unclosed sockets are errors here)."""
    yield
    while OPEN_TABLETS:
        OPEN_TABLETS.pop().close()


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """One demo store per test module (tests in a module share its data)."""
    with running_edge(tmp_path_factory.mktemp("edge") / "data") as server:
        yield server


def _tablet(server: EdgeServer, pin: str, name: str) -> Iterator[Tablet]:
    tablet = pair_tablet(server, name)
    tablet.login(pin)
    yield tablet
    tablet.close()


@pytest.fixture
def owner(edge_server: EdgeServer) -> Iterator[Tablet]:
    yield from _tablet(edge_server, OWNER_PIN, "owner tablet")


@pytest.fixture
def manager(edge_server: EdgeServer) -> Iterator[Tablet]:
    yield from _tablet(edge_server, MANAGER_PIN, "manager tablet")


@pytest.fixture
def cashier(edge_server: EdgeServer) -> Iterator[Tablet]:
    yield from _tablet(edge_server, CASHIER_PIN, "till 1")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
