"""The relay's Litestar application and the context its routes share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from cloud.relay.compaction import Compactor
from cloud.relay.config import RelayConfig, open_storage
from cloud.relay.documents import Documents, new_client_id
from cloud.relay.fanout import Fanout, open_fanout
from cloud.relay.openapi import document_problems
from cloud.relay.pins import PinRetirer
from cloud.relay.problems import EXCEPTION_HANDLERS
from cloud.relay.routes import catalog, conflicts, devices, enroll, entries, live, ops, owner, sync
from cloud.relay.routes.live import Hub
from cloud.relay.routes.ops import Counters
from cloud.relay.routes.ratelimit import RateLimiter
from cloud.relay.shadows import Shadows
from cloud.relay.storage.base import Storage
from shared.credentials import load_or_create_key
from shared.ids import now_ms
from shared.openapi import StrictStructSchemaPlugin

# Owner logins for one email from one address: ten at once, then one every ten seconds.
LOGIN_RATE_PER_S, LOGIN_BURST = 0.1, 10


@dataclass
class Relay:
    """One per process; routes reach it as ``request.app.state.relay``."""

    config: RelayConfig
    storage: Storage
    jwt_key: bytes
    hub: Hub
    fanout: Fanout
    sync_limiter: RateLimiter
    login_limiter: RateLimiter
    compactor: Compactor
    shadows: Shadows
    documents: Documents
    pins: PinRetirer
    counters: Counters = field(default_factory=Counters)
    clock: Callable[[], int] = now_ms

    @classmethod
    def build(cls, config: RelayConfig) -> Relay:
        """Everything a relay process needs; the storage and the fan-out start with the app."""
        storage, hub = open_storage(config), Hub(config.ws_queue)
        shadows = Shadows(storage, new_client_id(), config.shadow_budget_mb << 20)
        return cls(
            config=config,
            storage=storage,
            jwt_key=load_or_create_key(config.data_dir),
            hub=hub,
            fanout=open_fanout(config, storage, hub),
            sync_limiter=RateLimiter(config.sync_rate_per_s, config.sync_burst),
            login_limiter=RateLimiter(LOGIN_RATE_PER_S, LOGIN_BURST),
            compactor=Compactor(
                storage,
                interval_s=config.compact_interval_s,
                min_updates=config.compact_min_updates,
                min_age_s=config.compact_min_age_s,
            ),
            shadows=shadows,
            documents=Documents(storage, shadows, now_ms),
            pins=PinRetirer(storage, shadows, config.compact_interval_s),
        )


def create_app(relay: Relay, on_ready: Callable[[], None] | None = None) -> Litestar:
    """The app; storage and fan-out start and stop with it, ``on_ready`` runs once they are up."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await relay.storage.start()
        try:
            await relay.fanout.start()
            await relay.compactor.start()
            await relay.pins.start()
            try:
                if on_ready is not None:
                    on_ready()
                yield
            finally:
                await relay.pins.stop()
                await relay.compactor.stop()
                await relay.fanout.stop()
        finally:
            await relay.storage.stop()

    app = Litestar(
        route_handlers=[
            owner.router,
            devices.router,
            catalog.router,
            conflicts.router,
            entries.router,
            enroll.router,
            sync.router,
            live.hints,
            ops.health,
            ops.metrics,
        ],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,  # Litestar would replace the JSON lines shared.logs set up
        middleware=[ops.count_responses],
        request_max_body_size=relay.config.max_json_bytes,
        # Pulls of text-heavy documents shrink several-fold; level 6 gets most of it, cheaper.
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=1024, gzip_compress_level=6
        ),
        openapi_config=OpenAPIConfig(
            title="Fynlo relay API",
            version="1",
            path="/schema",
            description=(
                "Owners log in (`POST /api/v1/auth/login`) and manage stores; appliances enroll"
                " with a one-time code (`POST /api/v1/devices/enroll`) and sync msgpack bodies"
                " under `/api/v1/sync` with `Authorization: Bearer <device token>`. Errors are"
                " RFC 9457 problem details."
            ),
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        plugins=[StrictStructSchemaPlugin()],
        state=State({"relay": relay}),
    )
    document_problems(app)
    return app
