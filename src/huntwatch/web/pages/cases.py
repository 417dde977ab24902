"""Experts on demand in the browser: the customers' cases (ask, follow, answer) and the experts' case console.

Handlers translate HTTP forms to :mod:`huntwatch.service.cases`, where access is checked. "Ask Huntwatch
Experts" in the Actions menu of the device, alert and file pages opens ``/cases/new?context=KIND&id=REF``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from huntwatch.service import InvalidInput, cases, publishing
from huntwatch.service.access import require_expert_on, require_provider
from huntwatch.service.cases import AttachmentLimits, CaseFilter
from huntwatch.service.delivering import deliver_alert
from huntwatch.service.portal import tenant_in_view
from huntwatch.state import Tenant
from huntwatch.web.api.cases import attachment_response
from huntwatch.web.context import AppContext, SessionDep, context
from huntwatch.web.pages.common import SEVERITIES, Viewer, form_viewer, render, viewer

router = APIRouter(include_in_schema=False)
# What a redirect after a successful case form may say (a fixed list, like the portal's).
DONE = {
    "asked": "Your question was sent to Huntwatch Experts. You will get an e-mail when they reply.",
    "sent": "Message sent.",
    "status": "Case status changed.",
    "attached": "File attached.",
    "taken": "You took the case.",
    "reported": "Progress report sent to the customer.",
    "linked": "Link saved.",
    "published": "Published: the answer is now a notification in the tenant's alert queue.",
    "sla": "Targets saved; cases asked from now on use them.",
    "template": "Template saved.",
    "template_deleted": "Template deleted.",
}
SLA_LABELS = {"on_track": "On track", "at_risk": "At risk", "breached": "Breached", "paused": "Paused",
              "stopped": "Stopped"}  # fmt: skip


def _flash(request: Request) -> str:
    return DONE.get(request.query_params.get("done", ""), "")


def _common() -> dict[str, Any]:
    return {
        "categories": cases.CATEGORIES,
        "outcomes": cases.OUTCOMES,
        "statuses": cases.STATUSES,
        "not_ir": cases.NOT_INCIDENT_RESPONSE,
        "sla_labels": SLA_LABELS,
    }


def _back(path: str, who: Viewer, tenant: Tenant | None, **params: str) -> RedirectResponse:
    if who.is_provider and tenant is not None and not path.startswith("/console"):
        params["tenant"] = tenant.slug
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(path + (f"?{query}" if query else ""), status_code=303)


async def _upload(s: Session, who: Viewer, case_id: int, upload: UploadFile | None, message_id: int | None) -> bool:
    """Attach the form's file, if one was chosen; reads one byte past the limit so oversize is refused."""
    if upload is None or not upload.filename:
        return False
    limits = AttachmentLimits()
    data = await upload.read(limits.max_bytes + 1)
    cases.add_attachment(s, who.actor, case_id, upload.filename, data, message_id=message_id, limits=limits)
    return True


# --- customers ---------------------------------------------------------------------------------------------


@router.get("/cases", name="cases")
def case_list(
    request: Request,
    tenant: str = "",
    status: str = "",
    who: Viewer = Depends(viewer),
    s: Session = SessionDep,
) -> Response:
    t = tenant_in_view(s, who.actor, tenant or None)
    flt = CaseFilter(tenant_id=t.id, statuses=(status,) if status else ())
    return render(
        request, "cases/list.html", who, tenant=t, views=cases.list_cases(s, who.actor, flt), status=status,
        ask=cases.ask_state(s, who.actor, t.id), flash=_flash(request), **_common(),
    )  # fmt: skip


@router.get("/cases/new")
def ask_form(
    request: Request,
    context: str = "",
    id: str = "",
    tenant: str = "",
    who: Viewer = Depends(viewer),
    s: Session = SessionDep,
) -> Response:
    """The question form, pre-filled from the page it was opened on; or why asking is not possible now."""
    t = tenant_in_view(s, who.actor, tenant or None)
    kind = context if context in cases.CONTEXT_KINDS else ""
    topic, link = cases.prefilled_topic(s, who.actor, kind, id) if kind and id else ("", "")
    return render(
        request, "cases/new.html", who, tenant=t, ask=cases.ask_state(s, who.actor, t.id), context_kind=kind,
        context_ref=id if kind else "", topic=topic, link=link, category=cases.CONTEXT_CATEGORY.get(kind, ""),
        **_common(),
    )  # fmt: skip


