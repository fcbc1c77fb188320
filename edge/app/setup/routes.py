"""The setup app: what an appliance with an empty data directory serves until it is enrolled.

``fynlo-edge serve`` on an empty data directory serves this instead of the store's API: a page
(``/setup``) where the technician types the relay's address and the store's enrollment code, and
the endpoint behind it. Once enrollment has created the store, ``on_enrolled`` runs after the
answer is sent and the process goes on to serve the store itself on the same address.

It is unauthenticated, like any first-boot screen: it only works while no store exists, and what
it does needs a one-time code issued by the owner on the relay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from litestar import Litestar, MediaType, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import JSONBody
from litestar.response import Redirect

from edge.app.auth.service import issue_pairing_code_offline
from edge.app.bodies import StrictRequest
from edge.app.enrollment import EnrollmentIncomplete, enroll_appliance
from edge.app.setup.page import SETUP_PAGE
from edge.store.db import db_path
from edge.store.errors import StoreError
from edge.sync.errors import RelayRefused, SyncError
from shared.ids import now_ms
from shared.openapi import Problems, StrictStructSchemaPlugin, document
from shared.problems import ApiError, base_handlers

log = logging.getLogger("fynlo.edge.setup")

# What the enroll endpoint can answer besides 201 (see shared.openapi).
SETUP_PROBLEMS: dict[str, Problems] = {
    "POST /api/v1/setup/enroll": {
        400: ("bad-request",),
        409: ("already-set-up",),
        413: ("payload-too-large",),
        422: ("invalid-relay-url", "enrollment-refused"),
        502: ("enrollment-incomplete", "relay-unreachable"),
    },
}


class SetupRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    relay_url: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "appliance"
    demo: bool = False  # the org's first store may start with the demo café


class SetupDone(msgspec.Struct, kw_only=True):
    store_id: str
    lines: list[str]  # what the CLI would print: the device, and the owner's first PIN
    # The first tablet's way in: the technician at this page may have no command line.
    pairing_code: str
    pairing_code_valid_s: int


def create_setup_app(
    data_dir: Path, pairing_code_ttl_s: int, on_enrolled: Callable[[], None]
) -> Litestar:
    """The setup app for ``data_dir``; ``on_enrolled`` runs once the store exists."""
    busy = asyncio.Lock()  # one enrollment at a time: a double click must not enroll twice

    @get("/", include_in_schema=False)
    async def root() -> Redirect:
        return Redirect("/setup")

    @get("/setup", media_type=MediaType.HTML, include_in_schema=False)
    async def page() -> str:
        return SETUP_PAGE

    @get("/health")
    async def health() -> dict[str, str]:
        """Alive and waiting to be enrolled (the store's own app answers "ok")."""
        return {"status": "setup"}

    @post("/api/v1/setup/enroll", status_code=201)
    async def enroll(data: JSONBody[SetupRequest]) -> Response[SetupDone]:
        """Enroll this appliance with the relay and create its store, then start serving it."""
        if not _is_relay_url(data.relay_url):
            raise ApiError(
                422,
                "invalid-relay-url",
                "The relay address must be an http:// or https:// URL, such as"
                " https://relay.example.com.",
            )
        if busy.locked() or db_path(data_dir).exists():
            raise ApiError(409, "already-set-up", "This appliance already holds a store.")
        async with busy:
            try:
                enrollment, lines = await asyncio.to_thread(
                    enroll_appliance, data_dir, data.relay_url, data.code, data.name, demo=data.demo
                )
            except RelayRefused as exc:
                detail = f"The relay refused the enrollment: {exc.detail}"
                raise ApiError(422, "enrollment-refused", detail) from exc
            except EnrollmentIncomplete as exc:
                raise ApiError(502, "enrollment-incomplete", f"{exc}.") from exc
            except SyncError as exc:
                detail = (
                    f"The appliance cannot reach the relay at {data.relay_url}: check the"
                    f" address and its internet connection. ({exc})"
                )
                raise ApiError(502, "relay-unreachable", detail) from exc
            except StoreError as exc:
                raise ApiError(409, "already-set-up", str(exc)) from exc
        code = issue_pairing_code_offline(data_dir, now_ms(), pairing_code_ttl_s)
        log.info("enrolled as store %s; starting to serve it", enrollment.store_id)
        done = SetupDone(
            store_id=enrollment.store_id,
            lines=lines,
            pairing_code=code.code,
            pairing_code_valid_s=pairing_code_ttl_s,
        )
        return Response(
            done,
            status_code=201,
            background=BackgroundTask(_later, on_enrolled),
        )

    app = Litestar(
        route_handlers=[root, page, health, enroll],
        exception_handlers=base_handlers(log, "Setup hit an unexpected error; try again."),
        logging_config=None,
        request_class=StrictRequest,
        request_max_body_size=16 * 1024,
        plugins=[StrictStructSchemaPlugin()],
    )
    document(app, (), SETUP_PROBLEMS)
    return app


def _is_relay_url(text: str) -> bool:
    try:
        url = urlsplit(text)
        url.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return (
        url.scheme in ("http", "https") and bool(url.hostname) and not (url.query or url.fragment)
    )


async def _later(action: Callable[[], None]) -> None:
    action()
