"""From a story in the hunting queue to an Endpoint Attack Notification in the tenant's alert queue.

An expert takes a story (ranked by the model's score, then the transparent significance), edits the draft,
and publishes: that creates the alert and stores the expert's verdict as a label for the model. A tenant's
policy may let the service publish on its own above a model score; those carry no verdict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from huntwatch.service.access import (
    Actor,
    require_expert_on,
    require_provider,
    require_read,
    require_tenant_role,
    visible_tenant_ids,
)
from huntwatch.service.audit import record
from huntwatch.service.enrollment import notifications_on
from huntwatch.service.errors import Conflict, InvalidInput, NotFound
from huntwatch.service.scope import method_of_entry as scope_entry
from huntwatch.service.scope import names as scope_names
from huntwatch.state import Alert, Lead, Story, StoryEvent, StoryLead, Tenant, TenantPolicy, Verdict, utcnow

TAG = "Endpoint Attack Notification"
SOURCE = "Huntwatch Experts"
VERDICTS = ("confirmed_attack", "benign_true_positive", "false_positive")
SEVERITIES = ("informational", "low", "medium", "high", "critical")
MAX_EVIDENCE = 500


@dataclass(frozen=True)
class NotificationDraft:
    """What the expert edits before publishing; drafted from the story, every field may be overridden."""

    title: str
    severity: str
    executive_summary: str
    method_of_entry: str
    scope: dict[str, Any] = field(default_factory=dict)
    recommendations: list[str] = field(default_factory=list)
    tactics: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)


def list_stories(
    s: Session,
    actor: Actor,
    tenant_id: int | None = None,
    status: str | None = "open",
    limit: int = 100,
    offset: int = 0,
    *,
    unpublished: bool = False,
) -> list[Story]:
    """Stories ranked as the hunting queue shows them: model score, then significance, then recency."""
    q = select(Story)
    if tenant_id is not None:
        require_read(s, actor, tenant_id)
        q = q.where(Story.tenant_id == tenant_id)
    else:
        visible = visible_tenant_ids(s, actor)
        if visible is not None:
            q = q.where(Story.tenant_id.in_(visible))
    if status:
        q = q.where(Story.status == status)
    if unpublished:
        q = q.where(~select(Alert.id).where(Alert.story_id == Story.id, Alert.is_sample.is_(False)).exists())
    q = q.order_by(Story.score.desc().nulls_last(), Story.significance.desc(), Story.last_seen.desc(), Story.id)
    return list(s.scalars(q.offset(offset).limit(limit)))


def hunting_queue(s: Session, actor: Actor, limit: int = 100, offset: int = 0) -> list[Story]:
    """Open stories of enrolled tenants not yet published, for experts."""
    require_provider(actor, ("expert", "provider_admin"))
    return list_stories(s, actor, status="open", limit=limit, offset=offset, unpublished=True)


def get_story(s: Session, actor: Actor, story_id: int) -> Story:
    story = s.get(Story, story_id)
    if story is None:
        raise NotFound("no such story")
    require_read(s, actor, story.tenant_id)
    return story


def take(s: Session, actor: Actor, story_id: int) -> Story:
    """An expert takes a story from the queue, so two experts do not work the same one unknowingly."""
    story = get_story(s, actor, story_id)
    require_expert_on(s, actor, story.tenant_id)
    if story.assigned_to not in (None, actor.label):
        raise Conflict(f"already taken by {story.assigned_to}")
    if story.assigned_to is None:
        story.assigned_to, story.assigned_at = actor.label, utcnow()
        s.add(StoryEvent(story_id=story.id, actor=actor.label, action="taken", detail={}))
        record(s, actor, "story.take", "story", story.id, story.tenant_id)
    return story


def release(s: Session, actor: Actor, story_id: int) -> Story:
    """Give a story back to the queue; only its expert or a provider admin may."""
    story = get_story(s, actor, story_id)
    require_expert_on(s, actor, story.tenant_id)
    if story.assigned_to not in (None, actor.label) and not actor.is_provider_admin:
        raise Conflict(f"taken by {story.assigned_to}")
    if story.assigned_to is not None:
        s.add(StoryEvent(story_id=story.id, actor=actor.label, action="released", detail={"from": story.assigned_to}))
        record(s, actor, "story.release", "story", story.id, story.tenant_id, previous=story.assigned_to)
        story.assigned_to, story.assigned_at = None, None
    return story


def story_leads(s: Session, story: Story) -> list[Lead]:
    q = select(Lead).join(StoryLead, StoryLead.lead_id == Lead.id).where(StoryLead.story_id == story.id)
    return list(s.scalars(q.order_by(Lead.first_seen)))


def _recommendations(scope: dict[str, Any]) -> list[str]:
    recs = []
    if devices := scope_names(scope, "devices"):
        recs.append("Isolate the affected devices and collect an investigation package from each: " + _few(devices))
    if accounts := scope_names(scope, "accounts"):
        recs.append(
            "Reset the credentials of the affected accounts and review their recent sign-ins: " + _few(accounts)
        )
    if files := scope_names(scope, "files"):
        recs.append("Block and remove the malicious files, and search for them across the estate: " + _few(files))
    if scope_names(scope, "remote_addresses"):
        recs.append("Block the remote addresses at the perimeter and review other traffic to them.")
    recs.append("Run the attached hunting queries to confirm the scope before remediating.")
    return recs


def _few(values: list[str], n: int = 5) -> str:
    more = len(values) - n
    return ", ".join(values[:n]) + (f" and {more} more" if more > 0 else "")


def draft_from_story(s: Session, story: Story) -> NotificationDraft:
    """The notification as drafted from the story's leads, for the expert to edit."""
    leads = story_leads(s, story)
    severity = max((ld.severity for ld in leads if ld.severity in SEVERITIES), key=SEVERITIES.index, default="medium")
    tactics = sorted({t for ld in leads for t in ld.tactics})
    techniques = sorted({t for ld in leads for t in ld.techniques})
    scope = dict(story.scope or {})
    entry = next((ld for ld in leads if "Initial Access" in ld.tactics or "Lateral Movement" in ld.tactics), None)
    first = leads[0] if leads else None
    method = (
        scope_entry(scope)
        or (f"{entry.title} (first seen {entry.first_seen:%Y-%m-%d %H:%M} UTC)" if entry else "")
        or (f"Earliest observed activity: {first.title} at {first.first_seen:%Y-%m-%d %H:%M} UTC" if first else "")
        or "Not determined yet."
    )
    return NotificationDraft(
        title=story.title,
        severity=severity,
        executive_summary=story.summary or story.title,
        method_of_entry=method,
        scope=scope,
        recommendations=_recommendations(scope),
        tactics=tactics,
        techniques=techniques,
    )


