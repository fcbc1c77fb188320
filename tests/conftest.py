"""Shared fixtures: a demo store served by a real fynlo-edge process, and logged-in tablets.

Each role's tablet is paired and logged in once per module and shared by the module's tests (a PIN
login costs an Argon2 check). A test that locks out, revokes or otherwise spends a device pairs its
own with `pair_tablet` or `logged_in`; those are closed after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.relay.support import RelayServer
from tests.support.catalog import Menu, read_menu
from tests.support.drawer import open_till
from tests.support.server import (
    CASHIER_PIN,
    KITCHEN_PIN,
    MANAGER_PIN,
    OPEN_TABLETS,
    OWNER_PIN,
    SERVER_PIN,
    EdgeServer,
    Tablet,
    logged_in,
    running_edge,
)
from tests.support.sync import FAST_SYNC


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


def _module_tablet(server: EdgeServer, pin: str, name: str) -> Iterator[Tablet]:
    tablet = logged_in(server, pin, name, per_test=False)
    yield tablet
    tablet.close()


@pytest.fixture(scope="module")
def owner(edge_server: EdgeServer) -> Iterator[Tablet]:
    yield from _module_tablet(edge_server, OWNER_PIN, "owner tablet")


@pytest.fixture(scope="module")
def manager(edge_server: EdgeServer) -> Iterator[Tablet]:
    yield from _module_tablet(edge_server, MANAGER_PIN, "manager tablet")


@pytest.fixture(scope="module")
def cashier(edge_server: EdgeServer) -> Iterator[Tablet]:
    yield from _module_tablet(edge_server, CASHIER_PIN, "till 1")


@pytest.fixture(scope="module")
def waiter(edge_server: EdgeServer) -> Iterator[Tablet]:
    """A server (waiting staff): takes orders but has no till."""
    yield from _module_tablet(edge_server, SERVER_PIN, "floor tablet")


@pytest.fixture(scope="module")
def kitchen(edge_server: EdgeServer) -> Iterator[Tablet]:
    """The kitchen screen: reads orders but rings nothing up."""
    yield from _module_tablet(edge_server, KITCHEN_PIN, "kitchen screen")


@pytest.fixture
def menu(cashier: Tablet) -> Menu:
    """The catalog as the cashier's tablet reads it at the start of the test."""
    return read_menu(cashier)


@pytest.fixture
def till(manager: Tablet) -> dict[str, Any]:
    """The open till session of the main drawer (opened with £50 when none is)."""
    return open_till(manager)


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[RelayServer]:
    """A relay process of the test's own (SQLite in the test's temp dir)."""
    with RelayServer(tmp_path / "relay") as server:
        yield server


@pytest.fixture
def blank(tmp_path: Path) -> Iterator[EdgeServer]:
    """``fynlo-edge serve`` on an empty data directory: its setup page, until it is enrolled."""
    server = EdgeServer(tmp_path / "appliance", env=FAST_SYNC)
    server.start()  # its /health answers while it waits to be set up
    try:
        yield server
    finally:
        server.stop()
