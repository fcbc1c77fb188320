"""An enrollment under way: the credential a one-time code bought, kept until the store is built.

The relay uses a code up the moment it hands out the credential. Building the new store comes
after (pull the org's documents, seed, move the store in), and may fail: the relay went away, a
bug of ours. Dropping the credential then would burn the code, and the store would need a
replacement code from the owner. So it is kept beside the data directory's (absent) store, owner
only, and running the same enrollment again - same relay, same code - resumes with it instead of
asking the relay again. It is forgotten once the store is in place, or when another code is given.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import msgspec

from edge.sync.client import Enrollment

PENDING_FILE = ".enrollment-pending"


class _Pending(msgspec.Struct, frozen=True, kw_only=True):
    relay_url: str
    code_digest: str  # the code itself is a secret no longer needed
    enrollment: Enrollment


def _digest(code: str) -> str:
    # As the relay reads a code: case, spaces and dashes as typed do not matter.
    canonical = "".join(ch for ch in code.upper() if ch not in "- \t")
    return hashlib.sha256(canonical.encode()).hexdigest()


def resume(data_dir: Path, url: str, code: str) -> Enrollment | None:
    """The credential an earlier, unfinished enrollment with this relay and code bought."""
    try:
        pending = msgspec.json.decode((data_dir / PENDING_FILE).read_bytes(), type=_Pending)
    except (FileNotFoundError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    if pending.relay_url != url.rstrip("/") or pending.code_digest != _digest(code):
        return None
    return pending.enrollment


def keep(data_dir: Path, url: str, code: str, enrollment: Enrollment) -> None:
    """Keep the credential until the store is in place (written whole, owner-only)."""
    pending = _Pending(relay_url=url.rstrip("/"), code_digest=_digest(code), enrollment=enrollment)
    path = data_dir / PENDING_FILE
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(msgspec.json.encode(pending))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def forget(data_dir: Path) -> None:
    """The store is in place (or was there already): the credential lives in its keys now."""
    (data_dir / PENDING_FILE).unlink(missing_ok=True)
