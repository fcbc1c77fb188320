"""The settings of an edge process: built from flags and FYNLO_* variables, then frozen."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from edge.app.hub import MAX_QUEUED

_PARSERS: dict[str, type] = {"int": int, "float": float}


@dataclass(frozen=True)
class EdgeConfig:
    """Process settings (store settings such as tax mode live in the store's settings document)."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    access_ttl_s: int = 15 * 60  # short: a stolen tablet token dies quickly
    refresh_ttl_s: int = 12 * 60 * 60  # one long shift
    max_body_bytes: int = 256 * 1024
    pin_attempts: int = 5  # wrong PINs per tablet (and per employee typing) within the window
    lockout_window_s: int = 5 * 60
    pairing_code_ttl_s: int = 10 * 60
    log_level: str = "INFO"
    ws_queue: int = MAX_QUEUED  # events a tablet may fall behind before it must resync
    sync_interval_s: float = 15.0  # pull at least this often while the relay sends no hint
    sync_verify_interval_s: float = 60.0  # compare state vectors with the relay this often
    # One sync round before serving, at most this long (0: none), so a replaced or restored
    # appliance numbers its next order after the sales the relay holds; offline it serves anyway.
    sync_catch_up_s: float = 5.0

    @classmethod
    def load(cls, data_dir: Path, env: dict[str, str] | None = None, **flags: object) -> EdgeConfig:
        """Flags win over FYNLO_<NAME> environment variables, which win over defaults."""
        env = dict(os.environ) if env is None else env
        values: dict[str, object] = {"data_dir": data_dir}
        for f in fields(cls):
            if f.name == "data_dir":
                continue
            raw = env.get(f"FYNLO_{f.name.upper()}")
            if flags.get(f.name) is not None:
                values[f.name] = flags[f.name]
            elif raw is not None:
                values[f.name] = _PARSERS.get(str(f.type), str)(raw)
        return cls(**values)  # type: ignore[arg-type]
