"""The owner's view of their appliances: list them, revoke one (a lost or stolen box).

A revoked appliance's pushes, pulls and hint socket are refused from its next request on (the
credential is looked up on every request, see ``routes.device_for``). Replacing an appliance does
not need this: a replacement code revokes the old one as the new one enrolls.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, delete, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from cloud.relay.routes import relay_of
from cloud.relay.routes.owner import Principal, _own_org, _own_store, current_owner
from cloud.relay.storage.base import Device, NotFound
from shared.problems import ApiError


@get("/orgs/{org_id:str}/devices", tags=["owner"])
async def list_org_devices(
    request: Request[Any, Any, Any], owner: NamedDependency[Principal], org_id: FromPath[str]
) -> list[Device]:
    """Every appliance ever enrolled into the org's stores; revoked ones carry
    ``revoked_at_ms``."""
    _own_org(owner, org_id)
    return await relay_of(request).storage.list_devices(org_id)


@get("/stores/{store_id:str}/devices", tags=["owner"])
async def list_store_devices(
    request: Request[Any, Any, Any], owner: NamedDependency[Principal], store_id: FromPath[str]
) -> list[Device]:
    """The appliances ever enrolled into one store: at most one is not revoked."""
    store = await _own_store(request, owner, store_id)
    return await relay_of(request).storage.list_devices(store.org_id, store.id)


@delete("/devices/{device_id:str}", status_code=200, tags=["owner"])
async def revoke_device(
    request: Request[Any, Any, Any], owner: NamedDependency[Principal], device_id: FromPath[str]
) -> Device:
    """Revoke an appliance's credential (again: no change); answers the device as it now is.

    Its store can then enroll an appliance with a plain code."""
    relay = relay_of(request)
    try:
        device = await relay.storage.get_device(device_id)
    except NotFound:
        device = None
    if device is None or device.org_id != owner.org_id:
        # Unknown and foreign devices answer alike, as stores do.
        raise ApiError(
            403, "forbidden", "That is not a device of your organisation.", device_id=device_id
        )
    await relay.storage.revoke_device(device.id, relay.clock())
    relay.hub.cut_off(lambda d: d.id == device_id)
    return await relay.storage.get_device(device.id)


router = Router(
    path="/api/v1",
    route_handlers=[list_org_devices, list_store_devices, revoke_device],
    dependencies={"owner": Provide(current_owner)},
)
