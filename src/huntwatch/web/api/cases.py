"""Experts on demand over JSON: asking, the case thread and lifecycle, attachments, SLA, the experts' tools.

Every handler translates HTTP to :mod:`huntwatch.service.cases`, where access is checked. Expert replies are
delivered to the customer in the background after the transaction commits.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from huntwatch.service import Actor, InvalidInput, cases
from huntwatch.service.cases import AttachmentLimits, CaseFilter, CaseView
from huntwatch.service.delivering import deliver_alert
from huntwatch.web.api.schemas import AlertOut
from huntwatch.web.context import AppContext, SessionDep, actor, context

router = APIRouter(tags=["cases"])


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ClockOut(BaseModel):
    name: str
    state: str
    target_hours: float
    used_hours: float
    remaining_hours: float
    due_at: dt.datetime | None
    breached: bool


class CaseSummary(BaseModel):
    id: int
    tenant_id: int
    category: str
    topic: str
    topic_link: str
    context_kind: str
    context_ref: str
    status: str
    outcome: str | None
    assigned_to: str | None
    story_id: int | None
    alert_id: int | None
    correspondence_email: str
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    sla_state: str = Field(description="on_track | at_risk | breached | paused | stopped")
    sla: dict[str, ClockOut]


class CaseOut(CaseSummary):
    question: str
    snapshot: dict[str, Any]
    first_look: dict[str, Any] | None = Field(None, description="The expert's first look (provider staff only)")
    sla_terms: dict[str, Any]
    not_incident_response: str = cases.NOT_INCIDENT_RESPONSE


class CaseIn(BaseModel):
    tenant_id: int | None = Field(None, description="Defaults to the caller's tenant")
    category: str = Field(description="alert_clarification | device_behaviour | threat_intelligence")
    question: str
    correspondence_email: str
    context_kind: str = Field("", description="device | alert | file, or empty for a question without context")
    context_ref: str = Field("", description="Device name, alert number or file SHA-256")
    topic: str = ""


class MessageIn(BaseModel):
    body: str


class ReportIn(BaseModel):
    outcome: str = Field(description=" | ".join(cases.OUTCOMES))
    body: str = ""
    template_id: int | None = Field(None, description="Start from an answer template (its body when body is empty)")


class StatusIn(BaseModel):
    status: str
    reason: str = ""


class LinkIn(BaseModel):
    story_id: int | None = None
    alert_id: int | None = None


class PublishAnswerIn(BaseModel):
    message_id: int
    title: str | None = None
    severity: str | None = None


class MessageOut(Out):
    id: int
    case_id: int
    side: str
    author: str
    body: str
    outcome: str | None
    at: dt.datetime


class StatusChangeOut(Out):
    id: int
    case_id: int
    from_status: str | None
    to_status: str
    actor: str
    reason: str
    at: dt.datetime


class AttachmentOut(Out):
    id: int
    case_id: int
    message_id: int | None
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    at: dt.datetime


class AttachmentIn(BaseModel):
    filename: str
    content_base64: str = Field(description="The file's bytes, base64-encoded")
    message_id: int | None = None


class TemplateIn(BaseModel):
    title: str
    body: str
    outcome: str | None = None


class TemplateOut(Out):
    id: int
    title: str
    outcome: str | None
    body: str
    created_by: str
    created_at: dt.datetime


class SlaPolicyIn(BaseModel):
    first_response_days: float = 2.0
    resolution_days: float = 10.0
    reopen_days: int = 14
    weekend: list[int] = Field(default_factory=lambda: [6, 7], description="ISO weekdays, Monday = 1")
    holidays: list[str] = Field(default_factory=list, description="ISO dates")


class SlaPolicyOut(BaseModel):
    plan: str
    first_response_days: float
    resolution_days: float
    reopen_days: int
    weekend: list[int]
    holidays: list[str]


class AskStateOut(BaseModel):
    allowed: bool
    subscribed: bool
    reason: str
    not_incident_response: str
    categories: dict[str, str]
    outcomes: dict[str, str]


class DeliveryOut(Out):
    id: int
    channel: str
    status: str
    attempts: int
    detail: str
    at: dt.datetime


def _summary(v: CaseView) -> dict[str, Any]:
    c = v.case
    fields = {name: getattr(c, name) for name in CaseSummary.model_fields if hasattr(c, name)}
    return {**fields, "sla_state": v.sla_state, "sla": {k: clock.as_dict() for k, clock in v.clocks.items()}}


def _full(v: CaseView, who: Actor) -> dict[str, Any]:
    c = v.case
    return {
        **_summary(v),
        "question": c.question,
        "snapshot": c.snapshot,
        "first_look": c.first_look if who.tenant_id is None else None,
        "sla_terms": c.sla,
    }


def _deliver(tasks: BackgroundTasks, ctx: AppContext, message: Any, request: Request) -> None:
    if message.side == "expert":
        base = str(request.base_url).rstrip("/")
        tasks.add_task(cases.deliver_update, ctx.db, message.id, box=ctx.box, base_url=base)


@router.get("/tenants/{tenant_id}/experts-on-demand", response_model=AskStateOut)
def ask_state(tenant_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """Whether the caller may ask now; when not, why and how to subscribe. Never incident response."""
    state = cases.ask_state(s, who, tenant_id)
    return {**dataclasses.asdict(state), "categories": cases.CATEGORIES, "outcomes": cases.OUTCOMES}


@router.get("/cases", response_model=list[CaseSummary])
def list_cases(
    tenant_id: int | None = None,
    status: str | None = Query(None, description="comma-separated statuses"),
    category: str | None = None,
    topic: str | None = None,
    sla: str | None = None,
    assigned: str | None = Query(None, description="'me', 'none', or an assignee"),
    sort: str = "newest",
    limit: int = 200,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
) -> Any:
    """Cases the caller may see; ``sort=time_left`` is the experts' queue (least SLA time left first)."""
    if sort not in ("newest", "time_left"):
        raise InvalidInput("sort is newest or time_left")
    assigned_to = {"me": who.label, "none": ""}.get(assigned or "", assigned) if assigned else None
    flt = CaseFilter(
        tenant_id=tenant_id,
        statuses=tuple(x for x in (status or "").split(",") if x),
        category=category or None,
        topic=topic or None,
        sla=sla or None,
        assigned_to=assigned_to,
        sort=sort,
        limit=min(max(limit, 1), 1000),
    )
    return [_summary(v) for v in cases.list_cases(s, who, flt)]


