"""Numeric features of a story (and of a lead), computed from state only so any process can score.

Every feature is documented in :data:`FEATURES` because the expert reads them back in score explanations.
Features come from the story's leads, its scope (built by ``huntwatch.stories``) and tenant-wide counts of
the same hunts, so the ranking sees what a hunter weighs: how far the kill chain got, how far it spread,
whose account, which kind of machine, when, and how rare the findings are in this tenant.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from huntwatch.hunting import tactic_rank
from huntwatch.state import Lead, Story
from huntwatch.stories.attack import tactics_in_order
from huntwatch.stories.entities import account_name, principals
from huntwatch.stories.narrative import firings, routine_window, significance
from huntwatch.stories.scope import AccountScope, DeviceScope, LeadFacts, Scope

SEVERITY_LEVEL = {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
NIGHT_HOURS = frozenset((*range(0, 6), 22, 23))  # UTC; lab and most customers keep office hours in daylight
_SERVER_NAME = re.compile(r"^(srv|app|sql|db|fs|file|bkp|backup|rds|ts|sccm|exch|mail|web|iis|sp|print|hv|esx)")
_DC_NAME = re.compile(r"^(dc|ad|pdc)[-_]?\d*$|^dc[-_]|domain.?controller")

FEATURES: dict[str, str] = {
    "prior": "transparent significance of the story (0..100, stories package)",
    "leads": "number of leads in the story",
    "hunts": "distinct hunts, rules and analytics that fired",
    "max_severity": "highest lead severity (0 informational .. 4 critical)",
    "high_leads": "leads of high or critical severity",
    "tactics": "distinct ATT&CK tactics",
    "kill_chain_span": "kill-chain distance from the earliest to the latest tactic",
    "max_tactic": "position of the most advanced tactic in the kill chain",
    "analytic_share": "share of leads from statistical analytics rather than hunts or rules",
    "hunt_rarity": "how rarely the story's rarest hunt fires in the tenant (1 = only here)",
    "hunt_commonness": "log10 of the median tenant-wide lead count of the story's hunts",
    "devices": "devices in scope",
    "accounts": "accounts in scope",
    "lateral_moves": "lateral movements in scope",
    "external_addresses": "external remote addresses in scope",
    "domain_admin": "a domain admin account is involved",
    "local_admin": "a local admin or privileged logon is involved",
    "service_account": "a service account is involved",
    "on_dc": "a domain controller is involved",
    "on_server": "a server (by name or role) is involved",
    "workstations": "workstations involved",
    "night_share": "share of leads starting at night (22:00-06:00 UTC)",
    "weekend": "activity on a Saturday or Sunday",
    "dwell_hours": "log1p of hours from first to last activity",
    "first_seen_binaries": "files seen on exactly one device of the tenant, or first-seen executable leads",
    "anomaly": "highest anomaly score of the story's anomaly leads (0 when none)",
    "evidence": "log1p of evidence events",
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)
# Features whose growth can only make an attack more likely; the model is constrained to respect that.
INCREASING = frozenset(
    ("prior", "max_severity", "high_leads", "tactics", "kill_chain_span", "lateral_moves", "domain_admin", "anomaly")
)


@dataclass
class TenantCounts:
    """Tenant-wide counts a story is compared with: how often each hunt fires (rarity) and when it fired
    about each account or device (routine, which lowers a lead's prior)."""

    hunt_leads: dict[str, int] = field(default_factory=dict)
    firings: dict[tuple[str, str], list[dt.datetime]] = field(default_factory=dict)  # (hunt, principal) -> sorted

    @classmethod
    def load(cls, session: Session, tenant_id: int, *, days: bool = True) -> TenantCounts:
        """``days=False`` skips reading every lead's entities where only stories are scored (their prior is
        stored with them)."""
        rows = session.execute(
            select(Lead.hunt_id, func.count()).where(Lead.tenant_id == tenant_id).group_by(Lead.hunt_id)
        ).all()
        history = (
            session.execute(select(Lead.hunt_id, Lead.entities, Lead.first_seen).where(Lead.tenant_id == tenant_id))
            if days
            else ()
        )
        return cls({h: int(n) for h, n in rows}, firings(tuple(r) for r in history))

    def routine_days(self, lead: Lead) -> dict[tuple[str, str], int]:
        """On how many days the lead's hunt fired about its accounts or devices, within the same window
        around the lead that a story rebuild looks at."""
        low, high = routine_window(lead.first_seen, lead.last_seen)
        out: dict[tuple[str, str], int] = {}
        for who in principals(lead.entities or {}):
            times = self.firings.get((lead.hunt_id, who), [])
            near = times[bisect.bisect_left(times, low) : bisect.bisect_right(times, high)]
            out[(lead.hunt_id, who)] = len({t.date() for t in near})
        return out


def device_role(name: str, roles: Sequence[str] = ()) -> str:
    """``dc`` | ``server`` | ``workstation``: behaviour from the story scope first, then the name."""
    host = name.lower().split(".")[0]
    if "domain controller" in roles or _DC_NAME.search(host):
        return "dc"
    if _SERVER_NAME.match(host):
        return "server"
    return "workstation"


def _tactic_ranks(tactics: Sequence[str]) -> list[int]:
    ranks = []
    for t in tactics:
        try:
            ranks.append(tactic_rank(t))
        except (ValueError, KeyError):
            continue
    return ranks


def _lead_anomaly(lead: Lead) -> float:
    if lead.source != "anomaly":
        return 0.0
    try:
        return float((lead.details or {}).get("anomaly_score", 0.0))
    except (TypeError, ValueError):
        return 0.0


def lead_story(lead: Lead, counts: TenantCounts) -> Story:
    """A lead taken alone as a one-lead story (unsaved): scope from its own entities, prior from the stories
    package's significance. Lets training learn from leads, and a lead queue be scored like stories."""
    entities = {k: [str(v) for v in vs] for k, vs in (lead.entities or {}).items()}
    first, last = lead.first_seen.isoformat(), lead.last_seen.isoformat()
    devices = entities.get("device", [])
    scope = Scope(
        devices=[DeviceScope(d, first, last, 1, []) for d in devices],
        accounts=[AccountScope(account_name(a), "", devices, [], []) for a in entities.get("account", [])],
        files=[],
        remote_addresses=[],
        domains=[],
        lateral_movement=[],
        first_activity=first,
        last_activity=last,
        dwell_seconds=max((lead.last_seen - lead.first_seen).total_seconds(), 0.0),
        tactics=tactics_in_order([(lead.tactics or [], lead.techniques or [])]),
    )
    facts = LeadFacts(
        lead.id,
        lead.title,
        lead.severity,
        lead.first_seen,
        lead.last_seen,
        list(lead.tactics or []),
        list(lead.techniques or []),
        entities,
        lead.hunt_id,
    )
    prior = significance(scope, [facts], counts.hunt_leads, counts.routine_days(lead))
    return Story(
        tenant_id=lead.tenant_id,
        title=lead.title,
        significance=prior["score"],
        scope=scope.to_dict(),
        first_seen=lead.first_seen,
        last_seen=lead.last_seen,
    )


def lead_features(lead: Lead, counts: TenantCounts) -> dict[str, float]:
    """The story features of a lead taken alone (see :func:`lead_story`)."""
    return story_features(lead_story(lead, counts), [lead], counts)


def story_features(story: Story, leads: Sequence[Lead], counts: TenantCounts) -> dict[str, float]:
    """Features of one story from its leads and scope; missing scope parts count as absent, never guessed."""
    scope: Mapping[str, Any] = story.scope or {}
    if not leads:
        return dict.fromkeys(FEATURE_NAMES, 0.0) | {"prior": float(story.significance or 0.0), "max_tactic": -1.0}
    tactics = sorted({t for lead in leads for t in (lead.tactics or [])})
    ranks = _tactic_ranks(tactics)
    hunt_ns = sorted(counts.hunt_leads.get(lead.hunt_id, 1) for lead in leads)
    devices = scope.get("devices") or [
        {"name": d, "roles": []} for lead in leads for d in (lead.entities or {}).get("device", [])
    ]
    roles = {device_role(str(d.get("name", "")), d.get("roles") or []) for d in devices}
    device_roles = [device_role(str(d.get("name", "")), d.get("roles") or []) for d in devices]
    privileges = {p for a in scope.get("accounts") or [] for p in a.get("privileges") or []}
    accounts = scope.get("accounts")
    n_accounts = (
        len(accounts)
        if accounts is not None
        else len({a for x in leads for a in (x.entities or {}).get("account", [])})
    )
    first = min(lead.first_seen for lead in leads)
    last = max(lead.last_seen for lead in leads)
    days = {(first + dt.timedelta(days=i)).weekday() for i in range((last.date() - first.date()).days + 1)}
    rare_files = sum(1 for f in scope.get("files") or [] if int(f.get("prevalence", 0) or 0) == 1)
    first_seen_leads = sum(1 for lead in leads if "first-seen" in lead.hunt_id)
    evidence = sum(int((lead.details or {}).get("evidence_count", len(lead.evidence or []))) for lead in leads)
    return {
        "prior": float(story.significance or 0.0),
        "leads": float(len(leads)),
        "hunts": float(len({lead.hunt_id for lead in leads})),
        "max_severity": float(max(SEVERITY_LEVEL.get(lead.severity, 0) for lead in leads)),
        "high_leads": float(sum(SEVERITY_LEVEL.get(lead.severity, 0) >= 3 for lead in leads)),
        "tactics": float(len(tactics)),
        "kill_chain_span": float(max(ranks) - min(ranks)) if ranks else 0.0,
        "max_tactic": float(max(ranks)) if ranks else -1.0,
        "analytic_share": sum(lead.source in ("analytic", "anomaly") for lead in leads) / len(leads),
        "hunt_rarity": 1.0 / max(hunt_ns[0], 1),
        "hunt_commonness": math.log10(max(hunt_ns[len(hunt_ns) // 2], 1)),
        "devices": float(len(devices)),
        "accounts": float(n_accounts),
        "lateral_moves": float(len(scope.get("lateral_movement") or [])),
        "external_addresses": float(sum(1 for r in scope.get("remote_addresses") or [] if not r.get("internal"))),
        "domain_admin": float("domain admin" in privileges),
        "local_admin": float(bool(privileges & {"local admin", "privileged logon"})),
        "service_account": float("service account" in privileges),
        "on_dc": float("dc" in roles),
        "on_server": float("server" in roles),
        "workstations": float(device_roles.count("workstation")),
        "night_share": sum(lead.first_seen.hour in NIGHT_HOURS for lead in leads) / len(leads),
        "weekend": float(bool(days & {5, 6})),
        "dwell_hours": math.log1p(max((last - first).total_seconds(), 0) / 3600),
        "first_seen_binaries": float(rare_files + first_seen_leads),
        "anomaly": max(_lead_anomaly(lead) for lead in leads),
        "evidence": math.log1p(evidence),
    }


def tenant_story_features(
    session: Session, tenant_id: int, story_ids: Sequence[int] | None = None
) -> dict[int, dict[str, float]]:
    """Features of a tenant's open and closed (not merged) stories, by story id."""
    counts = TenantCounts.load(session, tenant_id, days=False)
    q = select(Story).where(Story.tenant_id == tenant_id, Story.status != "merged")
    if story_ids is not None:
        q = q.where(Story.id.in_(list(story_ids)))
    stories = list(s for s in session.scalars(q.order_by(Story.id)))
    leads: dict[int, list[Lead]] = {s.id: [] for s in stories}
    if stories:
        for lead in session.scalars(select(Lead).where(Lead.story_id.in_(list(leads))).order_by(Lead.id)):
            leads[lead.story_id].append(lead)  # type: ignore[index]
    return {s.id: story_features(s, leads[s.id], counts) for s in stories}
