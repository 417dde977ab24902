"""Stories (read-only here), the experts' hunting queue, drafting and publishing, and verdicts."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends
from sqlalchemy.orm import Session

from huntwatch.service import Actor, publishing
from huntwatch.service.access import require_expert_on
from huntwatch.service.delivering import deliver_alert
from huntwatch.web.api.schemas import AlertOut, DraftOut, PublishIn, StoryOut, StorySummary, VerdictIn, VerdictOut
from huntwatch.web.context import AppContext, SessionDep, actor, context

router = APIRouter(tags=["stories"])


@router.get("/stories", response_model=list[StorySummary])
def list_stories(
    tenant_id: int | None = None,
    status: str | None = "open",
    limit: int = 100,
    offset: int = 0,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
) -> Any:
    return publishing.list_stories(s, who, tenant_id, status, min(max(limit, 1), 500), max(offset, 0))


@router.get("/queue", response_model=list[StorySummary])
def hunting_queue(limit: int = 100, offset: int = 0, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """Open, unpublished stories of enrolled tenants, ranked by the model; for experts."""
    return publishing.hunting_queue(s, who, min(max(limit, 1), 500), max(offset, 0))


@router.get("/stories/{story_id}", response_model=StoryOut)
def get_story(story_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return publishing.get_story(s, who, story_id)


@router.post("/stories/{story_id}/take", response_model=StoryOut)
def take(story_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """Take the story from the queue (assign it to yourself)."""
    return publishing.take(s, who, story_id)


@router.post("/stories/{story_id}/release", response_model=StoryOut)
def release(story_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """Give the story back to the queue."""
    return publishing.release(s, who, story_id)


@router.get("/stories/{story_id}/draft", response_model=DraftOut)
def draft(story_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    """The notification drafted from the story, for the expert to edit before publishing."""
    story = publishing.get_story(s, who, story_id)
    require_expert_on(s, who, story.tenant_id)
    return dataclasses.asdict(publishing.draft_from_story(s, story))


@router.post("/stories/{story_id}/publish", response_model=AlertOut, status_code=201)
def publish(
    story_id: int,
    body: PublishIn,
    tasks: BackgroundTasks,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Any:
    """Publish as an Endpoint Attack Notification (verdict: confirmed attack); delivery follows in the background."""
    edits = body.model_dump(exclude_none=True, exclude={"note"})
    alert = publishing.publish(s, who, story_id, edits, note=body.note)
    s.commit()
    tasks.add_task(deliver_alert, ctx.db, alert.id, box=ctx.box)
    return alert


@router.post("/stories/{story_id}/verdicts", response_model=VerdictOut, status_code=201)
def add_verdict(story_id: int, body: VerdictIn, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return publishing.record_verdict(s, who, story_id, body.verdict, body.note)


@router.get("/verdicts", response_model=list[VerdictOut])
def list_verdicts(
    tenant_id: int | None = None,
    story_id: int | None = None,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
) -> Any:
    return publishing.list_verdicts(s, who, tenant_id, story_id)
