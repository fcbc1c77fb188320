"""Structured logs: one JSON object per line on stderr."""

from __future__ import annotations

import json
import logging
import time


class JsonLines(logging.Formatter):
    """Formats a record as a JSON line with UTC time, level, logger and message."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # One line per sync request would drown everything else a technician needs to read.
    logging.getLogger("httpx").setLevel(logging.WARNING)
