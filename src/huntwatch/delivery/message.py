"""The one thing every channel delivers: a rendered message, already free of any story or alert model.

The service layer renders a notification, a sample or a case update into a ``Message``; channels only
choose which of its renderings (text, HTML, JSON payload) their receiver understands.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("informational", "low", "medium", "high", "critical")
KINDS = ("notification", "sample", "case_update")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Message:
    """A rendered message for one tenant.

    ``id`` is the idempotency key: every attempt and every channel sends the same id (webhook
    ``Idempotency-Key`` header, e-mail ``Message-ID``, CEF ``externalId``) so a receiver can drop duplicates
    caused by retries. ``payload`` must be JSON-serialisable (datetimes are allowed).
    """

    subject: str
    severity: str
    text: str
    html: str
    payload: dict[str, Any]
    tenant: str
    kind: str = "notification"
    id: str = field(default_factory=_new_id)
    created_at: dt.datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not self.tenant:
            raise ValueError("tenant must name the tenant the message is for")
        if not self.id:
            raise ValueError("id (the idempotency key) must not be empty")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
