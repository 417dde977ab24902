"""Storing lead candidates as ``Lead`` rows without duplicates, and reading them back.

A rerun over the same data must add nothing, and a rerun that sees a finding grow (new events of the
same group within the hunt's window) must extend the existing lead rather than open a second one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from huntwatch.hunting.leads import LeadCandidate
from huntwatch.state import Database, Lead, Tenant

MAX_EVIDENCE = 1000  # keys kept per lead; the count of all matching events goes into details


@dataclass
class SaveResult:
    added: int = 0
    extended: int = 0
    unchanged: int = 0


def ensure_tenant(session: Session, slug: str, name: str | None = None) -> Tenant:
    """The tenant with this slug, created when the lake has data for a tenant state does not know yet."""
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        tenant = Tenant(slug=slug, name=name or slug)
        session.add(tenant)
        session.flush()
    return tenant


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))


def save_candidates(
    session: Session,
    tenant_id: int,
    candidates: Iterable[LeadCandidate],
    *,
    gap: dt.timedelta = dt.timedelta(0),
) -> SaveResult:
    """Insert new findings; merge a candidate into a lead with the same dedup key or the same group close in time."""
    result = SaveResult()
    for cand in candidates:
        lead = session.scalar(
            select(Lead).where(
                Lead.tenant_id == tenant_id, Lead.hunt_id == cand.hunt_id, Lead.dedup_key == cand.dedup_key
            )
        )
        if lead is None and cand.group:
            nearby = session.scalars(
                select(Lead).where(
                    Lead.tenant_id == tenant_id,
                    Lead.hunt_id == cand.hunt_id,
                    Lead.first_seen <= cand.last_seen + gap,
                    Lead.last_seen >= cand.first_seen - gap,
                )
            )
            lead = next((x for x in nearby if tuple(x.details.get("group", ())) == cand.group), None)
        if lead is None:
            session.add(_new_lead(tenant_id, cand))
            result.added += 1
        elif _merge(lead, cand):
            result.extended += 1
        else:
            result.unchanged += 1
    session.flush()
    return result


def _evidence(table: str, keys: Sequence[str]) -> list[dict[str, str]]:
    return [{"table": table, "key": k} for k in keys[:MAX_EVIDENCE]]


def _new_lead(tenant_id: int, cand: LeadCandidate) -> Lead:
    details = _jsonable({**cand.details, "group": list(cand.group), "evidence_count": len(cand.evidence)})
    return Lead(
        tenant_id=tenant_id,
        hunt_id=cand.hunt_id,
        source=cand.source,
        title=cand.title[:300],
        description=cand.description,
        severity=cand.severity,
        confidence=cand.confidence,
        tactics=list(cand.tactics),
        techniques=list(cand.techniques),
        entities={k: sorted(set(v)) for k, v in cand.entities.items() if v},
        evidence=_evidence(cand.evidence_table, sorted(set(cand.evidence))),
        details=details,
        first_seen=cand.first_seen,
        last_seen=cand.last_seen,
        dedup_key=cand.dedup_key,
    )


def _merge(lead: Lead, cand: LeadCandidate) -> bool:
    """Grow a stored lead with a candidate's new events; True when anything changed."""
    known = {e["key"] for e in lead.evidence}
    fresh = sorted(set(cand.evidence) - known)
    if not fresh and lead.first_seen <= cand.first_seen and lead.last_seen >= cand.last_seen:
        return False
    room = max(0, MAX_EVIDENCE - len(lead.evidence))
    lead.evidence = [*lead.evidence, *_evidence(cand.evidence_table, fresh[:room])]
    lead.first_seen = min(lead.first_seen, cand.first_seen)
    lead.last_seen = max(lead.last_seen, cand.last_seen)
    entities = {k: set(v) for k, v in lead.entities.items()}
    for kind, values in cand.entities.items():
        entities.setdefault(kind, set()).update(values)
    lead.entities = {k: sorted(v) for k, v in entities.items() if v}
    lead.details = {**lead.details, "evidence_count": int(lead.details.get("evidence_count", 0)) + len(fresh)}
    return True


def list_leads(db: Database, tenant_slug: str, *, hunt_id: str | None = None, limit: int | None = None) -> list[Lead]:
    """Leads of one tenant, newest activity first."""
    with db.session() as s:
        q = (
            select(Lead)
            .join(Tenant, Tenant.id == Lead.tenant_id)
            .where(Tenant.slug == tenant_slug)
            .order_by(Lead.last_seen.desc(), Lead.id.desc())
        )
        if hunt_id:
            q = q.where(Lead.hunt_id == hunt_id)
        if limit:
            q = q.limit(limit)
        return list(s.scalars(q))