@router.post("/cases/new")
def ask(
    category: str = Form(""),
    question: str = Form(""),
    correspondence_email: str = Form(""),
    topic: str = Form(""),
    context_kind: str = Form(""),
    context_ref: str = Form(""),
    tenant: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    t = tenant_in_view(s, who.actor, tenant or None)
    case = cases.ask(
        s, who.actor, t.id, category=category, question=question, correspondence_email=correspondence_email,
        topic=topic, context_kind=context_kind, context_ref=context_ref, engine=ctx.engine,
    )  # fmt: skip
    s.commit()  # before the redirect, so the next page sees the change
    return _back(f"/cases/{case.id}", who, t, done="asked")


@router.get("/cases/{case_id}")
def case_page(case_id: int, request: Request, who: Viewer = Depends(viewer), s: Session = SessionDep) -> Response:
    v = cases.view(s, who.actor, case_id)
    tenant = s.get(Tenant, v.case.tenant_id)
    return render(
        request, "cases/case.html", who, tenant=tenant, v=v, case=v.case,
        messages=cases.messages(s, who.actor, case_id), history=cases.history(s, who.actor, case_id),
        attachments=cases.list_attachments(s, who.actor, case_id), flash=_flash(request),
        can_write=cases.ask_state(s, who.actor, v.case.tenant_id).allowed or who.actor.is_provider_admin,
        **_common(),
    )  # fmt: skip


@router.post("/cases/{case_id}/reply")
async def customer_reply(
    case_id: int,
    body: str = Form(""),
    file: UploadFile | None = File(None),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
) -> Response:
    """The customer's message, with an optional file (e.g. the samples the expert asked for)."""
    case = cases.get_case(s, who.actor, case_id)
    chosen = file is not None and bool(file.filename)
    if not body.strip() and chosen:
        body = f"Attached {file.filename}."  # a file alone answers too (the samples the expert asked for)
    msg = cases.reply(s, who.actor, case_id, body)
    await _upload(s, who, case_id, file, msg.id)
    s.commit()  # before the redirect, so the next page sees the change
    return _back(f"/cases/{case_id}", who, s.get(Tenant, case.tenant_id), done="attached" if chosen else "sent")


@router.post("/cases/{case_id}/status")
def customer_status(
    case_id: int,
    status: str = Form(...),
    reason: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
) -> Response:
    case = cases.set_status(s, who.actor, case_id, status, reason)
    s.commit()  # before the redirect, so the next page sees the change
    return _back(f"/cases/{case_id}", who, s.get(Tenant, case.tenant_id), done="status")


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def download(case_id: int, attachment_id: int, who: Viewer = Depends(viewer), s: Session = SessionDep) -> Response:
    row, data = cases.read_attachment(s, who.actor, attachment_id)
    if row.case_id != case_id:
        raise InvalidInput("the attachment belongs to another case")
    return attachment_response(row, data)


# --- the experts' console ----------------------------------------------------------------------------------


@router.get("/console/cases")
def queue(
    request: Request,
    tenant: str = "",
    status: str = "open",
    category: str = "",
    topic: str = "",
    sla: str = "",
    who: Viewer = Depends(viewer),
    s: Session = SessionDep,
) -> Response:
    """Cases of every tenant the expert works on, least SLA time left first, with filters."""
    require_provider(who.actor, ("expert", "provider_admin"))
    tenants = {t.id: t for t in s.scalars(select(Tenant).order_by(Tenant.slug))}
    chosen = next((t for t in tenants.values() if t.slug == tenant), None)
    statuses = cases.OPEN_STATUSES if status == "open" else ((status,) if status else ())
    flt = CaseFilter(
        tenant_id=chosen.id if chosen else None, statuses=statuses, category=category or None,
        topic=topic.strip() or None, sla=sla or None, sort="time_left",
    )  # fmt: skip
    views = cases.list_cases(s, who.actor, flt)
    visible = {v.case.tenant_id for v in cases.list_cases(s, who.actor, CaseFilter(limit=5000))}
    return render(
        request, "cases/queue.html", who, views=views, tenants=tenants,
        tenant_choices=[t for t in tenants.values() if t.id in visible or t.slug == tenant],
        filters={"tenant": tenant, "status": status, "category": category, "topic": topic, "sla": sla},
        sla_filters=cases.SLA_FILTERS, **_common(),
    )  # fmt: skip


@router.get("/console/cases/{case_id}")
def workbench(
    case_id: int,
    request: Request,
    template: int | None = None,
    who: Viewer = Depends(viewer),
    s: Session = SessionDep,
) -> Response:
    v = cases.view(s, who.actor, case_id)
    require_expert_on(s, who.actor, v.case.tenant_id)
    tpl = cases.get_template(s, who.actor, template) if template else None
    stories = publishing.list_stories(s, who.actor, v.case.tenant_id, None, 50)
    return render(
        request, "cases/workbench.html", who, tenant=s.get(Tenant, v.case.tenant_id), v=v, case=v.case,
        messages=cases.messages(s, who.actor, case_id), history=cases.history(s, who.actor, case_id),
        attachments=cases.list_attachments(s, who.actor, case_id), templates=cases.list_templates(s, who.actor),
        template=tpl, stories=stories, deliveries=cases.case_deliveries(s, who.actor, case_id),
        severities=SEVERITIES, flash=_flash(request), **_common(),
    )  # fmt: skip


def _deliver(tasks: BackgroundTasks, ctx: AppContext, request: Request, message_id: int) -> None:
    base = str(request.base_url).rstrip("/")
    tasks.add_task(cases.deliver_update, ctx.db, message_id, box=ctx.box, base_url=base)


@router.post("/console/cases/{case_id}/take")
def take(case_id: int, who: Viewer = Depends(form_viewer), s: Session = SessionDep) -> Response:
    cases.assign(s, who.actor, case_id)
    s.commit()
    return RedirectResponse(f"/console/cases/{case_id}?done=taken", status_code=303)


@router.post("/console/cases/{case_id}/report")
async def report(
    case_id: int,
    request: Request,
    tasks: BackgroundTasks,
    outcome: str = Form(""),
    body: str = Form(""),
    file: UploadFile | None = File(None),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    """A progress report (or, without an outcome, a plain message); the customer hears of it by e-mail/webhook."""
    if outcome:
        msg = cases.progress_report(s, who.actor, case_id, outcome, body)
    else:
        msg = cases.reply(s, who.actor, case_id, body)
    await _upload(s, who, case_id, file, msg.id)
    s.commit()
    _deliver(tasks, ctx, request, msg.id)
    return RedirectResponse(f"/console/cases/{case_id}?done=reported", status_code=303)


@router.post("/console/cases/{case_id}/status")
def expert_status(
    case_id: int,
    status: str = Form(...),
    reason: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
) -> Response:
    cases.set_status(s, who.actor, case_id, status, reason)
    s.commit()
    return RedirectResponse(f"/console/cases/{case_id}?done=status", status_code=303)


@router.post("/console/cases/{case_id}/link")
def link(
    case_id: int,
    story_id: str = Form(""),
    alert_id: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
) -> Response:
    def number(value: str) -> int | None:
        if not value.strip():
            return None
        if not value.strip().isdigit():
            raise InvalidInput("stories and notifications are named by their number")
        return int(value)

    cases.link(s, who.actor, case_id, number(story_id), number(alert_id))
    s.commit()
    return RedirectResponse(f"/console/cases/{case_id}?done=linked", status_code=303)


@router.post("/console/cases/{case_id}/publish")
def publish(
    case_id: int,
    tasks: BackgroundTasks,
    message_id: int = Form(...),
    title: str = Form(""),
    severity: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    edits = {k: v for k, v in {"title": title.strip(), "severity": severity}.items() if v}
    alert = cases.publish_answer(s, who.actor, case_id, message_id, edits)
    s.commit()
    tasks.add_task(deliver_alert, ctx.db, alert.id, box=ctx.box)
    return RedirectResponse(f"/console/cases/{case_id}?done=published", status_code=303)


# --- case settings: SLA per plan and answer templates --------------------------------------------------------


@router.get("/console/case-settings")
def case_settings(request: Request, who: Viewer = Depends(viewer), s: Session = SessionDep) -> Response:
    """Experts read the plans' targets and the answer templates; the provider admin changes them."""
    return render(
        request, "cases/settings.html", who, policies=cases.list_sla_policies(s, who.actor),
        templates=cases.list_templates(s, who.actor), editable=who.actor.is_provider_admin,
        flash=_flash(request), **_common(),
    )  # fmt: skip


def _number(value: str, what: str) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise InvalidInput(f"{what} is a number of days") from exc


@router.post("/console/case-settings/sla")
def save_sla(
    plan: str = Form(...),
    first_response_days: str = Form("2"),
    resolution_days: str = Form("10"),
    reopen_days: str = Form("14"),
    weekend: str = Form("6,7"),
    holidays: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
) -> Response:
    try:
        days = [int(d) for d in weekend.replace(" ", "").split(",") if d]
    except ValueError as exc:
        raise InvalidInput("weekend days are ISO weekday numbers separated by commas (6,7)") from exc
    cases.set_sla_policy(
        s, who.actor, plan.strip(), first_response_days=_number(first_response_days, "the first response target"),
        resolution_days=_number(resolution_days, "the resolution target"),
        reopen_days=int(_number(reopen_days, "the reopen window")), weekend=days,
        holidays=[h.strip() for h in holidays.replace(",", "\n").splitlines() if h.strip()],
    )  # fmt: skip
    s.commit()
    return RedirectResponse("/console/case-settings?done=sla", status_code=303)


@router.post("/console/case-settings/templates")
def save_template(
    title: str = Form(""),
    body: str = Form(""),
    outcome: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
) -> Response:
    cases.create_template(s, who.actor, title, body, outcome or None)
    s.commit()
    return RedirectResponse("/console/case-settings?done=template", status_code=303)


@router.post("/console/case-settings/templates/{template_id}/delete")
def delete_template(template_id: int, who: Viewer = Depends(form_viewer), s: Session = SessionDep) -> Response:
    cases.delete_template(s, who.actor, template_id)
    s.commit()
    return RedirectResponse("/console/case-settings?done=template_deleted", status_code=303)
