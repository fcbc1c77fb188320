"""Owner password logins on a real ``fynlo-relay serve``: limited per account and client address,
with growing waits kept in storage; a stranger never keeps the owner out."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.relay.support import RelayServer
from tests.support.answers import expect_json
from tests.support.problems import assert_problem
from tests.support.sync import OWNER, Org

FREE = 5  # failures before any wait (cloud.relay.routes.owner.OWNER_BACKOFF)


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayServer]:
    with RelayServer(tmp_path_factory.mktemp("relay") / "data") as server:
        Org(server)
        yield server


def client(relay: RelayServer, address: str) -> httpx.Client:
    """A client whose requests come from ``address`` (any of 127.0.0.0/8 is this machine)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=relay.url, transport=transport, timeout=30.0)


def login(http: httpx.Client, password: str) -> httpx.Response:
    return http.post("/api/v1/auth/login", json={**OWNER, "password": password})


def test_a_strangers_guesses_slow_only_the_stranger(relay: RelayServer) -> None:
    with client(relay, "127.0.0.2") as stranger, client(relay, "127.0.0.1") as owner:
        for _ in range(FREE):
            assert_problem(login(stranger, "a guess"), 401, "login-failed")
        refused = assert_problem(login(stranger, OWNER["password"]), 429, "too-many-requests")
        assert "wait" in str(refused["detail"])
        assert expect_json(login(owner, OWNER["password"]))["access_token"]
        # Kept in storage: a restart forgets nothing.
        relay.stop()
        relay.start()
        assert_problem(login(stranger, "another guess"), 429, "too-many-requests")
        assert expect_json(login(owner, OWNER["password"]))["access_token"]


def test_waits_grow_and_a_success_does_not_reset_them(relay: RelayServer) -> None:
    with client(relay, "127.0.0.3") as office:
        for _ in range(FREE):
            assert_problem(login(office, "a typo"), 401, "login-failed")
        assert login(office, OWNER["password"]).headers["retry-after"] == "1"
        time.sleep(1)  # the Retry-After just announced: a known wait, not luck
        assert login(office, OWNER["password"]).status_code == 200
        # The five failures still stand: the next try waits again (after a reset it would not).
        again = assert_problem(login(office, "a typo"), 429, "too-many-requests")
        assert "wait 1 s" in str(again["detail"])
