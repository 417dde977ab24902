"""Experts on demand ("Ask Huntwatch Experts"): cases asked from a device, an alert or a file, and answered.

A tenant admin (the manage-security-settings permission) of a subscribed tenant asks; the case freezes what
they saw (:mod:`huntwatch.service.snapshots`) and the expert works it through a fixed lifecycle::

    submitted → in_progress (an expert took it) ⇄ waiting_on_customer → resolved → closed
                                  ↖──────────── reopen within the plan's days ───────┘

Experts answer with progress reports carrying one of four outcomes; both sides exchange messages and
attachments; every status change is kept, and the SLA clocks (:mod:`huntwatch.service.sla`) are computed
from that history. When the expert writes, the customer hears about it on the tenant's e-mail and webhook
channels. Experts on demand is not incident response, and every front says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, defer

from huntwatch import delivery
from huntwatch.config import settings
from huntwatch.lake import DuckDBEngine
from huntwatch.service import alerts, publishing, snapshots
from huntwatch.service.access import (
    Actor,
    require_expert_on,
    require_provider,
    require_read,
    require_tenant_role,
    visible_tenant_ids,
)
from huntwatch.service.audit import record
from huntwatch.service.enrollment import has_experts_on_demand
from huntwatch.service.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from huntwatch.service.secrets import SecretBox
from huntwatch.service.sla import Calendar, Clock, Targets, clocks
from huntwatch.state import Alert, Database, DeliveryLog, DeliverySetting, Story, Tenant, utcnow
from huntwatch.state.models import (
    Case,
    CaseAttachment,
    CaseMessage,
    CaseSlaPolicy,
    CaseStatusChange,
    CaseTemplate,
)

NOT_INCIDENT_RESPONSE = (
    "Experts on demand is not incident response. For an active incident (ransomware spreading, an attacker on "
    "your network now) call your incident response provider or your emergency contact first; the experts answer "
    "questions within the targets of your plan, not around the clock."
)
HOW_TO_SUBSCRIBE = (
    "Your organisation does not subscribe to Experts on demand. Ask your provider (your Huntwatch account "
    "contact) to turn on the Experts on demand subscription; once it is on, this action opens the question form."
)
CATEGORIES = {
    "alert_clarification": "Alert clarification (root cause, scope)",
    "device_behaviour": "Device behaviour and next steps",
    "threat_intelligence": "Threat actor, campaign or technique intelligence",
}
CONTEXT_CATEGORY = {"alert": "alert_clarification", "device": "device_behaviour", "file": "device_behaviour"}
STATUSES = ("submitted", "in_progress", "waiting_on_customer", "resolved", "closed")
OPEN_STATUSES = ("submitted", "in_progress", "waiting_on_customer")
OUTCOMES = {
    "more_information_needed": "More information needed",
    "file_samples_needed": "File samples needed",
    "more_time_needed": "Investigation requires more time",
    "concluded": "Initial information was enough to conclude",
}
# Where each outcome leaves the case.
OUTCOME_STATUS = {
    "more_information_needed": "waiting_on_customer",
    "file_samples_needed": "waiting_on_customer",
    "more_time_needed": "in_progress",
    "concluded": "resolved",
}
# (from, to) → which side may make the change; a provider admin may make any of them.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("submitted", "in_progress"): frozenset({"expert"}),
    ("submitted", "closed"): frozenset({"customer"}),  # withdrawn before anyone took it
    ("in_progress", "waiting_on_customer"): frozenset({"expert"}),
    ("in_progress", "resolved"): frozenset({"expert"}),
    ("waiting_on_customer", "in_progress"): frozenset({"expert", "customer"}),
    ("waiting_on_customer", "resolved"): frozenset({"expert"}),
    ("resolved", "closed"): frozenset({"expert", "customer"}),
    ("resolved", "in_progress"): frozenset({"customer"}),  # reopen
    ("closed", "in_progress"): frozenset({"customer"}),  # reopen
}
CONTEXT_KINDS = ("", "device", "alert", "file")
SLA_FILTERS = ("breached", "at_risk", "on_track", "paused", "stopped")
AT_RISK_SHARE = 0.25  # a running clock with less than this share of its target left is at risk
MAX_QUESTION = 20_000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- who is acting -----------------------------------------------------------------------------------------


def _side(actor: Actor) -> str:
    return "customer" if actor.tenant_id is not None else "expert"


def _require_customer(s: Session, actor: Actor, tenant_id: int) -> None:
    """The manage-security-settings permission: a tenant admin of the tenant (or a provider admin)."""
    require_tenant_role(s, actor, tenant_id, "tenant_admin")


def _require_side(s: Session, actor: Actor, case: Case, sides: frozenset[str]) -> None:
    if actor.is_provider_admin:
        require_read(s, actor, case.tenant_id)
        return
    side = _side(actor)
    if side not in sides:
        raise PermissionDenied(f"only {' or '.join(sorted(sides))} staff may do this")
    if side == "expert":
        require_expert_on(s, actor, case.tenant_id)
    else:
        _require_customer(s, actor, case.tenant_id)


# --- asking ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AskState:
    """Whether the actor may ask for this tenant now, and what to tell them when not."""

    allowed: bool
    subscribed: bool
    reason: str = ""
    not_incident_response: str = NOT_INCIDENT_RESPONSE


def ask_state(s: Session, actor: Actor, tenant_id: int) -> AskState:
    require_read(s, actor, tenant_id)
    subscribed = has_experts_on_demand(s, tenant_id)
    if not subscribed:
        return AskState(False, False, HOW_TO_SUBSCRIBE)
    try:
        _require_customer(s, actor, tenant_id)
    except PermissionDenied:
        return AskState(False, True, "Asking the experts needs the tenant admin role (manage security settings).")
    return AskState(True, True)


def topic_for(kind: str, ref: str) -> tuple[str, str]:
    """The pre-filled topic and the link to the page the question is about."""
    if kind == "device":
        return f"Device {ref}", f"/devices/{_quote(ref)}"
    if kind == "alert":
        return f"Alert #{ref}", f"/alerts/{_quote(ref)}"
    if kind == "file":
        return f"File {ref[:16]}…", f"/files/{_quote(ref)}"
    return "", ""


def prefilled_topic(s: Session, actor: Actor, kind: str, ref: str) -> tuple[str, str]:
    """The form's topic and link for the page the customer came from; an alert's carries its title."""
    topic, link = topic_for(kind, ref)
    if kind == "alert" and ref.isdigit():
        topic = f"{topic}: {alerts.get_alert(s, actor, int(ref)).title}"
    return topic[:300], link


def _quote(value: str) -> str:
    return quote(value, safe="")


def _sla_terms(s: Session, plan: str) -> dict[str, Any]:
    """The plan's targets and calendar as a case freezes them (the defaults when the plan has no policy)."""
    policy = s.get(CaseSlaPolicy, plan)
    targets = Targets() if policy is None else Targets(
        policy.first_response_days, policy.resolution_days, policy.reopen_days
    )  # fmt: skip
    calendar = Calendar() if policy is None else Calendar.of(policy.weekend or None, policy.holidays or [])
    return {
        "plan": plan,
        "first_response_days": targets.first_response_days,
        "resolution_days": targets.resolution_days,
        "reopen_days": targets.reopen_days,
        "weekend": sorted(calendar.weekend),
        "holidays": sorted(d.isoformat() for d in calendar.holidays),
    }


