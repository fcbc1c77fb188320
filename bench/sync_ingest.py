"""Relay ingest: a fresh relay with many enrolled stores, all pushing at once.

The stores and their devices are made through the relay's storage before it starts (as
enrollment would: a one-time code redeemed for a token kept only as a hash), and the per-device
rate limit is lifted so the relay's capacity is measured, not the limiter. The load runs in a
process of its own (``bench.sync_load``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import combine
from bench.load import generate
from cloud.relay.security import normalise_code
from cloud.relay.storage.base import Storage
from shared.credentials import new_token, token_digest
from shared.ids import now_ms, uuid7
from shared.schemas.documents import day_doc
from tests.relay.support import RelayServer

INGEST_RELAY_ENV = {"FYNLO_RELAY_SYNC_RATE_PER_S": "100000", "FYNLO_RELAY_SYNC_BURST": "100000"}
INGEST_DAY = "2030-01-01"


async def _devices(storage: Storage, count: int) -> list[dict[str, str]]:
    """``count`` stores of one org, each with an enrolled device: tokens and day documents."""
    at = now_ms()
    org = await storage.create_org(uuid7(), "Ingest Co", at)
    devices = []
    for n in range(count):
        store = await storage.create_store(uuid7(), org.id, f"store {n}", at)
        code, token = new_token(), new_token()
        digest = token_digest(normalise_code(code))
        await storage.add_enrollment_code(digest, store.id, at + 60_000)
        device = await storage.redeem_enrollment_code(
            digest, at, uuid7(), f"till {n}", token_digest(token)
        )
        assert device is not None
        devices.append({"token": token, "doc_id": day_doc(store.id, INGEST_DAY)})
    return devices


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (VmRSS), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def ingest_round(root: Path, stores: int, updates: int, seconds: float) -> dict[str, float]:
    """A fresh relay, ``stores`` stores pushing ``updates`` each at once: rate, latency, RSS."""
    relay = RelayServer(root, env=INGEST_RELAY_ENV)
    relay.data_dir.mkdir(parents=True)
    devices = relay.storage(lambda storage: _devices(storage, stores))
    with relay:
        assert relay.proc is not None
        idle = rss_bytes(relay.proc.pid)
        spec = {"url": relay.url, "devices": devices, "updates": updates, "warmup": 2}
        result = generate(spec | {"seconds": seconds}, "bench.sync_load")
        loaded = rss_bytes(relay.proc.pid)
    if not result["updates"] or result["errors"]:
        raise RuntimeError(f"ingest: {result['errors']} errors: {result['first_error']}")
    figures = {k: v for k, v in result.items() if k not in ("first_error",)}
    return figures | {"relay_rss_idle_mb": idle / 2**20, "relay_rss_mb": loaded / 2**20}


def ingest(root: Path, stores: int, updates: int, seconds: float, rounds: int) -> dict[str, Any]:
    """Medians over ``rounds`` fresh relays."""
    runs = [ingest_round(root / f"relay-{n}", stores, updates, seconds) for n in range(rounds)]
    return combine(runs) | {"relay_env": INGEST_RELAY_ENV}
