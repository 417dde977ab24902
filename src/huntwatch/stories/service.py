"""Stories in the state database: correlate a tenant's leads, rebuild a story's facts, merge and split.

The only module of the package that touches the database; the correlation core, the lake lookups and the
scope builder stay pure so they can be tested and benchmarked on their own. Every change of membership is
written as a ``StoryEvent`` (who, when, what), so an expert's merges and splits are never lost.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from huntwatch.lake import DuckDBEngine
from huntwatch.state import Database, Lead, Story, StoryEvent, StoryLead, Tenant
from huntwatch.stories.correlation import LateralEdge, LeadNode, correlate_leads
from huntwatch.stories.entities import account_name, device_key, is_hash, lead_keys
from huntwatch.stories.lateral import DeviceDirectory, find_lateral_edges
from huntwatch.stories.narrative import queries, routine_days, routine_window, significance, summary, title
from huntwatch.stories.scope import LeadFacts, address_prevalence, build_scope, file_prevalence
from huntwatch.stories.timeline import fetch_events, load_forest, process_trees

DEFAULT_WINDOW = dt.timedelta(hours=24)
TREE_MARGIN = dt.timedelta(hours=2)
MAX_CONTEXT_EVENTS = 300


class StoryError(ValueError):
    """A request about stories that cannot be done: unknown tenant or story, bad merge or split."""


@dataclass
class CorrelationReport:
    tenant: str
    leads_considered: int = 0
    new_leads: int = 0
    stories_created: list[int] = field(default_factory=list)
    stories_extended: list[int] = field(default_factory=list)
    bridges: list[dict[str, Any]] = field(default_factory=list)
    lateral_edges: int = 0
    common_entities: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tenant(s: Session, slug: str) -> Tenant:
    tenant = s.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise StoryError(f"no tenant {slug!r}")
    return tenant


def _node(lead: Lead, directory: DeviceDirectory) -> LeadNode:
    entities = lead.entities or {}
    return LeadNode(
        lead.id, lead.first_seen, lead.last_seen, entities, lead.story_id, sources=directory.sources(entities)
    )


def correlate(
    engine: DuckDBEngine,
    db: Database,
    tenant_slug: str,
    *,
    window: dt.timedelta = DEFAULT_WINDOW,
    common_fraction: float = 0.5,
    common_min_devices: int = 5,
    actor: str = "system",
) -> CorrelationReport:
    """Put every lead of the tenant that is in no story yet into a new or open story; rerunning adds nothing."""
    started = time.perf_counter()
    report = CorrelationReport(tenant=tenant_slug)
    with db.session() as s:
        tenant = _tenant(s, tenant_slug)
        open_ids = select(Story.id).where(Story.tenant_id == tenant.id, Story.status == "open")
        leads = list(
            s.scalars(
                select(Lead)
                .where(Lead.tenant_id == tenant.id, (Lead.story_id.is_(None)) | (Lead.story_id.in_(open_ids)))
                .order_by(Lead.id)
            )
        )
        new = [lead for lead in leads if lead.story_id is None]
        report.leads_considered, report.new_leads = len(leads), len(new)
        if not new:
            report.seconds = round(time.perf_counter() - started, 3)
            return report
        start = min(lead.first_seen for lead in new) - window
        end = max(lead.last_seen for lead in new) + window
        con = engine.connect(tenant_slug)  # one view of the lake for devices, edges and prevalence
        try:
            directory = DeviceDirectory.load(con)
            edges = find_lateral_edges(con, directory, start, end)
            nodes = [_node(lead, directory) for lead in leads]
            seen_on = _seen_on(con, nodes)
        finally:
            con.close()
        result = correlate_leads(
            nodes,
            edges,
            seen_on=seen_on,
            window=window,
            common_fraction=common_fraction,
            common_min_devices=common_min_devices,
        )
        report.lateral_edges, report.common_entities = result.edges_admitted, result.common
        by_id = {lead.id: lead for lead in leads}
        touched: list[Story] = []
        for group in result.groups:
            if group.story_id is None:
                story = Story(
                    tenant_id=tenant.id,
                    title=by_id[group.lead_ids[0]].title[:300],
                    first_seen=group.first_seen,
                    last_seen=group.last_seen,
                )
                s.add(story)
                s.flush()
                report.stories_created.append(story.id)
                action = "created"
            else:
                story = s.get_one(Story, group.story_id)
                report.stories_extended.append(story.id)
                action = "extended"
            for lead_id in group.lead_ids:
                by_id[lead_id].story_id = story.id
                s.add(StoryLead(story_id=story.id, lead_id=lead_id, reason=group.reasons[lead_id]))
            s.add(
                StoryEvent(
                    story_id=story.id,
                    actor=actor,
                    action=action,
                    detail={"leads": group.lead_ids, "lateral_edges": [e.to_dict() for e in group.edges]},
                )
            )
            touched.append(story)
        for b in result.bridges:
            detail = {"lead": b.lead_id, "other_story": b.other_story_id, "entity": b.entity, "value": b.value}
            report.bridges.append(detail)
            if b.joined_story_id is not None:
                s.add(StoryEvent(story_id=b.joined_story_id, actor=actor, action="merge_suggested", detail=detail))
        s.flush()
        for story in touched:
            _rebuild(engine, s, story, tenant_slug, window)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _seen_on(con: duckdb.DuckDBPyConnection, nodes: list[LeadNode]) -> dict[str, int]:
    """Join key → devices of the tenant whose telemetry shows it (remote addresses, URLs, file hashes, paths).

    Leads see a cloud service's address on the few devices an analytic flagged; the lake knows half the
    organisation talks to it, so it must not join those devices into one story.
    """
    wanted: dict[str, set[str]] = {"remote_ip": set(), "remote_url": set(), "file": set()}
    for node in nodes:
        for k in lead_keys(node.entities):
            if k.kind in wanted:
                wanted[k.kind].add(k.key.split(":", 1)[1])
    if not any(wanted.values()):
        return {}
    counts = address_prevalence(con, sorted(wanted["remote_ip"]), sorted(wanted["remote_url"]))
    hashes = sorted(filter(is_hash, wanted["file"]))
    counts |= file_prevalence(con, hashes, sorted(wanted["file"].difference(hashes)))
    return {f"{kind}:{v}": counts[v] for kind, values in wanted.items() for v in values if v in counts}


def _evidence_keys(leads: list[Lead]) -> dict[str, list[int]]:
    keys: dict[str, list[int]] = {}
    for lead in leads:
        for item in lead.evidence or []:
            k = item.get("key") if isinstance(item, dict) else item
            if k:
                keys.setdefault(str(k), []).append(lead.id)
    return keys


def _facts(lead: Lead) -> LeadFacts:
    return LeadFacts(
        id=lead.id,
        title=lead.title,
        severity=lead.severity,
        first_seen=lead.first_seen,
        last_seen=lead.last_seen,
        tactics=list(lead.tactics or []),
        techniques=list(lead.techniques or []),
        entities={k: [str(v) for v in vs] for k, vs in (lead.entities or {}).items()},
        hunt_id=lead.hunt_id,
    )


def _rebuild(engine: DuckDBEngine, s: Session, story: Story, tenant_slug: str, window: dt.timedelta) -> None:
    """Recompute a story's timeline, trees, scope, summary, queries and significance from its leads."""
    leads = list(s.scalars(select(Lead).where(Lead.story_id == story.id).order_by(Lead.id)))
    if not leads:
        return
    facts = [_facts(lead) for lead in leads]
    first = min(lead.first_seen for lead in leads)
    last = max(lead.last_seen for lead in leads)
    con = engine.connect(tenant_slug)
    try:
        events = fetch_events(con, _evidence_keys(leads))
        devices = sorted({e.device for e in events} | {d.lower() for f in facts for d in f.entities.get("device", [])})
        lo = min([first, *(e.time for e in events)]) - TREE_MARGIN
        hi = max([last, *(e.time for e in events)]) + TREE_MARGIN
        forest = load_forest(con, devices, lo, hi)
        trees, context, event_proc = process_trees(forest, events)
        directory = DeviceDirectory.load(con)
        accounts = {account_name(a) for f in facts for a in f.entities.get("account", [])}
        accounts |= {account_name(e.account) for e in events if e.account}
        story_devices = {device_key(d) for d in devices}
        edges: list[LateralEdge] = [
            e
            for e in find_lateral_edges(con, directory, lo - window, hi + window)
            if account_name(e.account) in accounts
            and (device_key(e.src_device) in story_devices or device_key(e.dst_device) in story_devices)
        ]
        scope = build_scope(con, facts, events, forest, event_proc, edges, directory)
    finally:
        con.close()
    hunts = {f.hunt_id for f in facts}
    counts = dict(
        s.execute(
            select(Lead.hunt_id, func.count())
            .where(Lead.tenant_id == story.tenant_id, Lead.hunt_id.in_(hunts))
            .group_by(Lead.hunt_id)
        ).all()
    )
    history = s.execute(
        select(Lead.hunt_id, Lead.entities, Lead.first_seen).where(
            Lead.tenant_id == story.tenant_id,
            Lead.hunt_id.in_(hunts),
            Lead.first_seen.between(*routine_window(first, last)),
        )
    ).all()
    sig = significance(scope, facts, counts, routine_days(tuple(r) for r in history))
    timeline = sorted([*events, *context[:MAX_CONTEXT_EVENTS]], key=lambda e: (e.time, not e.key, e.event_key))
    story.scope = {**scope.to_dict(), "significance": sig}
    story.significance = sig["score"]
    story.timeline = [e.to_dict() for e in timeline]
    story.process_trees = trees
    story.summary = summary(scope, facts)
    story.queries = queries(scope, events)
    story.title = title(scope, facts)
    story.first_seen = dt.datetime.fromisoformat(scope.first_activity)
    story.last_seen = dt.datetime.fromisoformat(scope.last_activity)