def ask(
    s: Session,
    actor: Actor,
    tenant_id: int,
    *,
    category: str,
    question: str,
    correspondence_email: str,
    context_kind: str = "",
    context_ref: str = "",
    topic: str = "",
    engine: DuckDBEngine | None = None,
) -> Case:
    """Open a case; the context the customer saw is frozen now, and the expert's first look prepared."""
    _require_customer(s, actor, tenant_id)
    if not has_experts_on_demand(s, tenant_id):
        raise PermissionDenied(HOW_TO_SUBSCRIBE)
    if category not in CATEGORIES:
        raise InvalidInput("category must be one of " + ", ".join(CATEGORIES))
    if context_kind not in CONTEXT_KINDS:
        raise InvalidInput("context is device, alert, file or none")
    question = question.strip()
    if not question:
        raise InvalidInput("write the question")
    if len(question) > MAX_QUESTION:
        raise InvalidInput(f"questions are limited to {MAX_QUESTION} characters")
    email = correspondence_email.strip()
    if not _EMAIL.match(email):
        raise InvalidInput("a correspondence e-mail address is required")
    tenant = s.get(Tenant, tenant_id)
    assert tenant is not None
    context_ref = context_ref.strip()
    snapshot: dict[str, Any] = {"kind": ""}
    if context_kind:
        if not context_ref:
            raise InvalidInput("the context needs the id of the device, alert or file")
        if context_kind in ("device", "file") and engine is None:
            raise InvalidInput("a device or file context needs the lake")
        if context_kind == "device":
            snapshot = snapshots.device_snapshot(s, actor, engine, tenant, context_ref)  # type: ignore[arg-type]
        elif context_kind == "file":
            context_ref = context_ref.lower()
            snapshot = snapshots.file_snapshot(s, actor, engine, tenant, context_ref)  # type: ignore[arg-type]
        else:
            if not context_ref.isdigit():
                raise InvalidInput("an alert is named by its number")
            snapshot = snapshots.alert_snapshot(s, actor, int(context_ref), tenant_id)
    default_topic, link = topic_for(context_kind, context_ref)
    if context_kind == "alert":
        default_topic = f"{default_topic}: {snapshot['alert']['title']}"[:300]
    topic = (topic.strip() or default_topic or question.splitlines()[0])[:300]
    first_look = snapshots.first_look(s, engine, tenant, snapshot) if engine is not None and context_kind else {}
    now = utcnow()
    case = Case(
        tenant_id=tenant_id, category=category, topic=topic, topic_link=link, context_kind=context_kind,
        context_ref=context_ref[:300], question=question, correspondence_email=email, status="submitted",
        story_id=(snapshot.get("story") or {}).get("id") if context_kind == "alert" else None,
        alert_id=int(context_ref) if context_kind == "alert" else None,
        snapshot=snapshot, first_look=first_look, sla=_sla_terms(s, tenant.plan), created_by=actor.label,
        created_at=now, updated_at=now,
    )  # fmt: skip
    s.add(case)
    s.flush()
    s.add(CaseStatusChange(case_id=case.id, tenant_id=tenant_id, from_status=None, to_status="submitted",
                           actor=actor.label, reason="asked", at=now))  # fmt: skip
    record(s, actor, "case.ask", "case", case.id, tenant_id, category=category, context=context_kind)
    return case


