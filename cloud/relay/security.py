"""Secrets and ids: Argon2 for owner passwords, JWTs for owners, random codes and device tokens."""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's minimum Argon2id profile (19 MiB, t=2): a login costs tens of milliseconds.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when no owner has the email, so an unknown email costs as much as a wrong
# password and the answer's timing does not tell which emails exist.
_DUMMY_HASH = _hasher.hash("no owner has this password")
JWT_ALGORITHM = "HS256"
JWT_KEY_FILE = "keys/jwt.key"
# Enrollment codes are typed on an appliance's setup page: no 0/O, 1/I/L or U.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
_CODE_GROUPS, _CODE_GROUP_LEN = 3, 4  # 30^12 ~ 2^59: far beyond guessing within a day


def hash_password(password: str) -> str:
    """Argon2id hash of an owner's password."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; never raises, and costs the same for an unknown owner."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def token_digest(secret: str) -> str:
    """Stored form of a high-entropy secret (device tokens, enrollment codes): a plain hash does."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_device_token() -> str:
    return secrets.token_urlsafe(32)


def new_enrollment_code() -> str:
    """Twelve characters in groups of four (``ABCD-EFGH-JKMN``), easy to read and type."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_GROUPS * _CODE_GROUP_LEN))
    groups = [chars[n : n + _CODE_GROUP_LEN] for n in range(0, len(chars), _CODE_GROUP_LEN)]
    return "-".join(groups)


def normalise_code(code: str) -> str:
    """The canonical form a code is hashed in: case, spaces and dashes as typed do not matter."""
    return "".join(ch for ch in code.upper() if ch not in "- \t")


def load_or_create_key(data_dir: Path) -> bytes:
    """The relay's JWT signing key, created on first use with owner-only permissions."""
    path = data_dir / JWT_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def encode_jwt(key: bytes, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key, algorithm=JWT_ALGORITHM)


def decode_jwt(key: bytes, token: str) -> dict[str, Any]:
    """Verified claims; raises jwt.InvalidTokenError (expired, forged, malformed)."""
    return jwt.decode(token, key, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]})


# --- ids and time ---------------------------------------------------------------------------------

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def uuid7() -> str:
    """A new time-ordered UUIDv7 string (RFC 9562 §5.7); monotonic within one process."""
    global _last_ms, _seq
    with _lock:
        at_ms = time.time_ns() // 1_000_000
        if at_ms <= _last_ms:
            # Same (or a backwards) millisecond: keep order with a 12-bit counter in rand_a.
            _seq += 1
            if _seq > 0xFFF:
                _last_ms, _seq = _last_ms + 1, 0
            at_ms = _last_ms
        else:
            _last_ms, _seq = at_ms, random.getrandbits(10)
        seq = _seq
    # Ids must be unique, not secret (tokens come from ``secrets``), so ``random`` serves.
    value = (at_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62
    value |= random.getrandbits(62)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def now_ms() -> int:
    """Wall-clock UTC time in milliseconds."""
    return time.time_ns() // 1_000_000