def rebuild(engine: DuckDBEngine, db: Database, story_id: int, *, window: dt.timedelta = DEFAULT_WINDOW) -> None:
    """Rebuild one story's facts, e.g. after more telemetry arrived for its devices."""
    with db.session() as s:
        story = s.get(Story, story_id)
        if story is None:
            raise StoryError(f"no story {story_id}")
        slug = s.get_one(Tenant, story.tenant_id).slug
        _rebuild(engine, s, story, slug, window)


def merge(
    engine: DuckDBEngine, db: Database, story_ids: list[int], actor: str, *, window: dt.timedelta = DEFAULT_WINDOW
) -> int:
    """Merge stories into the oldest one; the others are kept with status ``merged`` and a pointer."""
    ids = sorted(set(story_ids))
    if len(ids) < 2:
        raise StoryError("merge needs at least two stories")
    with db.session() as s:
        stories = [s.get(Story, i) for i in ids]
        if any(st is None for st in stories):
            raise StoryError(f"unknown story among {ids}")
        if len({st.tenant_id for st in stories}) != 1:  # type: ignore[union-attr]
            raise StoryError("stories of different tenants cannot be merged")
        if any(st.status != "open" for st in stories):  # type: ignore[union-attr]
            raise StoryError("only open stories can be merged")
        target, others = stories[0], stories[1:]
        assert target is not None
        for other in others:
            assert other is not None
            moved = []
            for link in list(other.links):
                s.add(
                    StoryLead(
                        story_id=target.id,
                        lead_id=link.lead_id,
                        reason={"entity": "merge", "value": f"merged from story {other.id} by {actor}", **link.reason},
                    )
                )
                s.get_one(Lead, link.lead_id).story_id = target.id
                moved.append(link.lead_id)
                s.delete(link)
            other.status = "merged"
            other.merged_into_id = target.id
            s.add(StoryEvent(story_id=other.id, actor=actor, action="merged_into", detail={"into": target.id}))
            s.add(
                StoryEvent(story_id=target.id, actor=actor, action="merged", detail={"from": other.id, "leads": moved})
            )
        s.flush()
        _rebuild(engine, s, target, s.get_one(Tenant, target.tenant_id).slug, window)
        return target.id