# --- reading -----------------------------------------------------------------------------------------------


def get_case(s: Session, actor: Actor, case_id: int) -> Case:
    case = s.get(Case, case_id)
    if case is None:
        raise NotFound("no such case")
    require_read(s, actor, case.tenant_id)
    return case


def history(s: Session, actor: Actor, case_id: int) -> list[CaseStatusChange]:
    case = get_case(s, actor, case_id)
    q = select(CaseStatusChange).where(CaseStatusChange.case_id == case.id)
    return list(s.scalars(q.order_by(CaseStatusChange.at, CaseStatusChange.id)))


def messages(s: Session, actor: Actor, case_id: int) -> list[CaseMessage]:
    case = get_case(s, actor, case_id)
    q = select(CaseMessage).where(CaseMessage.case_id == case.id)
    return list(s.scalars(q.order_by(CaseMessage.at, CaseMessage.id)))


def sla_clocks(case: Case, changes: Sequence[CaseStatusChange], now: dt.datetime | None = None) -> dict[str, Clock]:
    terms = case.sla or {}
    targets = Targets(
        float(terms.get("first_response_days", Targets.first_response_days)),
        float(terms.get("resolution_days", Targets.resolution_days)),
        int(terms.get("reopen_days", Targets.reopen_days)),
    )
    calendar = Calendar.of(terms.get("weekend"), terms.get("holidays") or [])
    return clocks(
        [(c.at, c.to_status) for c in changes],
        first_response_at=case.first_response_at,
        now=now or utcnow(),
        targets=targets,
        calendar=calendar,
    )


@dataclass(frozen=True)
class CaseView:
    """A case with its SLA clocks; ``clock`` is the one that matters now (first response until it is given)."""

    case: Case
    clocks: dict[str, Clock]
    tenant_slug: str = ""

    @property
    def clock(self) -> Clock:
        first = self.clocks["first_response"]
        return first if first.state != "stopped" or self.case.first_response_at is None else self.clocks["resolution"]

    @property
    def sla_state(self) -> str:
        c = self.clock
        if c.breached or any(k.breached for k in self.clocks.values()):
            return "breached"
        if c.state != "running":
            return c.state
        return "at_risk" if c.remaining < c.target * AT_RISK_SHARE else "on_track"


@dataclass(frozen=True)
class CaseFilter:
    tenant_id: int | None = None
    statuses: tuple[str, ...] = ()
    category: str | None = None
    topic: str | None = None  # substring of the topic or question
    sla: str | None = None  # one of SLA_FILTERS
    assigned_to: str | None = None  # an actor label, or "" for unassigned
    sort: str = "newest"  # newest | time_left
    limit: int = 200


