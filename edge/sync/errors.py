"""The sync layer's errors.

SyncError
 ├── NotEnrolled        the appliance has no relay credential (run ``fynlo-edge enroll``)
 ├── RelayUnreachable   no answer, a timeout or a 5xx: try again later
 └── RelayRefused       a 4xx: the relay said no (``status``, ``code``, ``detail``)
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error raised by edge.sync."""


class NotEnrolled(SyncError):
    pass


class RelayUnreachable(SyncError):
    pass


class RelayRefused(SyncError):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"relay refused ({status} {code}): {detail}")
        self.status, self.code, self.detail = status, code, detail
