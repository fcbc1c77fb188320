"""An appliance with an empty data directory serves its setup page and enrolls from it.

Real processes: a relay with an org and a store, and ``fynlo-edge serve`` on an empty data
directory. Bad input and refused codes leave the directory empty; a good code creates the store,
and the same process then serves it on the same address, synced with the relay.
"""

from __future__ import annotations

import httpx

from edge.store.db import db_path
from tests.relay.support import RelayServer
from tests.support.problems import assert_problem
from tests.support.server import OWNER_PIN, EdgeServer, pair_tablet
from tests.support.sync import Org, synced, wait_for

ENROLL = "/api/v1/setup/enroll"


def serving(server: EdgeServer) -> bool:
    """Whether the store's own app answers on the address (the setup app says "setup")."""
    try:
        return bool(httpx.get(f"{server.url}/health").json() == {"status": "ok"})
    except httpx.TransportError:
        return False  # between the setup app and the store's: the address changes hands


def test_the_setup_page_is_served_until_a_store_exists(blank: EdgeServer) -> None:
    assert httpx.get(f"{blank.url}/health").json() == {"status": "setup"}
    page = httpx.get(f"{blank.url}/", follow_redirects=True)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="relay_url"' in page.text and 'id="code"' in page.text
    assert httpx.get(f"{blank.url}/api/v1/orders").status_code == 404  # no store, no store API


def test_bad_input_and_refused_codes_leave_the_appliance_empty(
    relay: RelayServer, blank: EdgeServer
) -> None:
    _, code = Org(relay).store()

    def post(body: dict[str, object]) -> httpx.Response:
        return httpx.post(f"{blank.url}{ENROLL}", json=body, timeout=30)

    bad_json = httpx.post(
        f"{blank.url}{ENROLL}", content=b"{", headers={"content-type": "application/json"}
    )
    assert_problem(bad_json, 400, "bad-request")
    assert_problem(post({"relay_url": relay.url}), 400, "bad-request")  # no code
    assert_problem(post({"relay_url": relay.url, "code": 12}), 400, "bad-request")
    for url in ("ftp://relay", "relay.example.com", "http://relay:port", "http://x/?a=1"):
        assert_problem(post({"relay_url": url, "code": code}), 422, "invalid-relay-url")
    refused = post({"relay_url": relay.url, "code": "not-a-code"})
    assert "new one" in str(assert_problem(refused, 422, "enrollment-refused")["detail"])
    unreachable = post({"relay_url": "http://127.0.0.1:9", "code": code})
    assert_problem(unreachable, 502, "relay-unreachable")
    assert not db_path(blank.data_dir).exists()
    assert not serving(blank)
    # The code was not used up by any of that: it still enrolls.
    done = post({"relay_url": relay.url, "code": code, "demo": True})
    assert done.status_code == 201, done.text


def test_enrolling_from_the_setup_page_starts_the_store_on_the_same_address(
    relay: RelayServer, blank: EdgeServer
) -> None:
    enrolled_id, code = Org(relay).store()
    body = {"relay_url": relay.url, "code": code, "name": "front till", "demo": True}
    done = httpx.post(f"{blank.url}{ENROLL}", json=body, timeout=30)
    assert done.status_code == 201, done.text
    answer = done.json()
    assert answer["store_id"] == enrolled_id
    assert any(enrolled_id in line for line in answer["lines"])
    wait_for(lambda: serving(blank), "the store to serve on the same address")
    # The first tablet pairs with the code the page showed: no command line needed.
    owner = pair_tablet(blank, code=answer["pairing_code"])
    owner.login(OWNER_PIN)
    assert owner.get("/api/v1/status").json()["store_id"] == enrolled_id
    wait_for(lambda: synced(owner), "the new store to sync with the relay")
    again = httpx.post(f"{blank.url}{ENROLL}", json=body, timeout=30)
    assert again.status_code in (401, 404)  # the setup app is gone with its endpoint
    blank.restart()  # and a restart serves the store, not the setup page
    assert serving(blank) and owner.get("/api/v1/status").json()["store_id"] == enrolled_id