def split(
    engine: DuckDBEngine,
    db: Database,
    story_id: int,
    lead_ids: list[int],
    actor: str,
    *,
    window: dt.timedelta = DEFAULT_WINDOW,
) -> int:
    """Move some leads of a story into a new story; both keep a history entry naming the other."""
    with db.session() as s:
        story = s.get(Story, story_id)
        if story is None:
            raise StoryError(f"no story {story_id}")
        links = {link.lead_id: link for link in story.links}
        wanted = sorted(set(lead_ids))
        if not wanted or set(wanted) - set(links):
            raise StoryError(f"leads {sorted(set(wanted) - set(links))} are not in story {story_id}")
        if len(wanted) == len(links):
            raise StoryError("a split must leave at least one lead in the story")
        leads = [s.get_one(Lead, i) for i in wanted]
        new = Story(
            tenant_id=story.tenant_id,
            title=leads[0].title[:300],
            first_seen=min(lead.first_seen for lead in leads),
            last_seen=max(lead.last_seen for lead in leads),
        )
        s.add(new)
        s.flush()
        for lead in leads:
            old = links[lead.id]
            s.add(
                StoryLead(
                    story_id=new.id,
                    lead_id=lead.id,
                    reason={
                        "entity": "split",
                        "value": f"split from story {story_id} by {actor}",
                        "previous": old.reason,
                    },
                )
            )
            lead.story_id = new.id
            s.delete(old)
        s.add(StoryEvent(story_id=story.id, actor=actor, action="split", detail={"leads": wanted, "into": new.id}))
        s.add(StoryEvent(story_id=new.id, actor=actor, action="split_from", detail={"leads": wanted, "from": story_id}))
        s.flush()
        s.expire(story, ["links"])
        slug = s.get_one(Tenant, story.tenant_id).slug
        _rebuild(engine, s, story, slug, window)
        _rebuild(engine, s, new, slug, window)
        return new.id


