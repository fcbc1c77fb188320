"""The data the processes keep is their owner's only: stores, WAL files, keys, credentials.

Real processes: a relay, and an appliance enrolled with it (the CLI) and serving, after both
have written (the enrollment, a pairing, a login). Every file under their data directories is
0600 and every directory 0700, the relay's too although the test made its directory 0755.
"""

from __future__ import annotations

import stat
from pathlib import Path

from tests.relay.support import RelayServer
from tests.support.server import OWNER_PIN, pair_tablet
from tests.support.sync import Org, enroll


def modes(root: Path, name: str) -> dict[str, tuple[int, int]]:
    """``name/<path>`` -> (its permission bits, the owner-only bits it should have), for
    ``root`` and everything under it."""
    found = {}
    for path in [root, *root.rglob("*")]:
        info = path.stat()
        owner_only = 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
        found[f"{name}/{path.relative_to(root)}"] = (stat.S_IMODE(info.st_mode), owner_only)
    return found


def test_data_files_and_directories_are_the_owners_only(tmp_path: Path) -> None:
    with RelayServer(tmp_path / "relay") as relay:
        server, _ = enroll(Org(relay), tmp_path / "edge")
        try:
            pair_tablet(server).login(OWNER_PIN)  # a pairing and a login: writes
            found = {**modes(server.data_dir, "edge"), **modes(relay.data_dir, "relay")}
        finally:
            server.stop()
    expected = {"edge/edge.db", "edge/edge.db-wal", "edge/edge.db-shm", "edge/keys/jwt.key"}
    expected |= {"edge/keys/relay.token", "relay/relay.db", "relay/relay.db-wal"}
    expected |= {"relay/relay.db-shm", "relay/keys/jwt.key"}
    assert expected <= set(found), sorted(found)
    wide = {name: oct(mode) for name, (mode, owner_only) in found.items() if mode != owner_only}
    assert not wide, wide
