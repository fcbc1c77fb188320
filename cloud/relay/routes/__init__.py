"""The relay's HTTP and WebSocket routes, one module per area, and what they share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.connection import ASGIConnection

from cloud.relay.storage.base import Device
from shared.credentials import token_digest
from shared.problems import ApiError

if TYPE_CHECKING:
    from cloud.relay.app import Relay


def relay_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Relay:
    """The process's shared context (storage, hub, keys, limits)."""
    return connection.app.state.relay  # type: ignore[no-any-return]


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The token of an ``Authorization: Bearer`` header, or of ``?token=`` on a WebSocket."""
    header = connection.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not token and connection.scope["type"] == "websocket":
        # Browsers cannot set headers on a WebSocket, so the token may come in the query.
        token = connection.query_params.get("token", "")
    return token


def unauthorized(detail: str) -> ApiError:
    return ApiError(401, "unauthorized", detail, {"WWW-Authenticate": "Bearer"})


async def device_for(connection: ASGIConnection[Any, Any, Any, Any]) -> Device:
    """The enrolled, unrevoked device whose token the request carries; 401 otherwise.

    Looked up on every request rather than cached, so revoking a device takes effect at once.
    """
    token = bearer(connection)
    if not token:
        raise unauthorized("Send the device token: 'Authorization: Bearer <token>'.")
    device = await relay_of(connection).storage.device_by_token(token_digest(token))
    if device is None:
        raise unauthorized("This device token is unknown or revoked: enroll the appliance again.")
    return device