def _evidence(leads: list[Lead]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for lead in leads:
        for ev in lead.evidence:
            out.append({"lead_id": lead.id, "hunt_id": lead.hunt_id, "title": lead.title, **ev})
            if len(out) >= MAX_EVIDENCE:
                return out
    return out


def _create_alert(s: Session, story: Story, draft: NotificationDraft, by: str) -> Alert:
    if draft.severity not in SEVERITIES:
        raise InvalidInput(f"severity must be one of {', '.join(SEVERITIES)}")
    if not draft.title.strip():
        raise InvalidInput("a notification needs a title")
    leads = story_leads(s, story)
    alert = Alert(
        tenant_id=story.tenant_id,
        story_id=story.id,
        title=draft.title.strip(),
        tag=TAG,
        source=SOURCE,
        severity=draft.severity,
        tactics=list(draft.tactics),
        techniques=list(draft.techniques),
        scope=dict(draft.scope),
        timeline=list(story.timeline),
        queries=list(story.queries),
        evidence=_evidence(leads),
        executive_summary=draft.executive_summary,
        method_of_entry=draft.method_of_entry,
        recommendations=list(draft.recommendations),
        first_activity=story.first_seen,
        last_activity=story.last_seen,
        published_by=by,
    )
    s.add(alert)
    s.flush()
    s.add(StoryEvent(story_id=story.id, actor=by, action="published", detail={"alert_id": alert.id}))
    return alert


def _already_published(s: Session, story_id: int) -> bool:
    q = select(Alert.id).where(Alert.story_id == story_id, Alert.is_sample.is_(False)).limit(1)
    return s.scalar(q) is not None


def publish(
    s: Session,
    actor: Actor,
    story_id: int,
    edits: dict[str, Any] | None = None,
    verdict: str = "confirmed_attack",
    note: str = "",
) -> Alert:
    """Publish a story as a notification, with the expert's ``edits`` over the draft, and store the verdict.

    Only tenants whose enrollment is accepted and switched on receive notifications.
    """
    story = get_story(s, actor, story_id)
    require_expert_on(s, actor, story.tenant_id)
    if verdict != "confirmed_attack":
        raise InvalidInput("only a confirmed attack is published; record other verdicts without publishing")
    if not notifications_on(s, story.tenant_id):
        raise Conflict("the tenant is not enrolled in notifications, or has switched them off")
    if _already_published(s, story.id):
        raise Conflict("this story is already published")
    draft = draft_from_story(s, story)
    unknown = set(edits or {}) - set(NotificationDraft.__dataclass_fields__)
    if unknown:
        raise InvalidInput("unknown fields: " + ", ".join(sorted(unknown)))
    draft = replace(draft, **(edits or {}))
    alert = _create_alert(s, story, draft, actor.label)
    s.add(Verdict(story_id=story.id, tenant_id=story.tenant_id, verdict=verdict, note=note, actor=actor.label))
    record(s, actor, "notification.publish", "alert", alert.id, story.tenant_id, story_id=story.id, title=alert.title)
    return alert


def record_verdict(s: Session, actor: Actor, story_id: int, verdict: str, note: str = "") -> Verdict:
    """An expert's judgement without publishing (benign true positive, false positive, or confirmed later)."""
    if verdict not in VERDICTS:
        raise InvalidInput(f"verdict must be one of {', '.join(VERDICTS)}")
    story = get_story(s, actor, story_id)
    require_expert_on(s, actor, story.tenant_id)
    row = Verdict(story_id=story.id, tenant_id=story.tenant_id, verdict=verdict, note=note, actor=actor.label)
    s.add(row)
    s.flush()
    s.add(StoryEvent(story_id=story.id, actor=actor.label, action="verdict", detail={"verdict": verdict}))
    record(s, actor, "verdict.record", "story", story.id, story.tenant_id, verdict=verdict)
    return row


def list_verdicts(s: Session, actor: Actor, tenant_id: int | None = None, story_id: int | None = None) -> list[Verdict]:
    q = select(Verdict).order_by(Verdict.id.desc())
    if story_id is not None:
        story = get_story(s, actor, story_id)
        q = q.where(Verdict.story_id == story.id)
    if tenant_id is not None:
        require_read(s, actor, tenant_id)
        q = q.where(Verdict.tenant_id == tenant_id)
    else:
        visible = visible_tenant_ids(s, actor)
        if visible is not None:
            q = q.where(Verdict.tenant_id.in_(visible))
    return list(s.scalars(q))


def get_policy(s: Session, actor: Actor, tenant_id: int) -> TenantPolicy:
    require_read(s, actor, tenant_id)
    return s.get(TenantPolicy, tenant_id) or TenantPolicy(tenant_id=tenant_id, auto_publish_min_score=None)


def set_policy(s: Session, actor: Actor, tenant_id: int, auto_publish_min_score: float | None) -> TenantPolicy:
    """The tenant admin decides whether the model may publish alone, and above which score (0..1)."""
    require_tenant_role(s, actor, tenant_id, "tenant_admin")
    if auto_publish_min_score is not None and not 0.0 < auto_publish_min_score <= 1.0:
        raise InvalidInput("the score threshold is in (0, 1]")
    policy = s.get(TenantPolicy, tenant_id)
    if policy is None:
        policy = TenantPolicy(tenant_id=tenant_id)
        s.add(policy)
    policy.auto_publish_min_score = auto_publish_min_score
    record(s, actor, "policy.update", "tenant", tenant_id, tenant_id, auto_publish_min_score=auto_publish_min_score)
    return policy


def auto_publish(s: Session, actor: Actor | None = None) -> list[Alert]:
    """Publish every open, unpublished story whose score clears its tenant's policy threshold."""
    actor = actor or Actor.system("auto-publish")
    alerts = []
    rows = s.execute(
        select(Story, TenantPolicy.auto_publish_min_score)
        .join(TenantPolicy, TenantPolicy.tenant_id == Story.tenant_id)
        .where(
            TenantPolicy.auto_publish_min_score.is_not(None),
            Story.status == "open",
            Story.score.is_not(None),
            Story.score >= TenantPolicy.auto_publish_min_score,
        )
        .order_by(Story.id)
    ).all()
    for story, threshold in rows:
        if not notifications_on(s, story.tenant_id) or _already_published(s, story.id):
            continue
        alert = _create_alert(s, story, draft_from_story(s, story), actor.label)
        record(s, actor, "notification.auto_publish", "alert", alert.id, story.tenant_id, story_id=story.id,
               score=story.score, threshold=threshold)  # fmt: skip
        alerts.append(alert)
    return alerts


def generate_sample(s: Session, actor: Actor, tenant_id: int) -> Alert:
    """A clearly marked sample notification so a customer can test mail rules, SIEM and playbooks."""
    require_tenant_role(s, actor, tenant_id, "tenant_admin")
    tenant = s.get(Tenant, tenant_id)
    assert tenant is not None
    now = utcnow()
    alert = Alert(
        tenant_id=tenant_id,
        title="[SAMPLE] Hands-on-keyboard activity: credential theft followed by lateral movement",
        tag=TAG,
        source=SOURCE,
        severity="high",
        tactics=["Credential Access", "Lateral Movement"],
        techniques=["T1003.001", "T1021.002"],
        scope={"devices": ["sample-ws01.example.test"], "accounts": ["EXAMPLE\\sample.user"], "files": []},
        timeline=[
            {"time": (now - dt.timedelta(minutes=30)).isoformat(), "title": "LSASS memory read (sample)"},
            {"time": (now - dt.timedelta(minutes=10)).isoformat(), "title": "Remote service created (sample)"},
        ],
        queries=[],
        evidence=[],
        executive_summary="This is a sample notification generated on request. No attack took place.",
        method_of_entry="Sample only.",
        recommendations=["Check that this sample reached your mail rules, SIEM and playbooks."],
        first_activity=now - dt.timedelta(minutes=30),
        last_activity=now - dt.timedelta(minutes=10),
        published_by=actor.label,
        is_sample=True,
    )
    s.add(alert)
    s.flush()
    record(s, actor, "notification.sample", "alert", alert.id, tenant_id)
    return alert
