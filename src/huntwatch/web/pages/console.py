"""The expert console: the hunting queue across enrolled tenants and the story workbench."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from huntwatch.service import InvalidInput, enrollment, publishing
from huntwatch.service.access import require_expert_on, require_provider
from huntwatch.service.delivering import deliver_alert
from huntwatch.state import Tenant
from huntwatch.web.context import AppContext, SessionDep, context
from huntwatch.web.pages.common import SEVERITIES, Viewer, form_viewer, render, viewer
from huntwatch.web.pages.portal import story_pictures

router = APIRouter(prefix="/console", include_in_schema=False)


def ranking(story: Any) -> dict[str, Any]:
    """What the queue shows for a story: the model's score and its reasons, or the transparent prior.

    Explanations from ``huntwatch.ai`` are ``{feature, description, effect, direction}``; the prior's carry
    features named ``prior.*``. A story never scored shows its significance components in the same shape.
    """
    why = list(story.score_explanation or [])
    if story.score is not None:
        prior = bool(why) and all(str(w.get("feature", "")).startswith("prior.") for w in why if isinstance(w, dict))
        kind = "prior" if prior else "model"
        return {"kind": kind, "value": story.score, "label": f"{story.score:.2f}", "why": why}
    components = ((story.scope or {}).get("significance") or {}).get("components") or {}
    why = [
        {"feature": k, "description": k.replace("_", " "), "effect": float(v) / 100, "direction": "up"}
        for k, v in sorted(components.items(), key=lambda kv: -float(kv[1]))
        if float(v) > 0
    ]
    return {"kind": "significance", "value": story.significance, "label": f"{story.significance:.0f}", "why": why}


@router.get("")
def queue(request: Request, who: Viewer = Depends(viewer), s: Session = SessionDep) -> Response:
    stories = publishing.hunting_queue(s, who.actor, 100)
    tenants = {t.id: t for t in s.scalars(select(Tenant).where(Tenant.id.in_({st.tenant_id for st in stories})))}
    rows = [(st, tenants[st.tenant_id], ranking(st)) for st in stories]
    return render(request, "console_queue.html", who, rows=rows)


@router.get("/stories/{story_id}")
def workbench(story_id: int, request: Request, who: Viewer = Depends(viewer), s: Session = SessionDep) -> Response:
    story = publishing.get_story(s, who.actor, story_id)
    require_expert_on(s, who.actor, story.tenant_id)
    draft = publishing.draft_from_story(s, story)
    return render(
        request, "workbench.html", who, tenant=s.get(Tenant, story.tenant_id), story=story,
        leads=publishing.story_leads(s, story), draft=draft, scope_json=json.dumps(draft.scope, indent=2),
        verdicts=publishing.list_verdicts(s, who.actor, story_id=story.id), verdict_kinds=publishing.VERDICTS,
        severities=SEVERITIES, rank=ranking(story), notifications_on=enrollment.notifications_on(s, story.tenant_id),
        **story_pictures(story),
    )  # fmt: skip


@router.post("/stories/{story_id}/verdict")
def verdict(
    story_id: int,
    verdict: str = Form(...),
    note: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
) -> Response:
    publishing.record_verdict(s, who.actor, story_id, verdict, note)
    return RedirectResponse(f"/console/stories/{story_id}?done=verdict", status_code=303)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post("/stories/{story_id}/publish")
def publish(
    story_id: int,
    tasks: BackgroundTasks,
    title: str = Form(...),
    severity: str = Form(...),
    executive_summary: str = Form(""),
    method_of_entry: str = Form(""),
    recommendations: str = Form(""),
    scope: str = Form("{}"),
    note: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    require_provider(who.actor, ("expert", "provider_admin"))
    try:
        scope_value = json.loads(scope or "{}")
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the scope is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(scope_value, dict):
        raise InvalidInput("the scope is a JSON object")
    edits = {
        "title": title,
        "severity": severity,
        "executive_summary": executive_summary,
        "method_of_entry": method_of_entry,
        "recommendations": _lines(recommendations),
        "scope": scope_value,
    }
    alert = publishing.publish(s, who.actor, story_id, edits, note=note)
    s.commit()
    tasks.add_task(deliver_alert, ctx.db, alert.id, box=ctx.box)
    return RedirectResponse(f"/alerts/{alert.id}?done=published", status_code=303)