def list_stories(db: Database, tenant_slug: str) -> list[dict[str, Any]]:
    """The tenant's stories, ranked ones first by significance, then the unranked, then merged ones."""
    with db.session() as s:
        tenant = _tenant(s, tenant_slug)
        counts = dict(
            s.execute(
                select(StoryLead.story_id, func.count())
                .join(Story, Story.id == StoryLead.story_id)
                .where(Story.tenant_id == tenant.id)
                .group_by(StoryLead.story_id)
            ).all()
        )
        rows = []
        for st in s.scalars(select(Story).where(Story.tenant_id == tenant.id)):
            sig = (st.scope or {}).get("significance", {})
            rows.append(
                {
                    "id": st.id,
                    "title": st.title,
                    "status": st.status,
                    "significance": st.significance,
                    "ranked": bool(sig.get("ranked")),
                    "score": st.score,
                    "leads": counts.get(st.id, 0),
                    "devices": len((st.scope or {}).get("devices", [])),
                    "accounts": len((st.scope or {}).get("accounts", [])),
                    "first_seen": st.first_seen.isoformat(),
                    "last_seen": st.last_seen.isoformat(),
                }
            )
    rows.sort(key=lambda r: (r["status"] != "open", not r["ranked"], -r["significance"], r["id"]))
    return rows


def story_document(db: Database, story_id: int) -> dict[str, Any]:
    """Everything about one story as plain JSON (the shape ``docs/story.schema.json`` publishes)."""
    with db.session() as s:
        st = s.get(Story, story_id)
        if st is None:
            raise StoryError(f"no story {story_id}")
        tenant = s.get_one(Tenant, st.tenant_id)
        reasons = {link.lead_id: link.reason for link in st.links}
        leads = list(s.scalars(select(Lead).where(Lead.id.in_(reasons)).order_by(Lead.first_seen, Lead.id)))
        history = list(s.scalars(select(StoryEvent).where(StoryEvent.story_id == st.id).order_by(StoryEvent.id)))
        return {
            "id": st.id,
            "tenant": tenant.slug,
            "title": st.title,
            "status": st.status,
            "merged_into": st.merged_into_id,
            "significance": st.significance,
            "score": st.score,
            "first_seen": st.first_seen.isoformat(),
            "last_seen": st.last_seen.isoformat(),
            "summary": st.summary,
            "scope": st.scope or {},
            "timeline": st.timeline or [],
            "process_trees": st.process_trees or [],
            "queries": st.queries or [],
            "leads": [
                {
                    "id": lead.id,
                    "hunt_id": lead.hunt_id,
                    "title": lead.title,
                    "severity": lead.severity,
                    "first_seen": lead.first_seen.isoformat(),
                    "last_seen": lead.last_seen.isoformat(),
                    "reason": reasons[lead.id],
                }
                for lead in leads
            ],
            "history": [
                {"at": h.at.isoformat(), "actor": h.actor, "action": h.action, "detail": h.detail} for h in history
            ],
        }