def list_cases(
    s: Session, actor: Actor, flt: CaseFilter | None = None, now: dt.datetime | None = None
) -> list[CaseView]:
    """Cases the actor may see; ``sort="time_left"`` is the experts' queue: least SLA time left first."""
    flt = flt or CaseFilter()
    now = now or utcnow()
    # the frozen snapshot and first look are the heavy columns; a list never shows them
    q = (
        select(Case, Tenant.slug)
        .join(Tenant, Tenant.id == Case.tenant_id)
        .options(defer(Case.snapshot), defer(Case.first_look), defer(Case.question))
    )
    if flt.tenant_id is not None:
        require_read(s, actor, flt.tenant_id)
        q = q.where(Case.tenant_id == flt.tenant_id)
    else:
        visible = visible_tenant_ids(s, actor)
        if visible is not None:
            q = q.where(Case.tenant_id.in_(visible))
    for status in flt.statuses:
        if status not in STATUSES:
            raise InvalidInput("status must be one of " + ", ".join(STATUSES))
    if flt.statuses:
        q = q.where(Case.status.in_(flt.statuses))
    if flt.category:
        q = q.where(Case.category == flt.category)
    if flt.topic:
        needle = "%" + flt.topic.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(Case.topic.ilike(needle, escape="\\") | Case.question.ilike(needle, escape="\\"))
    if flt.assigned_to is not None:
        q = q.where(Case.assigned_to.is_(None) if flt.assigned_to == "" else Case.assigned_to == flt.assigned_to)
    if flt.sla is not None and flt.sla not in SLA_FILTERS:
        raise InvalidInput("sla must be one of " + ", ".join(SLA_FILTERS))
    rows = s.execute(q.order_by(Case.created_at.desc(), Case.id.desc()).limit(5000)).all()
    ids = [c.id for c, _ in rows]
    changes: dict[int, list[CaseStatusChange]] = {}
    if ids:
        for ch in s.scalars(select(CaseStatusChange).where(CaseStatusChange.case_id.in_(ids))):
            changes.setdefault(ch.case_id, []).append(ch)
    views = [CaseView(c, sla_clocks(c, changes.get(c.id, []), now), slug) for c, slug in rows]
    if flt.sla:
        views = [v for v in views if v.sla_state == flt.sla]
    if flt.sort == "time_left":
        order = {"running": 0, "paused": 1, "stopped": 2}
        views.sort(key=lambda v: (order[v.clock.state], v.clock.remaining, v.case.id))
    return views[: flt.limit]


def view(s: Session, actor: Actor, case_id: int, now: dt.datetime | None = None) -> CaseView:
    case = get_case(s, actor, case_id)
    tenant = s.get(Tenant, case.tenant_id)
    return CaseView(case, sla_clocks(case, history(s, actor, case_id), now), tenant.slug if tenant else "")


# --- lifecycle ---------------------------------------------------------------------------------------------


def _move(s: Session, actor: Actor, case: Case, to: str, reason: str = "", now: dt.datetime | None = None) -> None:
    """Change the status if the lifecycle allows it, keep the history, and stamp resolution and closing times."""
    if to not in STATUSES:
        raise InvalidInput("status must be one of " + ", ".join(STATUSES))
    if to == case.status:
        return
    allowed = TRANSITIONS.get((case.status, to))
    if allowed is None:
        nexts = sorted(t for f, t in TRANSITIONS if f == case.status)
        raise Conflict(
            f"a case cannot go from {case.status} to {to}; from {case.status} it may go to " + ", ".join(nexts)
        )
    _require_side(s, actor, case, allowed)
    now = now or utcnow()
    if case.status in ("resolved", "closed") and to == "in_progress":
        days = int((case.sla or {}).get("reopen_days", Targets.reopen_days))
        since = case.resolved_at or case.closed_at or case.updated_at
        if now - since > dt.timedelta(days=days):
            raise Conflict(f"a case can be reopened within {days} days of its resolution; ask a new question instead")
        case.resolved_at, case.closed_at = None, None
    if to == "resolved":
        case.resolved_at = now
    if to == "closed":
        case.closed_at = now
    s.add(CaseStatusChange(case_id=case.id, tenant_id=case.tenant_id, from_status=case.status, to_status=to,
                           actor=actor.label, reason=reason[:2000], at=now))  # fmt: skip
    record(s, actor, "case.status", "case", case.id, case.tenant_id, previous=case.status, status=to, reason=reason)
    case.status = to
    case.updated_at = now


def set_status(
    s: Session, actor: Actor, case_id: int, status: str, reason: str = "", now: dt.datetime | None = None
) -> Case:
    """An explicit change: resolve, wait on the customer, close, reopen. Illegal changes are refused (409)."""
    case = get_case(s, actor, case_id)
    _require_side(s, actor, case, frozenset({"customer", "expert"}))
    if status == "in_progress" and case.status == "submitted":
        return assign(s, actor, case_id, now=now)
    _move(s, actor, case, status, reason, now)
    return case


