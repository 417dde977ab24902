"""Customer portal pages: alerts, incidents, devices, files, advanced hunting, settings.

Handlers only translate between HTTP and ``huntwatch.service``; access is checked there. Provider staff may
look at a tenant they can read with ``?tenant=SLUG``; tenant staff always see their own tenant.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from huntwatch import delivery as channels
from huntwatch.service import InvalidInput, alerts, delivering, enrollment, portal, publishing
from huntwatch.service.alerts import AlertFilter
from huntwatch.service.delivering import deliver_alert
from huntwatch.service.publishing import TAG
from huntwatch.state import Story, Tenant
from huntwatch.web.context import AppContext, SessionDep, context
from huntwatch.web.pages import pictures
from huntwatch.web.pages.common import Viewer, form_viewer, render, viewer

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _tenant(s: Session, who: Viewer, slug: str | None) -> Tenant:
    return portal.tenant_in_view(s, who.actor, slug or None)


def _back(path: str, tenant: Tenant, who: Viewer, **params: str) -> RedirectResponse:
    if who.is_provider:
        params["tenant"] = tenant.slug
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(path + (f"?{query}" if query else ""), status_code=303)


def _pages(total: int, page: int, size: int) -> dict[str, int]:
    return {"page": page, "pages": max(1, math.ceil(total / size)), "total": total, "size": size}


def story_pictures(story: Story | None, scope: dict[str, Any] | None = None, timeline: list[Any] | None = None):  # type: ignore[no-untyped-def]
    """The three pictures of an incident, from the story when there is one, else from what the alert carries."""
    return {
        "timeline_pic": pictures.timeline(list(story.timeline if story else timeline or [])),
        "trees": pictures.process_trees(list(story.process_trees) if story else []),
        "graph": pictures.scope_graph(dict(story.scope if story else scope or {})),
    }


# --- alerts ------------------------------------------------------------------------------------------------


@router.get("/alerts")
def alert_queue(
    request: Request,
    tenant: str = "",
    status: str = "",
    severity: str = "",
    tag: str = "",
    q: str = "",
    sort: str = "-created_at",
    page: int = 1,
    who: Viewer = Depends(viewer),
    s: Session = SessionDep,
) -> Response:
    t = _tenant(s, who, tenant)
    if sort not in alerts.SORTS:
        sort = "-created_at"
    flt = AlertFilter(t.id, status or None, severity or None, tag or None, None, q.strip() or None)
    result = alerts.list_alerts(s, who.actor, flt, sort, max(page, 1), PAGE_SIZE)
    filters = {"status": status, "severity": severity, "tag": tag, "q": q, "sort": sort}
    if who.is_provider:
        filters["tenant"] = t.slug
    return render(
        request, "alerts.html", who, tenant=t, result=result, filters=filters, statuses=alerts.STATUSES,
        sorts=alerts.SORTS, tag_name=TAG, paging=_pages(result.total, result.page, PAGE_SIZE),
        counts=portal.tenant_counts(s, who.actor, t.id),
    )  # fmt: skip


@router.get("/alerts/{alert_id}")
def alert_page(alert_id: int, request: Request, who: Viewer = Depends(viewer), s: Session = SessionDep) -> Response:
    alert = alerts.get_alert(s, who.actor, alert_id)
    tenant = s.get(Tenant, alert.tenant_id)
    story = publishing.get_story(s, who.actor, alert.story_id) if alert.story_id else None
    return render(
        request, "alert.html", who, tenant=tenant, alert=alert, story=story, statuses=alerts.STATUSES,
        **story_pictures(story, alert.scope, alert.timeline),
    )  # fmt: skip


@router.post("/alerts/{alert_id}/status")
def alert_status(
    alert_id: int,
    status: str = Form(...),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
) -> Response:
    alerts.set_status(s, who.actor, alert_id, status)
    return RedirectResponse(f"/alerts/{alert_id}?done=status", status_code=303)


# --- incidents ---------------------------------------------------------------------------------------------


@router.get("/incidents")
def incidents(
    request: Request,
    tenant: str = "",
    status: str = "",
    page: int = 1,
    who: Viewer = Depends(viewer),
    s: Session = SessionDep,
) -> Response:
    t = _tenant(s, who, tenant)
    page = max(page, 1)
    stories = publishing.list_stories(s, who.actor, t.id, status or None, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    return render(
        request, "incidents.html", who, tenant=t, stories=stories[:PAGE_SIZE], has_more=len(stories) > PAGE_SIZE,
        page=page, status=status,
    )  # fmt: skip


@router.get("/incidents/{story_id}")
def incident_page(story_id: int, request: Request, who: Viewer = Depends(viewer), s: Session = SessionDep) -> Response:
    story = publishing.get_story(s, who.actor, story_id)
    tenant = s.get(Tenant, story.tenant_id)
    published = alerts.list_alerts(s, who.actor, AlertFilter(tenant_id=story.tenant_id, story_id=story.id)).items
    return render(
        request, "incident.html", who, tenant=tenant, story=story, leads=publishing.story_leads(s, story),
        published=published, **story_pictures(story),
    )  # fmt: skip


# --- devices and files -------------------------------------------------------------------------------------


@router.get("/devices")
def devices(
    request: Request,
    tenant: str = "",
    q: str = "",
    page: int = 1,
    who: Viewer = Depends(viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    t = _tenant(s, who, tenant)
    page = max(page, 1)
    rows, total = portal.list_devices(s, who.actor, ctx.engine, t.id, q.strip(), PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return render(request, "devices.html", who, tenant=t, devices=rows, q=q, paging=_pages(total, page, PAGE_SIZE))


@router.get("/devices/{name:path}")
def device_page(
    name: str,
    request: Request,
    tenant: str = "",
    who: Viewer = Depends(viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    t = _tenant(s, who, tenant)
    device = portal.device_profile(s, who.actor, ctx.engine, t.id, name)
    return render(request, "device.html", who, tenant=t, device=device)


@router.get("/files/{sha256}")
def file_page(
    sha256: str,
    request: Request,
    tenant: str = "",
    who: Viewer = Depends(viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    t = _tenant(s, who, tenant)
    info = portal.file_profile(s, who.actor, ctx.engine, t.id, sha256)
    return render(request, "file.html", who, tenant=t, file=info)


# --- advanced hunting ----------------------------------------------------------------------------------------

EXAMPLE_QUERY = """SELECT Timestamp, DeviceName, AccountName, FileName, ProcessCommandLine
FROM DeviceProcessEvents
WHERE FileName ILIKE 'powershell.exe'
ORDER BY Timestamp DESC
LIMIT 100"""


@router.get("/hunting")
def hunting(
    request: Request, tenant: str = "", sql: str = "", who: Viewer = Depends(viewer), s: Session = SessionDep
) -> Response:
    """The editor, pre-filled with an example or with a query linked from an alert (it is not run until asked)."""
    t = _tenant(s, who, tenant)
    return render(
        request, "hunting.html", who, tenant=t, sql=sql[: portal.MAX_SQL_CHARS] or EXAMPLE_QUERY, result=None, error="",
        schema=portal.schema_outline(), limits=(portal.HUNT_MAX_ROWS, portal.HUNT_TIMEOUT_S),
    )  # fmt: skip


@router.post("/hunting")
def hunting_run(
    request: Request,
    sql: str = Form(""),
    tenant: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    t = _tenant(s, who, tenant)
    result, error = None, ""
    try:
        result = portal.run_hunting_query(s, who.actor, ctx.engine, t.id, sql)
    except InvalidInput as exc:
        error = str(exc)
    return render(
        request, "hunting.html", who, tenant=t, sql=sql, result=result, error=error,
        schema=portal.schema_outline(), limits=(portal.HUNT_MAX_ROWS, portal.HUNT_TIMEOUT_S),
        status_code=200 if not error else 422,
    )  # fmt: skip


def _csv_cell(value: Any) -> str:
    """Cells starting like a formula are prefixed, so a spreadsheet never runs attacker text as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.post("/hunting/export.csv")
