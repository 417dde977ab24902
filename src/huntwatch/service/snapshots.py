"""What a case freezes when it is asked: the page the customer was looking at, and the expert's first look.

Telemetry ages out of the lake and stories change; a case keeps plain JSON copies, bounded in size, so the
expert reads exactly what the customer saw even months later. The first look prepares the expert's work:
root-cause chain candidates, related stories of the tenant, and how common the file or behaviour is across
*other* tenants, as anonymised counts only (never a tenant's name, device or id).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from huntwatch.lake import DuckDBEngine
from huntwatch.service import alerts, portal, publishing
from huntwatch.service.access import Actor
from huntwatch.service.errors import NotFound
from huntwatch.service.scope import names as scope_names
from huntwatch.state import Alert, Lead, Story, Tenant

MAX_ROWS = 50
SUMMARY_WINDOW = dt.timedelta(hours=24)
FILE_TABLES = ("DeviceProcessEvents", "DeviceFileEvents", "DeviceImageLoadEvents", "DeviceEvents")


def jsonable(value: Any) -> Any:
    """Plain JSON values: datetimes as ISO text, tuples as lists, anything else as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _alert_brief(a: Alert) -> dict[str, Any]:
    return {"id": a.id, "title": a.title, "severity": a.severity, "status": a.status, "created_at": a.created_at}


def _story_brief(st: Story) -> dict[str, Any]:
    return {"id": st.id, "title": st.title, "status": st.status, "significance": st.significance, "score": st.score}


def _lead_brief(ld: Lead) -> dict[str, Any]:
    return {
        "id": ld.id, "hunt_id": ld.hunt_id, "title": ld.title, "severity": ld.severity, "tactics": ld.tactics,
        "techniques": ld.techniques, "first_seen": ld.first_seen, "last_seen": ld.last_seen,
    }  # fmt: skip


def _last_day(engine: DuckDBEngine, tenant: Tenant, device: str, until: dt.datetime) -> dict[str, Any]:
    """The device's 24 hours up to its last event: events per table, top processes, destinations, logons."""
    since = until - SUMMARY_WINDOW
    con = engine.connect(tenant.slug)
    try:
        per_table = {}
        for table in ("DeviceProcessEvents", "DeviceNetworkEvents", "DeviceFileEvents", "DeviceRegistryEvents",
                      "DeviceLogonEvents"):  # fmt: skip
            n = con.execute(
                f"SELECT count(*) FROM {table} WHERE DeviceName = ? AND Timestamp > ? AND Timestamp <= ?",
                [device, since, until],
            ).fetchall()[0][0]
            per_table[table] = int(n or 0)
        processes = con.execute(
            "SELECT FileName, count(*) AS n FROM DeviceProcessEvents WHERE DeviceName = ? AND Timestamp > ? "
            "AND Timestamp <= ? GROUP BY FileName ORDER BY n DESC, FileName LIMIT 10",
            [device, since, until],
        ).fetchall()
        remotes = con.execute(
            "SELECT coalesce(RemoteUrl, RemoteIP) AS remote, count(*) AS n FROM DeviceNetworkEvents "
            "WHERE DeviceName = ? AND Timestamp > ? AND Timestamp <= ? GROUP BY remote ORDER BY n DESC, remote "
            "LIMIT 10",
            [device, since, until],
        ).fetchall()
        accounts = con.execute(
            "SELECT coalesce(AccountDomain, '') || '\\' || coalesce(AccountName, '') AS account, count(*) AS n "
            "FROM DeviceLogonEvents WHERE DeviceName = ? AND Timestamp > ? AND Timestamp <= ? "
            "GROUP BY account ORDER BY n DESC, account LIMIT 10",
            [device, since, until],
        ).fetchall()
    finally:
        con.close()
    return {
        "from": since,
        "to": until,
        "events": per_table,
        "top_processes": [{"name": r[0], "count": int(r[1])} for r in processes],
        "top_destinations": [{"remote": r[0], "count": int(r[1])} for r in remotes],
        "logons": [{"account": r[0], "count": int(r[1])} for r in accounts],
    }


def device_snapshot(s: Session, actor: Actor, engine: DuckDBEngine, tenant: Tenant, name: str) -> dict[str, Any]:
    profile = portal.device_profile(s, actor, engine, tenant.id, name)
    # The hunting tables may run a little past the raw events' last time; the summary covers both.
    until = max([profile["last_seen"], *(e["time"] for e in profile["timeline"] if e["time"] is not None)])
    return jsonable(
        {
            "kind": "device",
            "device": {
                "name": profile["name"], "first_seen": profile["first_seen"], "last_seen": profile["last_seen"],
                "events": profile["events"], "risk": {"level": profile["risk"].level,
                                                      "reasons": profile["risk"].reasons},
            },
            "logons": profile["logons"][:20],
            "alerts": [_alert_brief(a) for a in profile["alerts"][:MAX_ROWS]],
            "stories": [_story_brief(st) for st in profile["stories"][:MAX_ROWS]],
            "timeline": [
                {k: e[k] for k in ("time", "tbl", "action", "summary")} for e in profile["timeline"][:MAX_ROWS]
            ],
            "last_24h": _last_day(engine, tenant, name, until),
        }
    )  # fmt: skip