def assign(s: Session, actor: Actor, case_id: int, now: dt.datetime | None = None) -> Case:
    """An expert takes the case; a submitted case goes in progress. Taking over another's needs a provider admin."""
    case = get_case(s, actor, case_id)
    _require_side(s, actor, case, frozenset({"expert"}))
    if case.status in ("resolved", "closed"):
        raise Conflict(f"the case is {case.status}")
    if case.assigned_to not in (None, actor.label) and not actor.is_provider_admin:
        raise Conflict(f"already assigned to {case.assigned_to}")
    now = now or utcnow()
    if case.assigned_to != actor.label:
        case.assigned_to, case.assigned_at = actor.label, now
        record(s, actor, "case.assign", "case", case.id, case.tenant_id)
    if case.status == "submitted":
        _move(s, actor, case, "in_progress", "taken by an expert", now)
    return case


def _message(s: Session, actor: Actor, case: Case, body: str, outcome: str | None, now: dt.datetime) -> CaseMessage:
    body = body.strip()
    if not body:
        raise InvalidInput("write a message")
    if len(body) > MAX_QUESTION:
        raise InvalidInput(f"messages are limited to {MAX_QUESTION} characters")
    msg = CaseMessage(case_id=case.id, tenant_id=case.tenant_id, side=_side(actor), author=actor.label, body=body,
                      outcome=outcome, at=now)  # fmt: skip
    s.add(msg)
    case.updated_at = now
    s.flush()
    return msg


def progress_report(
    s: Session, actor: Actor, case_id: int, outcome: str, body: str, now: dt.datetime | None = None
) -> CaseMessage:
    """The expert's answer with one of the four outcomes; it stops the first-response clock and moves the case."""
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome must be one of " + ", ".join(OUTCOMES))
    case = get_case(s, actor, case_id)
    _require_side(s, actor, case, frozenset({"expert"}))
    if case.status not in OPEN_STATUSES:
        raise Conflict(f"the case is {case.status}; it must be reopened before a new report")
    now = now or utcnow()
    if case.status == "submitted":
        assign(s, actor, case_id, now=now)
    msg = _message(s, actor, case, body, outcome, now)
    case.outcome = outcome
    if case.first_response_at is None:
        case.first_response_at = now
    target = OUTCOME_STATUS[outcome]
    if case.status != target:
        _move(s, actor, case, target, OUTCOMES[outcome], now)
    record(s, actor, "case.report", "case", case.id, case.tenant_id, outcome=outcome, message_id=msg.id)
    return msg


def reply(s: Session, actor: Actor, case_id: int, body: str, now: dt.datetime | None = None) -> CaseMessage:
    """A message on the thread. The customer's answer puts a case waiting on them back in progress."""
    case = get_case(s, actor, case_id)
    side = "expert" if actor.is_provider_admin else _side(actor)
    _require_side(s, actor, case, frozenset({side}))
    if case.status not in OPEN_STATUSES:
        raise Conflict(f"the case is {case.status}; reopen it to write again")
    now = now or utcnow()
    msg = _message(s, actor, case, body, None, now)
    if side == "customer" and case.status == "waiting_on_customer":
        _move(s, actor, case, "in_progress", "the customer answered", now)
    record(s, actor, "case.message", "case", case.id, case.tenant_id, message_id=msg.id, side=msg.side)
    return msg


# --- attachments -------------------------------------------------------------------------------------------

# Extension → (content type it is served as, magic bytes it must start with, or None for UTF-8 text).
ATTACHMENT_TYPES: dict[str, tuple[str, bytes | None]] = {
    ".txt": ("text/plain", None),
    ".log": ("text/plain", None),
    ".csv": ("text/csv", None),
    ".json": ("application/json", None),
    ".xml": ("application/xml", None),
    ".pdf": ("application/pdf", b"%PDF-"),
    ".png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    ".jpg": ("image/jpeg", b"\xff\xd8\xff"),
    ".jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    ".zip": ("application/zip", b"PK\x03\x04"),  # file samples: zipped (with the password "infected")
    ".7z": ("application/x-7z-compressed", b"7z\xbc\xaf\x27\x1c"),
    ".evtx": ("application/octet-stream", b"ElfFile\x00"),
}


@dataclass(frozen=True)
class AttachmentLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_per_case: int = 20


def attachment_root() -> Path:
    return settings().home / "attachments"


def _safe_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name.strip()
    name = re.sub(r"[^\w.\- ()]", "_", name)[:200]
    if not name or name.startswith("."):
        raise InvalidInput("the attachment needs a file name")
    return name


