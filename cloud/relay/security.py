"""Secrets of the relay: enrollment codes (hashing, tokens and JWTs are shared)."""

from __future__ import annotations

import secrets

# Enrollment codes are typed on an appliance's setup page: no 0/O, 1/I/L or U.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
_CODE_GROUPS, _CODE_GROUP_LEN = 3, 4  # 30^12 ~ 2^59: far beyond guessing within a day


def new_enrollment_code() -> str:
    """Twelve characters in groups of four (``ABCD-EFGH-JKMN``), easy to read and type."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_GROUPS * _CODE_GROUP_LEN))
    groups = [chars[n : n + _CODE_GROUP_LEN] for n in range(0, len(chars), _CODE_GROUP_LEN)]
    return "-".join(groups)


def normalise_code(code: str) -> str:
    """The canonical form a code is hashed in: case, spaces and dashes as typed do not matter."""
    return "".join(ch for ch in code.upper() if ch not in "- \t")
