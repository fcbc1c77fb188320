"""The setup page in a real browser: a technician enrolls a blank appliance from it."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from edge.store.db import db_path
from tests.relay.support import RelayServer
from tests.support.server import EdgeServer
from tests.support.sync import Org

READY = "Ready: the store is serving"


def fill(page: Page, relay_url: str, code: str) -> None:
    page.get_by_label("Relay address").fill(relay_url)
    page.get_by_label("Enrollment code").fill(code)
    page.get_by_label("Name of this appliance").fill("front till")


def test_a_technician_enrolls_the_appliance_from_its_setup_page(
    page: Page, relay: RelayServer, blank: EdgeServer
) -> None:
    store_id, code = Org(relay).store()
    page.goto(blank.url)  # the root sends a blank appliance to its setup page
    expect(page).to_have_title("Fynlo appliance setup")

    fill(page, relay.url, "not-the-code")
    page.get_by_role("button", name="Enroll").click()
    expect(page.get_by_role("alert")).to_contain_text("ask the owner for a new one")
    assert not db_path(blank.data_dir).exists()

    fill(page, relay.url, code)
    page.get_by_label("Start with the demo café menu").check()
    page.get_by_role("button", name="Enroll").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text(store_id)
    expect(status).to_contain_text(READY, timeout=30_000)
    code = page.locator("#pairing_code").inner_text()
    paired = httpx.post(f"{blank.url}/api/v1/devices/pair", json={"code": code, "name": "till"})
    assert paired.status_code == 201, paired.text  # the code on the page pairs the first tablet
    expect(page.get_by_role("alert")).to_be_empty()
    assert db_path(blank.data_dir).exists()