def add_attachment(
    s: Session,
    actor: Actor,
    case_id: int,
    filename: str,
    data: bytes,
    *,
    message_id: int | None = None,
    root: Path | None = None,
    limits: AttachmentLimits | None = None,
) -> CaseAttachment:
    """Keep a file on the case, after checking its size, its type by extension, and that its bytes match the type."""
    limits = limits or AttachmentLimits()
    case = get_case(s, actor, case_id)
    side = "expert" if actor.is_provider_admin else _side(actor)
    _require_side(s, actor, case, frozenset({side}))
    if case.status == "closed":
        raise Conflict("the case is closed")
    name = _safe_name(filename)
    ext = Path(name).suffix.lower()
    if ext not in ATTACHMENT_TYPES:
        raise InvalidInput(
            "attachments may be " + ", ".join(sorted(ATTACHMENT_TYPES)) + "; send file samples zipped with a password"
        )
    if not data:
        raise InvalidInput("the attachment is empty")
    if len(data) > limits.max_bytes:
        raise InvalidInput(f"attachments are limited to {limits.max_bytes // (1024 * 1024)} MiB")
    content_type, magic = ATTACHMENT_TYPES[ext]
    if magic is not None and not data.startswith(magic):
        raise InvalidInput(f"the file's content is not {ext[1:].upper()}")
    if magic is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"a {ext} attachment must be UTF-8 text") from exc
    count = s.scalar(select(func.count()).select_from(CaseAttachment).where(CaseAttachment.case_id == case.id)) or 0
    if count >= limits.max_per_case:
        raise InvalidInput(f"a case holds at most {limits.max_per_case} attachments")
    if message_id is not None:
        msg = s.get(CaseMessage, message_id)
        if msg is None or msg.case_id != case.id:
            raise NotFound("no such message on this case")
    tenant = s.get(Tenant, case.tenant_id)
    assert tenant is not None
    stored = f"{case.id}-{uuid.uuid4().hex}.bin"
    folder = (root or attachment_root()) / tenant.slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / stored).write_bytes(data)
    _forget_on_rollback(s, folder / stored)
    row = CaseAttachment(case_id=case.id, tenant_id=case.tenant_id, message_id=message_id, filename=name,
                         content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                         stored_name=stored, uploaded_by=actor.label)  # fmt: skip
    s.add(row)
    s.flush()
    record(s, actor, "case.attach", "case", case.id, case.tenant_id, attachment_id=row.id, size=len(data))
    return row


def _forget_on_rollback(s: Session, path: Path) -> None:
    """The file is written before the transaction commits; if it rolls back instead, no row will name it."""
    committed = False

    def on_commit(_session: Session) -> None:
        nonlocal committed
        committed = True

    def on_rollback(_session: Session) -> None:
        if not committed:
            path.unlink(missing_ok=True)

    event.listen(s, "after_commit", on_commit)
    event.listen(s, "after_rollback", on_rollback)


def list_attachments(s: Session, actor: Actor, case_id: int) -> list[CaseAttachment]:
    case = get_case(s, actor, case_id)
    return list(s.scalars(select(CaseAttachment).where(CaseAttachment.case_id == case.id).order_by(CaseAttachment.id)))


def read_attachment(
    s: Session, actor: Actor, attachment_id: int, root: Path | None = None
) -> tuple[CaseAttachment, bytes]:
    """The attachment and its bytes, for someone who may read its case; read from its tenant's folder only."""
    row = s.get(CaseAttachment, attachment_id)
    if row is None:
        raise NotFound("no such attachment")
    case = get_case(s, actor, row.case_id)
    tenant = s.get(Tenant, case.tenant_id)
    assert tenant is not None and row.tenant_id == case.tenant_id
    path = (root or attachment_root()) / tenant.slug / row.stored_name
    if not path.is_file():
        raise NotFound("the attachment's file is missing")
    return row, path.read_bytes()


# --- expert tools ------------------------------------------------------------------------------------------


def link(s: Session, actor: Actor, case_id: int, story_id: int | None = None, alert_id: int | None = None) -> Case:
    """Tie the case to a story or a notification of the same tenant."""
    case = get_case(s, actor, case_id)
    _require_side(s, actor, case, frozenset({"expert"}))
    if story_id is None and alert_id is None:
        raise InvalidInput("name a story or a notification")
    if story_id is not None:
        story = s.get(Story, story_id)
        if story is None or story.tenant_id != case.tenant_id:
            raise NotFound("no such story in this tenant")
        case.story_id = story.id
    if alert_id is not None:
        alert = s.get(Alert, alert_id)
        if alert is None or alert.tenant_id != case.tenant_id:
            raise NotFound("no such notification in this tenant")
        case.alert_id = alert.id
    record(s, actor, "case.link", "case", case.id, case.tenant_id, story_id=case.story_id, alert_id=case.alert_id)
    return case