def alert_snapshot(s: Session, actor: Actor, alert_id: int, tenant_id: int) -> dict[str, Any]:
    alert = alerts.get_alert(s, actor, alert_id)
    if alert.tenant_id != tenant_id:  # provider staff see every tenant: the alert must be the case's own
        raise NotFound("no such alert in this tenant")
    story = s.get(Story, alert.story_id) if alert.story_id else None
    leads = publishing.story_leads(s, story) if story else []
    return jsonable(
        {
            "kind": "alert",
            "alert": {
                **_alert_brief(alert), "tag": alert.tag, "source": alert.source, "tactics": alert.tactics,
                "techniques": alert.techniques, "executive_summary": alert.executive_summary,
                "method_of_entry": alert.method_of_entry, "recommendations": alert.recommendations,
                "first_activity": alert.first_activity, "last_activity": alert.last_activity,
            },
            "scope": alert.scope or {},
            "evidence": (alert.evidence or [])[:200],
            "timeline": (alert.timeline or [])[:200],
            "story": {**_story_brief(story), "summary": story.summary, "first_seen": story.first_seen,
                      "last_seen": story.last_seen, "leads": [_lead_brief(ld) for ld in leads[:MAX_ROWS]]}
            if story else None,
        }
    )  # fmt: skip


def file_snapshot(s: Session, actor: Actor, engine: DuckDBEngine, tenant: Tenant, sha256: str) -> dict[str, Any]:
    info = portal.file_profile(s, actor, engine, tenant.id, sha256)
    return jsonable(
        {
            "kind": "file",
            "file": {k: info[k] for k in ("sha256", "first_seen", "last_seen", "events", "device_count",
                                          "tenant_devices")},
            "paths": info["paths"][:MAX_ROWS],
            "devices": info["devices"][:MAX_ROWS],
            "leads": [_lead_brief(ld) for ld in info["leads"][:MAX_ROWS]],
            "alerts": [_alert_brief(a) for a in info["alerts"][:MAX_ROWS]],
        }
    )  # fmt: skip


# --- the expert's first look ---------------------------------------------------------------------------------


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _stories_naming(s: Session, tenant_id: int, needles: list[str], exclude: int | None) -> list[Story]:
    """Stories of the tenant whose scope names any of ``needles`` (devices, files): coarse text match, then exact."""
    wanted = {n.lower() for n in needles if n}
    found: dict[int, Story] = {}
    for needle in wanted:
        plain = max(re.findall(r"[A-Za-z0-9._-]+", needle), key=len, default="")
        q = select(Story).where(Story.tenant_id == tenant_id, Story.merged_into_id.is_(None))
        if plain:
            q = q.where(cast(Story.scope, String).ilike(_like(plain), escape="\\"))
        for st in s.scalars(q.order_by(Story.id.desc()).limit(200)):
            named = {n.lower() for k in ("devices", "files") for n in scope_names(st.scope, k)}
            named |= {
                str(f.get("sha256", "")).lower() for f in (st.scope or {}).get("files") or [] if isinstance(f, dict)
            }
            if st.id != exclude and named & wanted:
                found[st.id] = st
    return sorted(found.values(), key=lambda st: (-(st.score or 0), -st.significance, st.id))[:20]


