"""Routes of the drawer area (placeholder until the area lands)."""

from __future__ import annotations

from litestar import Router

router = Router(path="/api/v1", route_handlers=[], tags=["drawer"])