def publish_answer(
    s: Session, actor: Actor, case_id: int, message_id: int, edits: dict[str, Any] | None = None
) -> Alert:
    """When an answer reveals an attack: publish the linked story as a notification, the answer as its summary.

    Goes through the publishing workflow (enrollment, one notification per story, the verdict for the model).
    """
    case = get_case(s, actor, case_id)
    _require_side(s, actor, case, frozenset({"expert"}))
    msg = s.get(CaseMessage, message_id)
    if msg is None or msg.case_id != case.id or msg.side != "expert":
        raise NotFound("no such answer on this case")
    if case.story_id is None:
        raise Conflict("link the case to the story the answer is about before publishing")
    alert = publishing.publish(
        s, actor, case.story_id, {"executive_summary": msg.body, **(edits or {})}, note=f"from case #{case.id}"
    )
    case.alert_id = alert.id
    record(s, actor, "case.publish", "case", case.id, case.tenant_id, alert_id=alert.id, message_id=msg.id)
    return alert


def list_templates(s: Session, actor: Actor) -> list[CaseTemplate]:
    require_provider(actor, ("expert", "provider_admin"))
    return list(s.scalars(select(CaseTemplate).order_by(CaseTemplate.title, CaseTemplate.id)))


def get_template(s: Session, actor: Actor, template_id: int) -> CaseTemplate:
    require_provider(actor, ("expert", "provider_admin"))
    row = s.get(CaseTemplate, template_id)
    if row is None:
        raise NotFound("no such template")
    return row


def create_template(s: Session, actor: Actor, title: str, body: str, outcome: str | None = None) -> CaseTemplate:
    """Answer templates are the provider's shared wording, kept by the provider admin."""
    require_provider(actor)
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidInput("outcome must be one of " + ", ".join(OUTCOMES))
    if not title.strip() or not body.strip():
        raise InvalidInput("a template needs a title and a body")
    row = CaseTemplate(title=title.strip()[:200], body=body.strip(), outcome=outcome, created_by=actor.label)
    s.add(row)
    s.flush()
    record(s, actor, "case_template.create", "case_template", row.id)
    return row


def delete_template(s: Session, actor: Actor, template_id: int) -> None:
    require_provider(actor)
    row = s.get(CaseTemplate, template_id)
    if row is None:
        raise NotFound("no such template")
    s.delete(row)
    record(s, actor, "case_template.delete", "case_template", template_id)


def tenant_sla(s: Session, actor: Actor, tenant_id: int) -> dict[str, Any]:
    """The case targets of the tenant's plan, as a new case would freeze them now."""
    require_read(s, actor, tenant_id)
    tenant = s.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("no such tenant")
    return _sla_terms(s, tenant.plan)


def set_sla_policy(
    s: Session,
    actor: Actor,
    plan: str,
    *,
    first_response_days: float = 2.0,
    resolution_days: float = 10.0,
    reopen_days: int = 14,
    weekend: Sequence[int] = (6, 7),
    holidays: Sequence[str] = (),
) -> CaseSlaPolicy:
    """The provider admin sets a plan's targets and business calendar; cases asked afterwards use them."""
    require_provider(actor)
    if not plan.strip():
        raise InvalidInput("name the plan")
    if first_response_days <= 0 or resolution_days <= 0 or reopen_days < 0:
        raise InvalidInput("targets are positive numbers of days")
    if resolution_days < first_response_days:
        raise InvalidInput("the resolution target cannot come before the first response")
    try:
        calendar = Calendar.of(weekend, holidays)
    except ValueError as exc:
        raise InvalidInput(f"invalid calendar: {exc}") from exc
    if any(not 1 <= d <= 7 for d in calendar.weekend):
        raise InvalidInput("weekend days are ISO weekdays 1 (Monday) to 7 (Sunday)")
    row = s.get(CaseSlaPolicy, plan) or CaseSlaPolicy(plan=plan)
    row.first_response_days, row.resolution_days, row.reopen_days = first_response_days, resolution_days, reopen_days
    row.weekend = sorted(calendar.weekend)
    row.holidays = sorted(d.isoformat() for d in calendar.holidays)
    row.updated_by = actor.label
    s.add(row)
    s.flush()
    record(s, actor, "case_sla.update", "case_sla_policy", plan, first_response_days=first_response_days,
           resolution_days=resolution_days, reopen_days=reopen_days)  # fmt: skip
    return row


def list_sla_policies(s: Session, actor: Actor) -> list[dict[str, Any]]:
    require_provider(actor, ("expert", "provider_admin"))
    plans = {p for p in s.scalars(select(Tenant.plan))} | {p for p in s.scalars(select(CaseSlaPolicy.plan))}
    return [_sla_terms(s, p) for p in sorted(plans)]


# --- telling the customer ----------------------------------------------------------------------------------


