"""The OpenAPI documents are the contract: schemathesis holds real processes to them.

A real ``fynlo-edge`` (the demo café, the owner's back-office token) and a real ``fynlo-relay``
(an org with a store, the owner's token, an enrolled device's token) on throwaway data. The
schemathesis CLI generates requests from each ``/schema/openapi.json`` (valid and invalid ones,
then sequences that follow ids from answer to request) and fails on any 5xx, any status or
content type an operation does not document, and any answer its schema does not describe.
Bounded: a fixed number of examples per operation and a fixed seed, so a run is repeatable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.relay.support import RelayServer
from tests.support.answers import expect_json
from tests.support.server import OWNER_LOGIN, EdgeServer, running_edge
from tests.support.sync import OWNER, Org

ST = Path(sys.executable).parent / "st"
ROOT = Path(__file__).resolve().parents[2]
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
MAX_EXAMPLES = 20
SEED = 20251205
PROBLEM = "application/problem+json"
SYNC = r"^/api/v1/sync/"
# The operations that need no token or secret of any kind.
ANYONE = {"GET /health", "GET /metrics", "POST /api/v1/devices/pair", "POST /api/v1/devices/enroll"}


def schemathesis(
    url: str, token: str, *args: str, config: dict[str, str] | None = None, tmp: Path
) -> None:
    """Run ``st run`` on ``url``'s schema as ``token``; fail with its report unless all passed."""
    command = [str(ST)]
    if config:  # fixed values for path parameters, so requests reach real entities
        path = tmp / "schemathesis.toml"
        path.write_text("[parameters]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in config.items()))
        command += ["--config-file", str(path)]
    command += [
        "run", f"{url}/schema/openapi.json", "--header", f"Authorization: Bearer {token}",
        "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
        "--generation-database", "none", "--request-timeout", "10", "--no-color", *args,
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.contract.hooks",  # msgpack bodies for the sync routes
    }
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=240, env=env, cwd=tmp, check=False
    )
    assert done.returncode == 0, f"schemathesis found:\n{done.stdout[-12000:]}{done.stderr}"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EdgeServer, str]]:
    """The demo café, and its owner's back-office token (no tablet: a generated DELETE of a
    device must not log the run out). Wrong PINs do not lock the run out either."""
    data = tmp_path_factory.mktemp("edge") / "data"
    with running_edge(data, env={"FYNLO_PIN_ATTEMPTS": "1000000"}) as server:
        login = httpx.post(f"{server.url}/api/v1/auth/password", json=OWNER_LOGIN)
        yield server, expect_json(login)["access_token"]


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayServer]:
    """A relay whose rate limits do not slow generated requests down."""
    limits = {"FYNLO_RELAY_SYNC_RATE_PER_S": "100000", "FYNLO_RELAY_SYNC_BURST": "100000"}
    with RelayServer(tmp_path_factory.mktemp("relay") / "data", env=limits) as server:
        yield server


@pytest.fixture(scope="module")
def org(relay: RelayServer) -> Org:
    return Org(relay)


def test_the_appliance_answers_as_its_schema_says(
    edge: tuple[EdgeServer, str], tmp_path: Path
) -> None:
    server, token = edge
    schemathesis(server.url, token, tmp=tmp_path)


def test_the_relays_sync_routes_answer_as_its_schema_says(org: Org, tmp_path: Path) -> None:
    _, code = org.store()
    body = {"code": code, "name": "contract"}
    device = expect_json(httpx.post(f"{org.relay.url}/api/v1/devices/enroll", json=body), 201)
    schemathesis(org.relay.url, device["token"], "--include-path-regex", SYNC, tmp=tmp_path)


def test_the_relays_owner_routes_answer_as_their_schema_says(org: Org, tmp_path: Path) -> None:
    store_id, _ = org.store()
    token = expect_json(httpx.post(f"{org.relay.url}/api/v1/auth/login", json=OWNER))
    schemathesis(
        org.relay.url,
        token["access_token"],
        "--exclude-path-regex",
        SYNC,
        config={"path.org_id": org.id, "path.store_id": store_id},
        tmp=tmp_path,
    )


# --- what the documents say, read directly ------------------------------------------------


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("which", ["edge", "relay"])
def test_every_refusal_is_documented_as_a_problem(
    which: str, edge: tuple[EdgeServer, str], relay: RelayServer
) -> None:
    url = edge[0].url if which == "edge" else relay.url
    schema = expect_json(httpx.get(f"{url}/schema/openapi.json"))
    problem = {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
    for name, operation in _operations(schema):
        refusals = {s: r for s, r in operation["responses"].items() if int(s) >= 400}
        assert name in ANYONE or "401" in refusals, name  # logins answer 401 too: wrong secret
        for status, answer in refusals.items():
            assert answer["content"] == {PROBLEM: problem}, (name, status)
            assert "urn:fynlo:problem:" in answer["description"], (name, status)


def test_the_appliance_documents_its_real_request_constraints(
    edge: tuple[EdgeServer, str],
) -> None:
    schema = expect_json(httpx.get(f"{edge[0].url}/schema/openapi.json"))
    components, paths = schema["components"]["schemas"], schema["paths"]
    # Bodies refuse fields they do not name, and say so.
    assert components["OrderCreate"]["additionalProperties"] is False
    assert components["CashMoveRequest"]["additionalProperties"] is False
    # Answers are not bodies: they may grow fields.
    assert "additionalProperties" not in components["Order"]
    # Days are YYYY-MM-DD wherever one is taken.
    day = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
    for path in ("/api/v1/orders", "/api/v1/drawer/sessions", "/api/v1/reports/x"):
        (param,) = [p for p in paths[path]["get"]["parameters"] if p["name"] == "day"]
        assert param["schema"]["pattern"] == day, path
    (param,) = paths["/api/v1/reports/z/{day}"]["get"]["parameters"]
    assert param["schema"]["pattern"] == day
    # A no-sale and a reopen need no body; an order does.
    assert paths["/api/v1/drawer/no-sale"]["post"]["requestBody"]["required"] is False
    assert paths["/api/v1/orders/{order_id}/reopen"]["post"]["requestBody"]["required"] is False
    assert paths["/api/v1/orders"]["post"]["requestBody"]["required"] is True
    # A retried create answers 200 with what the first one made.
    assert {"200", "201"} <= set(paths["/api/v1/orders"]["post"]["responses"])


def test_the_relays_sync_routes_document_msgpack(relay: RelayServer) -> None:
    schema = expect_json(httpx.get(f"{relay.url}/schema/openapi.json"))
    push = schema["paths"]["/api/v1/sync/push"]["post"]
    body = push["requestBody"]["content"]["application/x-msgpack"]["schema"]
    assert body["title"] == "PushRequest" and body["additionalProperties"] is False
    assert list(push["responses"]["200"]["content"]) == ["application/x-msgpack"]
    assert "415" in push["responses"] and "429" in push["responses"]