@router.post("/cases", response_model=CaseOut, status_code=201)
def ask(body: CaseIn, who: Actor = Depends(actor), s: Session = SessionDep, ctx: AppContext = Depends(context)) -> Any:
    """Ask Huntwatch Experts (tenant admin of a subscribed tenant); the context is frozen into the case now."""
    tenant_id = body.tenant_id if body.tenant_id is not None else who.tenant_id
    if tenant_id is None:
        raise InvalidInput("name the tenant")
    case = cases.ask(
        s, who, tenant_id, category=body.category, question=body.question,
        correspondence_email=body.correspondence_email, context_kind=body.context_kind,
        context_ref=body.context_ref, topic=body.topic, engine=ctx.engine,
    )  # fmt: skip
    return _full(cases.view(s, who, case.id), who)


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(case_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return _full(cases.view(s, who, case_id), who)


@router.get("/cases/{case_id}/messages", response_model=list[MessageOut])
def messages(case_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return cases.messages(s, who, case_id)


@router.post("/cases/{case_id}/messages", response_model=MessageOut, status_code=201)
def reply(
    case_id: int,
    body: MessageIn,
    request: Request,
    tasks: BackgroundTasks,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Any:
    """A message on the thread; an expert's reaches the customer's e-mail and webhooks."""
    msg = cases.reply(s, who, case_id, body.body)
    s.commit()
    _deliver(tasks, ctx, msg, request)
    return msg


@router.post("/cases/{case_id}/progress-reports", response_model=MessageOut, status_code=201)
def progress_report(
    case_id: int,
    body: ReportIn,
    request: Request,
    tasks: BackgroundTasks,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Any:
    """The expert's progress report with one of the four outcomes; moves the case and tells the customer."""
    text = body.body
    if body.template_id is not None and not text.strip():
        text = cases.get_template(s, who, body.template_id).body
    msg = cases.progress_report(s, who, case_id, body.outcome, text)
    s.commit()
    _deliver(tasks, ctx, msg, request)
    return msg


@router.post("/cases/{case_id}/status", response_model=CaseSummary)
def set_status(case_id: int, body: StatusIn, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """Resolve, wait on the customer, close, reopen; an illegal change answers 409 and names the allowed ones."""
    cases.set_status(s, who, case_id, body.status, body.reason)
    return _summary(cases.view(s, who, case_id))


@router.post("/cases/{case_id}/assign", response_model=CaseSummary)
def assign(case_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """The expert takes the case."""
    cases.assign(s, who, case_id)
    return _summary(cases.view(s, who, case_id))


@router.get("/cases/{case_id}/history", response_model=list[StatusChangeOut])
def history(case_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return cases.history(s, who, case_id)


@router.post("/cases/{case_id}/links", response_model=CaseSummary)
def link(case_id: int, body: LinkIn, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """Link the case to a story or a notification of its tenant."""
    cases.link(s, who, case_id, body.story_id, body.alert_id)
    return _summary(cases.view(s, who, case_id))


@router.post("/cases/{case_id}/publish", response_model=AlertOut, status_code=201)
def publish_answer(
    case_id: int,
    body: PublishAnswerIn,
    tasks: BackgroundTasks,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Any:
    """Turn an answer into an Endpoint Attack Notification of the linked story (publishing workflow)."""
    edits = {k: v for k, v in {"title": body.title, "severity": body.severity}.items() if v}
    alert = cases.publish_answer(s, who, case_id, body.message_id, edits)
    s.commit()
    tasks.add_task(deliver_alert, ctx.db, alert.id, box=ctx.box)
    return alert


@router.get("/cases/{case_id}/deliveries", response_model=list[DeliveryOut])
def deliveries(case_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """How the case's updates were delivered (tenant admins and provider staff)."""
    return cases.case_deliveries(s, who, case_id)


@router.get("/cases/{case_id}/attachments", response_model=list[AttachmentOut])
def attachments(case_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return cases.list_attachments(s, who, case_id)


@router.post("/cases/{case_id}/attachments", response_model=AttachmentOut, status_code=201)
def add_attachment(case_id: int, body: AttachmentIn, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """Attach a file; size and type are limited (file samples go zipped with a password)."""
    limits = AttachmentLimits()
    if len(body.content_base64) > (limits.max_bytes * 4) // 3 + 8:
        raise InvalidInput(f"attachments are limited to {limits.max_bytes // (1024 * 1024)} MiB")
    try:
        data = base64.b64decode(body.content_base64, validate=True)
    except binascii.Error as exc:
        raise InvalidInput("content_base64 is not base64") from exc
    return cases.add_attachment(s, who, case_id, body.filename, data, message_id=body.message_id, limits=limits)


def attachment_response(row: Any, data: bytes) -> Response:
    """Served as a download with its checked type, never rendered inline by the browser."""
    safe = row.filename.replace('"', "")
    return Response(
        data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.get("/case-attachments/{attachment_id}", response_class=Response)
def download(attachment_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Response:
    row, data = cases.read_attachment(s, who, attachment_id)
    return attachment_response(row, data)


@router.get("/case-templates", response_model=list[TemplateOut])
def list_templates(who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """Answer templates, for provider staff."""
    return cases.list_templates(s, who)


@router.post("/case-templates", response_model=TemplateOut, status_code=201)
def create_template(body: TemplateIn, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return cases.create_template(s, who, body.title, body.body, body.outcome)


@router.delete("/case-templates/{template_id}", status_code=204)
def delete_template(template_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Response:
    cases.delete_template(s, who, template_id)
    return Response(status_code=204)


@router.get("/tenants/{tenant_id}/case-sla", response_model=SlaPolicyOut)
def tenant_sla(tenant_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """The case targets of the tenant's plan and the business calendar they are counted on."""
    return cases.tenant_sla(s, who, tenant_id)


@router.get("/case-sla-policies", response_model=list[SlaPolicyOut])
def sla_policies(who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """Every plan's case targets, for provider staff."""
    return cases.list_sla_policies(s, who)


@router.put("/case-sla-policies/{plan}", response_model=SlaPolicyOut)
def set_sla_policy(plan: str, body: SlaPolicyIn, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """The provider admin sets a plan's targets and business calendar (weekend days, holidays)."""
    row = cases.set_sla_policy(s, who, plan, **body.model_dump())
    return {c: getattr(row, c) for c in SlaPolicyOut.model_fields}
