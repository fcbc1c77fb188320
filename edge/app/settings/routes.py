"""Routes of the store settings: read by every tablet, changed by managers."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, patch
from litestar.params import JSONBody

from edge.app.auth.principal import Actor, requires
from edge.app.context import Edge
from edge.app.settings import service
from edge.app.settings.schemas import SettingsPatch
from edge.domain.permissions import CATALOG_READ, SETTINGS_WRITE
from shared.schemas.documents import StoreSettings


def _edge(request: Request[Any, Any, Any]) -> Edge:
    return request.app.state.edge  # type: ignore[no-any-return]


@get("/settings", guards=[requires(CATALOG_READ)])
async def get_settings(request: Request[Actor, Any, Any]) -> StoreSettings:
    """The store's settings: name, currency, time zone, day cutoff, tax mode, rounding, ..."""
    edge = _edge(request)
    return edge.settings(edge.store.read)


@patch("/settings", guards=[requires(SETTINGS_WRITE)])
async def patch_settings(
    request: Request[Actor, Any, Any], data: JSONBody[SettingsPatch]
) -> StoreSettings:
    """Change only the settings given."""
    edge = _edge(request)
    return await edge.store.writer.run(service.patch_settings(edge, request.user, data))


router = Router(path="/api/v1", route_handlers=[get_settings, patch_settings], tags=["settings"])
