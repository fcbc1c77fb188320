"""One active appliance per store, in the storage: on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import asyncio
from pathlib import Path

import apsw
import pytest

from cloud.relay.storage.base import ApplianceActive, NotFound, Storage
from cloud.relay.storage.sqlite import _MIGRATIONS, SqliteStorage
from tests.relay.conftest import Backend

pytestmark = pytest.mark.anyio


async def a_store(storage: Storage) -> None:
    await storage.create_org("o1", "Café Lune", at_ms=1)
    await storage.create_store("s1", "o1", "Rue Oberkampf", at_ms=2)
    await storage.create_store("s2", "o1", "Bastille", at_ms=3)


async def enrolled(storage: Storage, n: int, *, store: str = "s1", replace: bool = False) -> str:
    """A device enrolled with a fresh code (``d<n>``, token ``t<n>``); its id."""
    await storage.add_enrollment_code(f"code-{n}", store, expires_at_ms=10_000, replace=replace)
    device = await storage.redeem_enrollment_code(f"code-{n}", 100 + n, f"d{n}", "Till", f"t{n}")
    assert device is not None
    return device.id


async def test_a_plain_code_is_refused_while_the_store_has_an_appliance(storage: Storage) -> None:
    await a_store(storage)
    await enrolled(storage, 1)
    await storage.add_enrollment_code("code-2", "s1", expires_at_ms=10_000)
    with pytest.raises(ApplianceActive):
        await storage.redeem_enrollment_code("code-2", 200, "d2", "Till", "t2")
    assert await storage.device_by_token("t2") is None
    assert [d.id for d in await storage.list_devices("o1")] == ["d1"]
    # The refusal did not use the code up: once the owner retires the old appliance, it enrolls.
    await storage.revoke_device("d1", at_ms=300)
    device = await storage.redeem_enrollment_code("code-2", 400, "d2", "Till", "t2")
    assert device is not None and device.store_id == "s1"
    assert await storage.redeem_enrollment_code("code-2", 401, "d3", "Till", "t3") is None


async def test_a_replacement_code_revokes_the_old_appliance_as_it_enrolls(
    storage: Storage,
) -> None:
    await a_store(storage)
    await enrolled(storage, 1)
    await enrolled(storage, 9, store="s2")  # another store of the org keeps its appliance
    await enrolled(storage, 2, replace=True)
    assert await storage.device_by_token("t1") is None
    assert (await storage.device_by_token("t2")) is not None
    assert (await storage.device_by_token("t9")) is not None
    old, new = await storage.list_devices("o1", "s1")
    assert (old.id, old.revoked_at_ms, new.id, new.revoked_at_ms) == ("d1", 102, "d2", None)
    assert [d.id for d in await storage.list_devices("o1")] == ["d1", "d2", "d9"]
    assert await storage.list_devices("o1", "nope") == await storage.list_devices("nope") == []


async def test_a_replacement_code_enrolls_a_store_with_no_appliance(storage: Storage) -> None:
    await a_store(storage)
    await enrolled(storage, 1, replace=True)
    assert (await storage.get_device("d1")).revoked_at_ms is None


async def test_a_device_is_read_by_id(storage: Storage) -> None:
    await a_store(storage)
    await enrolled(storage, 1)
    device = await storage.get_device("d1")
    assert (device.org_id, device.store_id, device.enrolled_at_ms) == ("o1", "s1", 101)
    with pytest.raises(NotFound):
        await storage.get_device("ghost")


async def test_plain_codes_of_one_store_redeemed_at_once_enroll_one_appliance(
    backend: Backend,
) -> None:
    async with backend.storage() as one, backend.storage() as two:
        await backend.empty()
        await a_store(one)
        for n in range(6):
            await one.add_enrollment_code(f"code-{n}", "s1", expires_at_ms=10_000)

        async def redeem(n: int) -> str:
            storage = (one, two)[n % 2]
            try:
                await storage.redeem_enrollment_code(f"code-{n}", 500, f"d{n}", "Till", f"t{n}")
            except ApplianceActive:
                return "refused"
            return "enrolled"

        results = await asyncio.gather(*(redeem(n) for n in range(6)))
        assert sorted(results) == ["enrolled"] + ["refused"] * 5
        assert len(await one.list_devices("o1", "s1")) == 1


async def test_replacements_redeemed_at_once_leave_one_active_appliance(
    backend: Backend,
) -> None:
    async with backend.storage() as one, backend.storage() as two:
        await backend.empty()
        await a_store(one)
        await enrolled(one, 0)
        for n in range(1, 7):
            await one.add_enrollment_code(f"code-{n}", "s1", expires_at_ms=10_000, replace=True)
        await asyncio.gather(
            *(
                (one, two)[n % 2].redeem_enrollment_code(f"code-{n}", 500, f"d{n}", "Till", f"t{n}")
                for n in range(1, 7)
            )
        )
        devices = await one.list_devices("o1", "s1")
        assert len(devices) == 7
        assert len([d for d in devices if d.revoked_at_ms is None]) == 1


async def test_codes_of_a_relay_upgraded_from_v2_stay_plain(tmp_path: Path) -> None:
    path = tmp_path / "relay.db"
    conn = apsw.Connection(str(path))
    for version, sql in enumerate(_MIGRATIONS[:2], start=1):
        with conn:
            conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(
        "INSERT INTO orgs VALUES ('o1', 'Org', 1); INSERT INTO stores VALUES ('s1', 'o1', 'S', 1);"
        " INSERT INTO enrollment_codes VALUES"
        " ('old', 's1', 10000, NULL), ('new', 's1', 10000, NULL);"
    )
    conn.close()
    async with SqliteStorage(path) as storage:
        assert await storage.redeem_enrollment_code("old", 10, "d1", "Till", "t1") is not None
        with pytest.raises(ApplianceActive):
            await storage.redeem_enrollment_code("new", 11, "d2", "Till", "t2")
