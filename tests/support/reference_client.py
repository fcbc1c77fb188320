"""A second client of the documents: the npm ``yjs`` package run by Node (tools/yjs-reference).

It reads a document from its Yjs updates with nothing but the published layout
(shared/schemas/json/compact-layout.json), so what it prints is what any non-Python client would
see. Node and the npm packages are part of the test environment (`make test` runs `npm ci`):
missing, the test fails rather than skips.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cloud.relay.storage.base import Storage
from edge.app.relay_link import TOKEN_FILE
from shared.schemas.export import LAYOUT_FILE, OUT_DIR
from tests.relay.support import RelayServer, SyncClient
from tests.support.server import EdgeServer

REPO = Path(__file__).resolve().parents[2]
DECODER = REPO / "tools" / "yjs-reference" / "decode.mjs"
LAYOUT = OUT_DIR / LAYOUT_FILE


def node() -> str:
    """The Node executable, once the npm packages are seen installed at the repository root."""
    found = shutil.which("node")
    if found is None:
        pytest.fail("`node` is not on PATH: the tests need Node 18+ and npm", pytrace=False)
    if not (REPO / "node_modules" / "yjs" / "package.json").is_file():
        pytest.fail(
            "the npm packages are missing: `make test` installs them (npm ci)", pytrace=False
        )
    return found


def appliance_token(edge: EdgeServer) -> str:
    """The relay credential the appliance was enrolled with."""
    return (edge.data_dir / TOKEN_FILE).read_text().strip()


def relay_updates(relay: RelayServer, token: str, doc_id: str) -> list[bytes]:
    """Everything the relay holds of a document (its merged segments, then its log), pulled from
    the start through its sync API as the enrolled appliance would."""
    client = SyncClient(relay, token)
    bodies: list[bytes] = []
    cursor = 0
    try:
        while True:
            (page,) = client.pull({doc_id: cursor}, limit=1000).docs
            if page.snapshot is not None:
                bodies.append(page.snapshot)
            bodies += [update.body for update in page.updates]
            if not page.more:
                return bodies
            cursor = page.cursor
    finally:
        client.close()


def relay_segments(relay: RelayServer, doc_id: str) -> int:
    """How many merged segments the relay's storage holds of a document (read beside it: polling
    the sync API would spend the appliance's rate limit)."""

    async def count(storage: Storage) -> int:
        return (await storage.pull(doc_id, 0, 1000)).segments

    return relay.storage(count)


def decode(doc_id: str, updates: list[bytes]) -> dict[str, Any]:
    """The document as the reference client reads it: collections of entities, every conflict,
    and the entries it could not read."""
    request = {"doc_id": doc_id, "updates": [base64.b64encode(u).decode() for u in updates]}
    result = subprocess.run(
        [node(), str(DECODER), "--layout", str(LAYOUT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 0, f"the reference client failed on {doc_id}: {result.stderr}"
    decoded: dict[str, Any] = json.loads(result.stdout)
    return decoded


def differences(api: Any, doc: Any, path: str) -> list[str]:
    """Where a decoded value differs from the API's answer, types included (``True == 1`` and
    ``0 == False`` in Python: a boolean read as a number must not pass)."""
    if isinstance(api, dict) and isinstance(doc, dict):
        found = [f"{path}: only the API has {name!r}" for name in sorted(set(api) - set(doc))]
        found += [f"{path}: only the document has {name!r}" for name in sorted(set(doc) - set(api))]
        for name in sorted(set(api) & set(doc)):
            found += differences(api[name], doc[name], f"{path}.{name}")
        return found
    if isinstance(api, list) and isinstance(doc, list):
        if len(api) != len(doc):
            return [f"{path}: {len(doc)} values in the document, {len(api)} in the API"]
        pairs = enumerate(zip(api, doc, strict=True))
        return [found for n, (a, d) in pairs for found in differences(a, d, f"{path}[{n}]")]
    if type(api) is not type(doc) or api != doc:
        return [f"{path}: the document holds {doc!r}, the API answers {api!r}"]
    return []


def assert_same_entities(what: str, api: list[dict[str, Any]], doc: dict[str, Any]) -> None:
    """The same ids on both sides, and every field of every entity equal."""
    by_id = {entity["id"]: entity for entity in api}
    assert len(by_id) == len(api), f"{what}: the API lists an id twice"
    assert sorted(doc) == sorted(by_id), f"{what}: the document and the API hold other ids"
    found = [d for key in sorted(by_id) for d in differences(by_id[key], doc[key], f"{what} {key}")]
    assert found == [], "\n".join(found)
