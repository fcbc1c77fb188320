"""Enrollment: one-time codes for a store, exchanged by an appliance for a device credential.

A store has one active appliance: a plain code enrolls a store that has none, a replacement code
retires the one it has (see ``cloud.relay.storage.devices``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Router, post
from litestar.params import JSONBody

from cloud.relay.owners import seat_owners
from cloud.relay.routes import relay_of
from cloud.relay.security import new_enrollment_code, normalise_code
from cloud.relay.storage.base import ApplianceActive, Storage
from shared.credentials import new_token, token_digest
from shared.ids import uuid7
from shared.problems import ApiError
from shared.schemas.sync import DocHead


class EnrollmentCode(msgspec.Struct, frozen=True, kw_only=True):
    """A code as shown to its owner, the one time it is shown."""

    code: str
    expires_at_ms: int
    replace: bool = False  # redeeming it revokes the store's active appliance


class EnrollRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class Enrollment(msgspec.Struct, frozen=True, kw_only=True):
    """The device's credential: shown once, stored by the relay only as a hash."""

    device_id: str
    token: str
    org_id: str
    store_id: str


async def issue_code(
    storage: Storage, store_id: str, now_ms: int, ttl_s: int, *, replace: bool = False
) -> EnrollmentCode:
    """A fresh one-time code for ``store_id``; only its hash is kept."""
    code = new_enrollment_code()
    expires_at_ms = now_ms + ttl_s * 1000
    digest = token_digest(normalise_code(code))
    await storage.add_enrollment_code(digest, store_id, expires_at_ms, replace=replace)
    return EnrollmentCode(code=code, expires_at_ms=expires_at_ms, replace=replace)


@post("/devices/enroll", status_code=201, tags=["enrollment"])
async def enroll(request: Request[Any, Any, Any], data: JSONBody[EnrollRequest]) -> Enrollment:
    """Exchange a store's one-time enrollment code for a device token (no login needed)."""
    relay = relay_of(request)
    token = new_token()
    try:
        device = await relay.storage.redeem_enrollment_code(
            token_digest(normalise_code(data.code)),
            relay.clock(),
            uuid7(),
            data.name.strip() or data.name,
            token_digest(token),
        )
    except ApplianceActive as exc:
        # The code stays unused: once the owner retires the old appliance, it still works.
        raise ApiError(
            409,
            "store-has-appliance",
            "This store already has an active appliance. To replace it, ask the owner for a"
            " replacement code: enrolling with it retires the old appliance.",
        ) from exc
    if device is None:
        # One answer for unknown, used and expired codes: a guesser learns nothing from it.
        raise ApiError(
            403,
            "enrollment-code-invalid",
            "That enrollment code is wrong, already used or expired: ask the owner for a new one.",
        )
    relay.counters.enrollments += 1
    # Before the appliance pulls: the owners it gives first PINs to come from the relay.
    seated = await seat_owners(relay.storage, relay.documents, device.org_id)
    if seated is not None and seated.accepted:
        relay.counters.updates_appended += seated.accepted
        await relay.fanout.publish([DocHead(doc_id=seated.doc_id, head=seated.head)], "")
    # Any other appliance of the store was just revoked (a replacement): close its hint socket.
    store_id, device_id = device.store_id, device.id
    relay.hub.cut_off(lambda d: d.store_id == store_id and d.id != device_id)
    return Enrollment(
        device_id=device.id, token=token, org_id=device.org_id, store_id=device.store_id
    )


router = Router(path="/api/v1", route_handlers=[enroll])