def hunting_export(
    sql: str = Form(""),
    tenant: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    t = _tenant(s, who, tenant)
    result = portal.run_hunting_query(s, who.actor, ctx.engine, t.id, sql)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(result.columns)
    writer.writerows([_csv_cell(v) for v in row] for row in result.rows)
    return StreamingResponse(
        iter([buffer.getvalue()]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="huntwatch-{t.slug}.csv"'},
    )


# --- settings → endpoints → general → advanced features ------------------------------------------------------


@router.get("/settings/advanced")
def settings_page(
    request: Request, tenant: str = "", who: Viewer = Depends(viewer), s: Session = SessionDep
) -> Response:
    t = _tenant(s, who, tenant)
    admin = who.is_tenant_admin
    return render(
        request, "settings.html", who, tenant=t,
        enrollment=enrollment.get_enrollment(s, who.actor, t.id),
        settings=[(d, delivering.shown_config(d)) for d in delivering.list_settings(s, who.actor, t.id)]
        if admin else [],
        contacts=delivering.list_contacts(s, who.actor, t.id),
        log=delivering.list_log(s, who.actor, t.id, 50) if admin else [],
        channel_kinds={k: channels.config_schema(k).get("required", []) for k in channels.channel_kinds()},
        admin=admin,
        experts=enrollment.has_experts_on_demand(s, t.id),
    )  # fmt: skip


@router.post("/settings/advanced/apply")
def settings_apply(
    name: str = Form(""),
    email: str = Form(""),
    privacy: str = Form(""),
    tenant: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    t = _tenant(s, who, tenant)
    enrollment.apply(s, who.actor, t.id, name, email, privacy == "yes", ctx.engine)
    return _back("/settings/advanced", t, who, done="applied")


@router.post("/settings/advanced/toggle")
def settings_toggle(
    enabled: str = Form(""), tenant: str = Form(""), who: Viewer = Depends(form_viewer), s: Session = SessionDep
) -> Response:
    t = _tenant(s, who, tenant)
    enrollment.set_enabled(s, who.actor, t.id, enabled == "on")
    return _back("/settings/advanced", t, who, done="toggled")


@router.post("/settings/advanced/delivery")
def settings_delivery(
    channel: str = Form(...),
    name: str = Form(""),
    config: str = Form("{}"),
    tenant: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    t = _tenant(s, who, tenant)
    try:
        values = json.loads(config or "{}")
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the settings are not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(values, dict):
        raise InvalidInput("the settings are a JSON object")
    delivering.save_setting(s, who.actor, t.id, channel, values, name=name, box=ctx.box)
    return _back("/settings/advanced", t, who, done="delivery")


@router.post("/settings/advanced/delivery/{setting_id}/delete")
def settings_delivery_delete(
    setting_id: int, tenant: str = Form(""), who: Viewer = Depends(form_viewer), s: Session = SessionDep
) -> Response:
    t = _tenant(s, who, tenant)
    delivering.delete_setting(s, who.actor, setting_id)
    return _back("/settings/advanced", t, who, done="deleted")


@router.post("/settings/advanced/contacts")
def settings_contact(
    priority: str = Form("primary"),
    name: str = Form(""),
    email: str = Form(""),
    phone: str = Form(""),
    tenant: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
) -> Response:
    t = _tenant(s, who, tenant)
    delivering.add_contact(s, who.actor, t.id, priority, name, email, phone)
    return _back("/settings/advanced", t, who, done="contact")


@router.post("/settings/advanced/contacts/{contact_id}/delete")
def settings_contact_delete(
    contact_id: int, tenant: str = Form(""), who: Viewer = Depends(form_viewer), s: Session = SessionDep
) -> Response:
    t = _tenant(s, who, tenant)
    delivering.delete_contact(s, who.actor, contact_id)
    return _back("/settings/advanced", t, who, done="deleted")


@router.post("/settings/advanced/sample")
def settings_sample(
    tasks: BackgroundTasks,
    tenant: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    t = _tenant(s, who, tenant)
    alert = publishing.generate_sample(s, who.actor, t.id)
    s.commit()
    tasks.add_task(deliver_alert, ctx.db, alert.id, box=ctx.box, attempts=2)
    return _back("/settings/advanced", t, who, done="sample")
