"""The Litestar application of one appliance."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from edge.app import ops
from edge.app.auditlog.routes import router as audit_router
from edge.app.auth.principal import TokenAuth
from edge.app.auth.routes import router as auth_router
from edge.app.bodies import StrictRequest
from edge.app.catalog.routes import router as catalog_router
from edge.app.conflicts.routes import router as conflicts_router
from edge.app.context import Edge
from edge.app.drawer.routes import router as drawer_router
from edge.app.employees.routes import router as employees_router
from edge.app.exceptions.routes import router as exceptions_router
from edge.app.openapi import PUBLIC_PATHS, document_problems
from edge.app.orders.routes import router as orders_router
from edge.app.paths import CanonicalIds
from edge.app.problems import EXCEPTION_HANDLERS
from edge.app.relay_link import catch_up
from edge.app.replication.routes import router as replication_router
from edge.app.reports.routes import router as reports_router
from edge.app.settings.routes import router as settings_router
from shared.openapi import StrictStructSchemaPlugin

ROUTERS = [
    auth_router,
    catalog_router,
    conflicts_router,
    orders_router,
    drawer_router,
    employees_router,
    reports_router,
    audit_router,
    settings_router,
    replication_router,
    exceptions_router,
]


def create_app(edge: Edge) -> Litestar:
    """The app; the store starts and stops with it."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        edge.hub.bind(asyncio.get_running_loop())
        if edge.sync is not None:
            # Before the first request: uvicorn listens only once startup is done.
            await catch_up(edge.sync, edge.config.sync_catch_up_s)
            await edge.sync.start()
        try:
            yield
        finally:
            if edge.sync is not None:
                await edge.sync.stop()
            edge.store.stop()

    app = CanonicalIds(
        route_handlers=[*ROUTERS, ops.health, ops.status, ops.metrics, ops.events],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,  # Litestar would replace the JSON lines shared.logs set up
        middleware=[DefineMiddleware(TokenAuth, exclude=list(PUBLIC_PATHS))],
        before_send=[ops.count_response],
        request_max_body_size=edge.config.max_body_bytes,
        # Every JSON body is decoded strictly into its Struct: "2" and 2.0 are no quantity.
        request_class=StrictRequest,
        openapi_config=OpenAPIConfig(
            title="Fynlo edge API",
            version="1",
            path="/schema",
            description=(
                "The local API of a Fynlo store appliance. Pair a tablet (`POST /api/v1/devices/"
                "pair`), log in with a PIN (`POST /api/v1/auth/pin`), then send"
                " `Authorization: Bearer <access_token>`. Errors are RFC 9457 problem details."
            ),
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
            ),
            security=[{"bearer": []}],
        ),
        plugins=[StrictStructSchemaPlugin()],
        state=State({"edge": edge}),
    )
    document_problems(app)
    return app
