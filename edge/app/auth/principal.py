"""Who is calling: the Actor decoded from an access token, the middleware and permission guards."""

from __future__ import annotations

import time
from typing import Any

import apsw
import jwt
import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)

from edge.domain.errors import PermissionDenied
from edge.domain.permissions import has_permission
from shared.credentials import decode_jwt
from shared.problems import ApiError
from shared.schemas.documents import Role


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """The employee behind a request, on the paired device (or back-office browser) they use."""

    employee_id: str
    role: Role
    name: str
    device_id: str | None


class TokenAuth(AbstractAuthenticationMiddleware):
    """Bearer tokens on HTTP; ``?token=`` on WebSockets, where browsers cannot set headers."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not token and connection.scope["type"] == "websocket":
            token = connection.query_params.get("token", "")
        if not token:
            raise ApiError(
                401,
                "unauthorized",
                "Log in first: send 'Authorization: Bearer <access token>'.",
                {"WWW-Authenticate": "Bearer"},
            )
        cached = _VERIFIED.get(token)
        if cached is not None and cached[0] > time.time():
            return AuthenticationResult(user=cached[1], auth=cached[2])
        key: bytes = connection.app.state.edge.jwt_key
        try:
            claims = decode_jwt(key, token)
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(
                401,
                "token-expired",
                "The access token has expired: refresh it or log in again.",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from exc
        except jwt.InvalidTokenError as exc:
            raise ApiError(
                401,
                "unauthorized",
                "The access token is not valid for this appliance.",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from exc
        if claims.get("typ") != "access":
            raise ApiError(401, "unauthorized", "Use an access token here, not a refresh token.")
        device_id = claims.get("dev")
        if device_id and device_revoked(connection.app.state.edge.store.read, device_id):
            raise device_refused()
        actor = Actor(
            employee_id=claims["sub"],
            role=claims["role"],
            name=claims.get("name", ""),
            device_id=claims.get("dev"),
        )
        _remember(token, actor, claims)
        return AuthenticationResult(user=actor, auth=claims)


# Verified access tokens, so a tablet's next request skips the signature check (until expiry).
# Revoking a tablet forgets its tokens here, and a token is only remembered after its tablet was
# found unrevoked in the store: a revoked tablet's tokens stop working at once.
_VERIFIED: dict[str, tuple[float, Actor, dict[str, Any]]] = {}
_VERIFIED_MAX = 4096


def _remember(token: str, actor: Actor, claims: dict[str, Any]) -> None:
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()  # a store has a few dozen tablets: this only bounds a flood
    _VERIFIED[token] = (float(claims["exp"]), actor, claims)


def forget_device(device_id: str) -> None:
    """Drop the remembered tokens of a revoked tablet: its next request is checked again."""
    for token, (_, actor, _) in list(_VERIFIED.items()):
        if actor.device_id == device_id:
            _VERIFIED.pop(token, None)


def device_revoked(conn: apsw.Connection, device_id: str) -> bool:
    """Whether a tablet was revoked (or never paired here): its tokens are refused."""
    row = conn.execute(
        "SELECT 1 FROM devices WHERE id = ? AND revoked_at_ms IS NULL", (device_id,)
    ).fetchone()
    return row is None


def device_refused() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        "This tablet's pairing was revoked: pair it again.",
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def requires(permission: str) -> Any:
    """A route guard: the caller's role must hold ``permission``."""

    # Async on purpose: Litestar runs a sync guard on its thread pool, a thread hop per request.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        actor: Actor = connection.user
        if not has_permission(actor.role, permission):
            raise PermissionDenied(
                f"A {actor.role} may not do this ({permission}).", permission=permission
            )

    return guard
