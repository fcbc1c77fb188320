"""The edge process's shared context: store, hub, keys and the store's identity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import apsw
import msgspec

from edge.app.config import EdgeConfig
from edge.app.hub import Hub
from edge.domain.business_day import business_day, next_day
from edge.store.memo import memoised
from edge.store.store import Store
from edge.sync.worker import SyncWorker
from shared.schemas.documents import StoreSettings, day_doc, settings_doc


@dataclass
class Edge:
    """One per process; routes reach it as ``request.app.state.edge``."""

    config: EdgeConfig
    store: Store
    hub: Hub
    jwt_key: bytes
    org_id: str
    store_id: str
    clock: Callable[[], int]
    sync: SyncWorker | None = None  # set when the appliance is enrolled with a relay

    @property
    def settings_doc(self) -> str:
        return settings_doc(self.store_id)

    def day_doc(self, day: str) -> str:
        return day_doc(self.store_id, day)

    def settings(self, conn: apsw.Connection) -> StoreSettings:
        """The store's settings as projected from its settings document (memoised in the writer)."""
        return memoised(conn, "settings", self.settings_doc, lambda: self._read_settings(conn))

    def _read_settings(self, conn: apsw.Connection) -> StoreSettings:
        rows = conn.execute(
            "SELECT key, value FROM doc_values WHERE doc_id = ? AND collection = 'settings'",
            (self.settings_doc,),
        )
        values = {key: msgspec.json.decode(value) for key, value in rows if "." not in key}
        return msgspec.convert(values, StoreSettings)

    def open_day(self, conn: apsw.Connection, at_ms: int, settings: StoreSettings) -> str:
        """The business day a sale at ``at_ms`` belongs to: sales after a Z go to the next day."""
        day = business_day(at_ms, settings.timezone, settings.business_day_cutoff)
        while is_sealed(conn, self.day_doc(day)):
            day = next_day(day)
        return day


def is_sealed(conn: apsw.Connection, doc_id: str) -> bool:
    """Whether a day's Z report has sealed its document (memoised in the writer)."""
    return memoised(conn, "seal", doc_id, lambda: _read_sealed(conn, doc_id))


def _read_sealed(conn: apsw.Connection, doc_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM doc_values WHERE doc_id = ? AND collection = 'seal' AND key = 'seal'",
        (doc_id,),
    ).fetchone()
    return row is not None
