"""Service workflows: accounts, enrollment, publishing, alerts, delivery, export, the worker.

Every function takes a SQLAlchemy ``Session`` (the caller owns the transaction) and an ``Actor``; access is
checked here, so the web and CLI fronts stay thin. Modules are the public surface:
``accounts``, ``enrollment``, ``publishing``, ``alerts``, ``delivering``, ``export``, ``audit``, ``worker``.
"""

from huntwatch.service.access import Actor
from huntwatch.service.errors import (
    AccountLocked,
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServiceError,
)

__all__ = [
    "AccountLocked",
    "Actor",
    "AuthenticationFailed",
    "Conflict",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "ServiceError",
]