def render_update(case: Case, msg: CaseMessage, tenant: Tenant, base_url: str = "") -> delivery.Message:
    """The expert's message as a case update: text and escaped HTML for e-mail, JSON for webhooks."""
    outcome = OUTCOMES.get(msg.outcome or "", "")
    link = f"{base_url}/cases/{case.id}"
    lines = [
        f"Huntwatch Experts replied to your case #{case.id}: {case.topic}",
        f"Status: {case.status.replace('_', ' ')}" + (f" · Outcome: {outcome}" if outcome else ""),
        "",
        msg.body,
        "",
        f"Read and answer the case in the portal: {link}",
        "",
        NOT_INCIDENT_RESPONSE,
    ]
    esc = html.escape
    body = (
        f"<p>Huntwatch Experts replied to your case <b>#{case.id}</b>: {esc(case.topic)}</p>"
        f"<p>Status: <b>{esc(case.status.replace('_', ' '))}</b>"
        + (f" · Outcome: <b>{esc(outcome)}</b>" if outcome else "")
        + "</p>"
        + "".join(f"<p>{esc(p)}</p>" for p in msg.body.split("\n\n"))
        + f"<p>Read and answer the case in the portal: {esc(link)}</p>"
        + f"<p><small>{esc(NOT_INCIDENT_RESPONSE)}</small></p>"
    )
    return delivery.Message(
        subject=f"[Huntwatch Experts] Case #{case.id}: {case.topic}" + (f" — {outcome}" if outcome else ""),
        severity="informational",
        text="\n".join(lines),
        html=body,
        payload={
            "case_id": case.id,
            "tenant": tenant.slug,
            "topic": case.topic,
            "status": case.status,
            "outcome": msg.outcome,
            "message_id": msg.id,
            "author_side": msg.side,
            "body": msg.body,
            "at": msg.at,
        },
        tenant=tenant.slug,
        kind="case_update",
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"huntwatch/case-message/{msg.id}")),
    )


def deliver_update(
    db: Database,
    message_id: int,
    *,
    box: SecretBox | None = None,
    attempts: int = 3,
    sleep: Callable[[float], None] | None = None,
    base_url: str = "",
) -> list[DeliveryLog]:
    """Tell the customer an expert wrote: e-mail to the case's correspondence address over the tenant's mail
    settings, and the tenant's webhooks. Each outcome is a row of the tenant's delivery log.

    Syslog is left out on purpose: a conversation is not a security event for the SIEM.
    """
    box = box or SecretBox.default()
    with db.session() as s:
        msg = s.get(CaseMessage, message_id)
        if msg is None:
            raise NotFound("no such message")
        if msg.side != "expert":
            return []
        case = s.get(Case, msg.case_id)
        tenant = s.get(Tenant, msg.tenant_id)
        assert case is not None and tenant is not None
        message = render_update(case, msg, tenant, base_url)
        rows = s.scalars(
            select(DeliverySetting).where(
                DeliverySetting.tenant_id == tenant.id,
                DeliverySetting.enabled,
                DeliverySetting.channel.in_(("email", "webhook")),
            )
        )
        plans = []
        for r in rows:
            config = {**r.config, **box.open(r.secret_encrypted)}
            if r.channel == "email":
                config["recipients"] = [case.correspondence_email]
            plans.append((r.id, r.channel, config))
        tenant_id, case_id = tenant.id, case.id
    options: dict[str, Any] = {"attempts": attempts}
    if sleep is not None:
        options["sleep"] = sleep
    logs = []
    for setting_id, kind, config in plans:
        try:
            result = delivery.deliver(delivery.channel_from_settings(kind, config), message, **options)
            last = result.attempts[-1]
            status = "delivered" if result.delivered else "dead_letter"
            detail = (last.receipt or "") if result.delivered else (last.error or "")
            tries = len(result.attempts)
        except delivery.ChannelConfigError as exc:
            status, detail, tries = "dead_letter", f"invalid settings: {exc}", 0
        logs.append(
            DeliveryLog(tenant_id=tenant_id, alert_id=None, setting_id=setting_id, channel=kind, status=status,
                        attempts=tries, detail=f"case #{case_id}: {detail}"[:2000])
        )  # fmt: skip
    with db.session() as s:
        s.add_all(logs)
    return logs


def case_deliveries(s: Session, actor: Actor, case_id: int) -> list[DeliveryLog]:
    """The delivery log rows of a case's updates (tenant admins and provider staff)."""
    case = get_case(s, actor, case_id)
    if actor.tenant_id is not None:
        _require_customer(s, actor, case.tenant_id)
    q = select(DeliveryLog).where(
        DeliveryLog.tenant_id == case.tenant_id, DeliveryLog.detail.startswith(f"case #{case.id}: ")
    )
    return list(s.scalars(q.order_by(DeliveryLog.id.desc()).limit(100)))
