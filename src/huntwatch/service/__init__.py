"""Service workflows: accounts, enrollment, publishing, alerts, delivery, export, the worker.

Every function takes a SQLAlchemy ``Session`` (the caller owns the transaction) and an ``Actor``; access is
checked here, so the web and CLI fronts stay thin. Modules are the public surface: ``accounts`` (tenants,
users, sign-in, sessions, tokens), ``enrollment`` (applications, eligibility, subscriptions), ``publishing``
(stories, queue, drafts, publish, verdicts, policy, samples), ``alerts`` (the queue), ``delivering``
(channels, contacts, delivery log, ``deliver_alert``), ``export`` (OCSF, STIX), ``audit``, ``worker``;
``testing`` builds a small world for tests. Refusals are the ``ServiceError`` subclasses below, each with an
HTTP-like ``status``.
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
