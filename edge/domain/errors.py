"""The domain's refusals.

DomainError
 ├── InvalidInput          a value breaks a business rule (bad quantity, unknown option, ...)
 ├── NotFound              a referenced entity does not exist
 ├── IllegalTransition     a state change the transitions table does not allow
 ├── Conflict              the request fights the current state (till already open, ...)
 ├── ApprovalRequired      the action needs a manager override (manager PIN given inline)
 ├── PermissionDenied      the acting employee's role lacks the named permission
 └── OwnerRefused          owners of an enrolled store are made and changed on the relay only

Each carries a stable ``code`` (a slug) that the API turns into the problem-details ``type``.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal raised by edge.domain."""

    code = "domain-error"

    def __init__(self, detail: str, **context: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context = context


class InvalidInput(DomainError):
    code = "invalid-input"


class NotFound(DomainError):
    code = "not-found"


class IllegalTransition(DomainError):
    code = "illegal-transition"


class Conflict(DomainError):
    code = "conflict"


class ApprovalRequired(DomainError):
    """A manager override is needed; ``permission`` names what the approver must hold."""

    code = "approval-required"

    def __init__(self, detail: str, permission: str, **context: object) -> None:
        super().__init__(detail, permission=permission, **context)
        self.permission = permission


class PermissionDenied(DomainError):
    code = "permission-denied"

    def __init__(self, detail: str, permission: str, **context: object) -> None:
        super().__init__(detail, permission=permission, **context)
        self.permission = permission


class OwnerRefused(DomainError):
    code = "owner-refused"
