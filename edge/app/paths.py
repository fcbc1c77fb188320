"""Ids in paths are taken in any case, as they are in bodies: every id is a lower-case UUID.

A tablet that kept an id in upper case (some platforms print UUIDs so) would otherwise be told
404 for its own order. The path is made canonical once, before routing, for every route.
"""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.types import Receive, Scope, Send

_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def canonical(path: str) -> str:
    """``path`` with every UUID in it lower-cased."""
    return _UUID.sub(lambda found: found.group().lower(), path)


class CanonicalIds(Litestar):
    """The app, routing on paths whose UUIDs are lower-cased."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["path"] = canonical(scope["path"])
        await super().__call__(scope, receive, send)
