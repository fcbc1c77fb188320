"""The settings of a relay process: built from flags and FYNLO_RELAY_* variables, then frozen."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from cloud.relay.storage.base import Storage
from shared.datadir import private_dir

DB_FILE = "relay.db"
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class ConfigError(ValueError):
    """A setting that cannot be used (a bad number, an unknown database URL)."""


@dataclass(frozen=True)
class RelayConfig:
    """Process settings; every field but ``data_dir`` may come from ``FYNLO_RELAY_<NAME>``."""

    data_dir: Path
    database: str | None = None  # a postgresql:// URL; None keeps SQLite in data_dir/relay.db
    host: str = "127.0.0.1"
    port: int = 8090
    owner_access_ttl_s: int = 60 * 60
    enrollment_code_ttl_s: int = 24 * 60 * 60
    sync_rate_per_s: float = 20.0  # per device, refilled continuously
    sync_burst: int = 40  # requests a device may make at once after a quiet spell
    ws_queue: int = 256  # hints a device may fall behind before its socket is closed
    max_json_bytes: int = 64 * 1024  # owner and enrollment bodies are tiny
    compact_interval_s: float = 60.0  # how often the compactor looks for long logs
    compact_min_updates: int = 100  # settled rows a document's log needs before it is folded
    compact_min_age_s: float = 300.0  # rows younger than this stay in the log (a cheap tail)
    shadow_budget_mb: int = 256  # live copies of documents kept in memory (see shadows.py)
    log_level: str = "INFO"

    @classmethod
    def load(
        cls, data_dir: Path, env: dict[str, str] | None = None, **flags: object
    ) -> RelayConfig:
        """Flags win over FYNLO_RELAY_<NAME> environment variables, which win over defaults."""
        env = dict(os.environ) if env is None else env
        values: dict[str, Any] = {"data_dir": data_dir}
        for f in fields(cls):
            if f.name == "data_dir":
                continue
            name = f"FYNLO_RELAY_{f.name.upper()}"
            if flags.get(f.name) is not None:
                values[f.name] = flags[f.name]
            elif (raw := env.get(name)) is not None:
                values[f.name] = _parse(name, str(f.type), raw)
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        """Refuse settings that would misbehave later rather than at start."""
        if self.sync_rate_per_s <= 0 or self.sync_burst < 1:
            raise ConfigError("the sync rate must be above 0 and the burst at least 1")
        if self.compact_interval_s <= 0 or self.compact_min_updates < 1:
            raise ConfigError(
                "the compaction interval must be above 0 and its minimum at least 1 update"
            )
        if self.compact_min_age_s < 0:
            raise ConfigError("the compaction's minimum age cannot be negative")
        if self.shadow_budget_mb < 1:
            raise ConfigError("the shadow budget must be at least 1 MB")
        if self.ws_queue < 1:
            raise ConfigError("the WebSocket queue must hold at least 1 hint")
        if self.database is not None and not self.database.startswith(_POSTGRES_SCHEMES):
            raise ConfigError(
                f"--database takes a postgresql:// URL, not {self.database!r}"
                " (leave it out to keep SQLite in the data directory)"
            )

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / DB_FILE


def _parse(name: str, kind: str, raw: str) -> object:
    # Annotations are strings here (``from __future__ import annotations``).
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from exc
    return raw


def open_storage(config: RelayConfig) -> Storage:
    """The configured backend, not yet started; PostgreSQL's driver is only imported when used."""
    if config.database is not None:
        from cloud.relay.storage.postgres import PostgresStorage

        return PostgresStorage(config.database)
    from cloud.relay.storage.sqlite import SqliteStorage

    private_dir(config.data_dir)
    return SqliteStorage(config.sqlite_path)
