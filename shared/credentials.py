"""Secrets shared by the appliance and the relay: Argon2 hashes, token digests, signed JWTs."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.datadir import private_dir, write_private

# OWASP's minimum Argon2id profile (19 MiB, t=2): a login stays well under 100 ms on a Pi.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when nobody has the login, so an unknown one costs as much as a wrong secret
# and the answer's timing does not tell which logins exist.
_DUMMY_HASH = _hasher.hash("nobody has this secret")
JWT_ALGORITHM = "HS256"
JWT_KEY_FILE = "keys/jwt.key"


def hash_secret(secret: str) -> str:
    """Argon2id hash of a password or PIN."""
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True when ``secret`` matches; never raises, and costs the same when there is no hash."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, secret) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """Stored form of a high-entropy secret (device tokens, codes): a plain hash suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def load_or_create_key(data_dir: Path) -> bytes:
    """The process's JWT signing key, created on first use with owner-only permissions."""
    path = data_dir / JWT_KEY_FILE
    if not path.exists():
        private_dir(path.parent)
        write_private(path, secrets.token_bytes(32))
    return path.read_bytes()


def encode_jwt(key: bytes, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key, algorithm=JWT_ALGORITHM)


def decode_jwt(key: bytes, token: str) -> dict[str, Any]:
    """Verified claims; raises jwt.InvalidTokenError (expired, forged, malformed)."""
    return jwt.decode(token, key, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]})
