"""The relay's HTTP API as the appliance sees it: a thin transport over the sync codec."""

from __future__ import annotations

import contextlib
from typing import Any, TypeVar

import httpx
import msgspec

from edge.sync.errors import RelayRefused, RelayUnreachable
from shared.schemas import sync

M = TypeVar("M")
MSGPACK = "application/x-msgpack"
SYNC = "/api/v1/sync"


class Enrollment(msgspec.Struct, frozen=True, kw_only=True):
    """What the relay hands an appliance for its one-time code."""

    device_id: str
    token: str
    org_id: str
    store_id: str


class RelayClient:
    """Push, pull and list documents with a device credential; errors mapped to SyncError."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": MSGPACK},
            timeout=timeout_s,
            transport=transport,
        )

    async def close(self) -> None:
        await self._http.aclose()

    @property
    def hints_url(self) -> str:
        """The relay's WebSocket of live hints for this device."""
        scheme, rest = self.base_url.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{SYNC}/ws?token={self._token}"

    async def docs(self) -> sync.DocList:
        """The documents of this appliance's scope and the relay's head of each."""
        return await self._send("GET", f"{SYNC}/docs", None, sync.DocList)

    async def push(self, request: sync.PushRequest) -> sync.PushResponse:
        return await self._send("POST", f"{SYNC}/push", request, sync.PushResponse)

    async def pull(self, request: sync.PullRequest) -> sync.PullResponse:
        return await self._send("POST", f"{SYNC}/pull", request, sync.PullResponse)

    async def state(self, doc_ids: list[str]) -> sync.StateResponse:
        """What the relay holds of these documents (their state vectors)."""
        request = sync.StateRequest(doc_ids=doc_ids)
        return await self._send("POST", f"{SYNC}/state", request, sync.StateResponse)

    async def _send(
        self, method: str, path: str, message: msgspec.Struct | None, answer: type[M]
    ) -> M:
        headers = {}
        content = None
        if message is not None:
            # Compressed: a day of sales offline is mostly repetitive JSON inside the updates.
            content = sync.encode(message, compress=True)
            headers = {"Content-Type": MSGPACK, "Content-Encoding": "deflate"}
        try:
            response = await self._http.request(method, path, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise RelayUnreachable(f"{method} {path}: {exc!r}") from exc
        _raise_for_status(response)
        try:
            return sync.decode(response.content, answer)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise RelayUnreachable(f"{method} {path}: unreadable answer: {exc}") from exc


async def enroll(
    base_url: str, code: str, name: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> Enrollment:
    """Exchange a one-time enrollment code for this appliance's device credential."""
    async with httpx.AsyncClient(base_url=base_url, timeout=15.0, transport=transport) as http:
        try:
            response = await http.post("/api/v1/devices/enroll", json={"code": code, "name": name})
        except httpx.HTTPError as exc:
            raise RelayUnreachable(f"cannot reach the relay at {base_url}: {exc!r}") from exc
    _raise_for_status(response)
    return msgspec.convert(response.json(), Enrollment)


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    if response.status_code >= 500 or response.status_code == 429:
        raise RelayUnreachable(f"relay answered {response.status_code}")
    problem: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        problem = response.json()
    code = str(problem.get("type", "")).rsplit(":", 1)[-1] or "refused"
    raise RelayRefused(response.status_code, code, str(problem.get("detail", response.text[:200])))
