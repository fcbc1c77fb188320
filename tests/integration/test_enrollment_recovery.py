"""An enrollment that fails after the relay took the code keeps no store and does not burn it.

In process against a real relay: a failure of ours is made to happen while the new store is being
built (after the code was exchanged), and the same enrollment is run again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.app import enrollment
from edge.app.enrollment import EnrollmentIncomplete, enroll_appliance
from edge.app.pending_enrollment import PENDING_FILE
from edge.store.db import db_path
from edge.sync.worker import SyncWorker
from tests.relay.support import RelayServer, relay_cli
from tests.support.sync import Org


async def _a_bug(worker: SyncWorker) -> None:
    await worker.stop()
    raise AttributeError("'str' object has no attribute 'items'")


def test_a_failure_of_ours_keeps_no_store_and_the_same_code_finishes_the_enrollment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RelayServer(tmp_path / "relay") as relay:
        org = Org(relay)
        store_id, code = org.store()
        data = tmp_path / "box"
        monkeypatch.setattr(enrollment, "_pull_once", _a_bug)
        with pytest.raises(EnrollmentIncomplete, match="same code"):
            enroll_appliance(data, relay.url, code, "box", demo=True)
        # No store, no staging left: only the credential the code bought, for the owner alone.
        assert not db_path(data).exists()
        assert [p.name for p in data.iterdir()] == [PENDING_FILE]
        assert (data / PENDING_FILE).stat().st_mode & 0o077 == 0

        monkeypatch.undo()
        done, lines = enroll_appliance(data, relay.url, code.lower(), "box", demo=True)
        assert done.store_id == store_id and db_path(data).exists()
        assert not (data / PENDING_FILE).exists()
        assert any("PIN" in line for line in lines)
        # The relay enrolled one appliance, not two: the second run used the first credential.
        devices = relay_cli("device", "list", "--data", str(relay.data_dir), "--org", org.id)
        assert len(devices.stdout.splitlines()) == 1


def test_another_code_starts_afresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with RelayServer(tmp_path / "relay") as relay:
        org = Org(relay)
        _, code = org.store()
        other_store, other_code = org.store()
        data = tmp_path / "box"
        monkeypatch.setattr(enrollment, "_pull_once", _a_bug)
        with pytest.raises(EnrollmentIncomplete):
            enroll_appliance(data, relay.url, code, "box", demo=True)
        monkeypatch.undo()
        done, _ = enroll_appliance(data, relay.url, other_code, "box", demo=True)
        assert done.store_id == other_store
        assert not (data / PENDING_FILE).exists()
