"""Access and refresh tokens for an employee on a device."""

from __future__ import annotations

import msgspec

from edge.app.context import Edge
from shared.credentials import encode_jwt
from shared.ids import uuid7
from shared.schemas.documents import Employee


class TokenPair(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int
    employee_id: str
    name: str
    role: str


def issue_tokens(edge: Edge, employee: Employee, device_id: str | None) -> TokenPair:
    """A short-lived access token and a shift-long refresh token."""
    now_s = edge.clock() // 1000
    common = {"sub": employee.id, "dev": device_id, "iat": now_s}
    access = encode_jwt(
        edge.jwt_key,
        {
            **common,
            "typ": "access",
            "role": employee.role,
            "name": employee.name,
            "exp": now_s + edge.config.access_ttl_s,
            "jti": uuid7(),
        },
    )
    refresh = encode_jwt(
        edge.jwt_key,
        {**common, "typ": "refresh", "exp": now_s + edge.config.refresh_ttl_s, "jti": uuid7()},
    )
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=edge.config.access_ttl_s,
        employee_id=employee.id,
        name=employee.name,
        role=employee.role,
    )