def _root_candidates(leads: list[Lead], root: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Where the chain may start: the story's root as correlation found it, then the earliest leads, oldest first."""
    out: list[dict[str, Any]] = []
    if root:
        how = root.get("method_of_entry") or root.get("kind") or "earliest event"
        out.append(
            {"time": root.get("time"), "device": root.get("device"), "what": root.get("description"), "why": how}
        )
    entry_tactics = {"Initial Access", "Execution", "Lateral Movement", "Persistence"}
    for ld in sorted(leads, key=lambda x: x.first_seen)[:8]:
        tactics = [t for t in ld.tactics if t in entry_tactics]
        devices = ", ".join((ld.entities or {}).get("device", [])[:3])
        why = ("; ".join(tactics) or "earliest finding") + f" ({ld.hunt_id})"
        out.append({"time": ld.first_seen, "device": devices, "what": ld.title, "why": why})
    return out[:10]


def _behaviour_prevalence(s: Session, tenant_id: int, hunt_ids: list[str]) -> list[dict[str, Any]]:
    """For each hunt that fired here: in how many other tenants it fired too, and how often (counts only)."""
    if not hunt_ids:
        return []
    rows = s.execute(
        select(Lead.hunt_id, func.count(func.distinct(Lead.tenant_id)), func.count())
        .where(Lead.hunt_id.in_(hunt_ids), Lead.tenant_id != tenant_id)
        .group_by(Lead.hunt_id)
    ).all()
    seen = {h: (int(t), int(n)) for h, t, n in rows}
    return [{"hunt_id": h, "other_tenants": seen.get(h, (0, 0))[0], "leads": seen.get(h, (0, 0))[1]}
            for h in sorted(set(hunt_ids))]  # fmt: skip


def _file_prevalence(engine: DuckDBEngine, tenant: Tenant, sha256: str) -> dict[str, int]:
    """How many other tenants and devices saw the hash: counts over every other tenant's lake, nothing else."""
    others = [t for t in engine.tenants() if t != tenant.slug]
    if not others:
        return {"other_tenants": 0, "devices": 0}
    union = " UNION ALL ".join(f"SELECT TenantId, DeviceName FROM {t} WHERE SHA256 = ?" for t in FILE_TABLES)
    table = engine.query(
        f"SELECT count(DISTINCT TenantId) AS tenants, count(DISTINCT TenantId || '/' || DeviceName) AS devices "
        f"FROM ({union})",
        others,
        params=[sha256] * len(FILE_TABLES),
    )
    row = table.to_pylist()[0]
    return {"other_tenants": int(row["tenants"] or 0), "devices": int(row["devices"] or 0)}


def _file_origin(engine: DuckDBEngine, tenant: Tenant, sha256: str) -> list[dict[str, Any]]:
    """The first processes that wrote or started the file in this tenant: where its chain may begin."""
    table = engine.query(
        "SELECT Timestamp, DeviceName, ActionType, FolderPath, InitiatingProcessFileName, "
        "InitiatingProcessCommandLine FROM ("
        "SELECT Timestamp, DeviceName, ActionType, FolderPath, InitiatingProcessFileName, InitiatingProcessCommandLine "
        "FROM DeviceFileEvents WHERE SHA256 = ? UNION ALL "
        "SELECT Timestamp, DeviceName, ActionType, FolderPath, InitiatingProcessFileName, InitiatingProcessCommandLine "
        "FROM DeviceProcessEvents WHERE SHA256 = ?) ORDER BY Timestamp LIMIT 5",
        tenant.slug,
        params=[sha256, sha256],
    )
    out = []
    for r in table.to_pylist():
        what = f"{r['ActionType'] or 'seen'} {r['FolderPath'] or ''}".strip()
        by = f"by {r['InitiatingProcessFileName'] or 'unknown process'} {r['InitiatingProcessCommandLine'] or ''}"
        out.append({"time": r["Timestamp"], "device": r["DeviceName"], "what": what, "why": by.strip()})
    return out


def _leads_for(s: Session, tenant_id: int, needle: str, limit: int = 100) -> list[Lead]:
    q = select(Lead).where(Lead.tenant_id == tenant_id, cast(Lead.entities, String).ilike(_like(needle), escape="\\"))
    wanted = needle.lower()
    rows = s.scalars(q.order_by(Lead.first_seen).limit(limit * 5))
    return [ld for ld in rows if any(wanted == str(v).lower() for vs in (ld.entities or {}).values() for v in vs)][
        :limit
    ]


def first_look(s: Session, engine: DuckDBEngine, tenant: Tenant, snapshot: dict[str, Any]) -> dict[str, Any]:
    """Prepared for the expert when the case is asked, from the snapshot and the state of the tenant."""
    kind = snapshot.get("kind")
    chain: list[dict[str, Any]] = []
    needles: list[str] = []
    story_id = None
    prevalence: dict[str, Any] = {}
    if kind == "alert":
        story_id = (snapshot.get("story") or {}).get("id")
        story = s.get(Story, story_id) if story_id else None
        leads = publishing.story_leads(s, story) if story else []
        scope = snapshot.get("scope") or {}
        chain = _root_candidates(leads, scope.get("root") if isinstance(scope.get("root"), dict) else None)
        needles = scope_names(scope, "devices") + [f.get("sha256", "") for f in scope.get("files") or []
                                                   if isinstance(f, dict)]  # fmt: skip
        prevalence["behaviours"] = _behaviour_prevalence(s, tenant.id, [ld.hunt_id for ld in leads])
    elif kind == "device":
        name = snapshot["device"]["name"]
        leads = _leads_for(s, tenant.id, name)
        chain = _root_candidates(leads, None)
        needles = [name]
        prevalence["behaviours"] = _behaviour_prevalence(s, tenant.id, [ld.hunt_id for ld in leads])
    elif kind == "file":
        sha = snapshot["file"]["sha256"]
        leads = _leads_for(s, tenant.id, sha)
        chain = _file_origin(engine, tenant, sha) + _root_candidates(leads, None)
        needles = [sha]
        prevalence["file"] = _file_prevalence(engine, tenant, sha)
        prevalence["behaviours"] = _behaviour_prevalence(s, tenant.id, [ld.hunt_id for ld in leads])
    related = _stories_naming(s, tenant.id, needles, story_id) if needles else []
    return jsonable(
        {
            "root_cause_candidates": chain,
            "related_stories": [_story_brief(st) for st in related],
            "cross_tenant": prevalence,
        }
    )
