"""Operations endpoints: /health, Prometheus /metrics, and the counters behind them."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response, get
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from cloud.relay.routes import relay_of
from shared.problems import problem

log = logging.getLogger("fynlo.relay")
PROMETHEUS = "text/plain; version=0.0.4"
_HEALTH_PROBE = "health-probe@relay.invalid"  # no owner has it: a cheap round trip


@dataclass
class Counters:
    """What this process did since it started (Prometheus counters are per process)."""

    pushes: int = 0
    pulls: int = 0
    updates_appended: int = 0
    duplicates: int = 0
    rejected_pushes: int = 0
    enrollments: int = 0
    responses: Counter[int] = field(default_factory=Counter)


@get("/health", tags=["ops"])
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """200 when the relay can reach its storage, 503 when it cannot; nothing else is told here
    (the storage backend and connected devices are in /metrics)."""
    relay = relay_of(request)
    try:
        await relay.storage.owner_by_email(_HEALTH_PROBE)
    except Exception as exc:  # any failure of the database means "not healthy", nothing more
        log.error("health check: storage unreachable: %s", exc)
        return problem(503, "storage-unavailable", f"The relay cannot reach its database: {exc}")
    return Response({"status": "ok"}, status_code=200)


@get("/metrics", tags=["ops"], media_type=PROMETHEUS)
async def metrics(request: Request[Any, Any, Any]) -> Response[str]:
    """Prometheus text exposition."""
    relay = relay_of(request)
    counts = relay.counters
    lines = [
        "# HELP fynlo_relay_storage_info the storage backend this relay runs on",
        "# TYPE fynlo_relay_storage_info gauge",
        f'fynlo_relay_storage_info{{backend="{type(relay.storage).__name__}"}} 1',
        *_metric("pushes_total", "counter", "pushes that were stored", counts.pushes),
        *_metric("pulls_total", "counter", "pull requests answered", counts.pulls),
        *_metric("updates_appended_total", "counter", "updates appended", counts.updates_appended),
        *_metric("duplicates_total", "counter", "pushed updates already held", counts.duplicates),
        *_metric(
            "pushes_rejected_total", "counter", "pushes refused whole", counts.rejected_pushes
        ),
        *_metric("enrollments_total", "counter", "devices enrolled", counts.enrollments),
        *_metric("devices_connected", "gauge", "hint sockets open", relay.hub.connections),
        *_metric("hints_total", "counter", "doc.changed hints queued", relay.hub.published),
        *_metric("hints_dropped_total", "counter", "sockets told to resync", relay.hub.dropped),
        *_metric(
            "rate_limited_total",
            "counter",
            "requests refused by a rate limit",
            relay.sync_limiter.refused + relay.login_limiter.refused,
        ),
        *_metric(
            "compactions_total", "counter", "segments swapped in", relay.compactor.stats.segments
        ),
        *_metric(
            "compaction_failures_total",
            "counter",
            "compaction passes that failed",
            relay.compactor.stats.failures,
        ),
        *_metric(
            "documents_over_budget",
            "gauge",
            "documents above the 5 MB budget when last compacted",
            len(relay.compactor.stats.over_budget),
        ),
        "# HELP fynlo_relay_http_responses_total HTTP responses by status",
        "# TYPE fynlo_relay_http_responses_total counter",
        *(
            f'fynlo_relay_http_responses_total{{status="{status}"}} {n}'
            for status, n in sorted(counts.responses.items())
        ),
    ]
    return Response("\n".join(lines) + "\n", status_code=200, media_type=PROMETHEUS)


def _metric(name: str, kind: str, help_text: str, value: int) -> list[str]:
    full = f"fynlo_relay_{name}"
    return [f"# HELP {full} {help_text}", f"# TYPE {full} {kind}", f"{full} {value}"]


def count_responses(app: ASGIApp) -> ASGIApp:
    """Middleware counting HTTP responses by status, problem answers included."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        responses = scope["litestar_app"].state.relay.counters.responses

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                responses[message["status"]] += 1
            await send(message)

        await app(scope, receive, counting_send)

    return middleware
