"""Read models the portal pages need that no other workflow provides: devices, files, advanced hunting.

Each function checks access like the rest of the service, and every lake query is scoped to one tenant with
its values passed as parameters (device names and hashes are attacker-controlled text). User-written SQL
runs only on the sandboxed connection with a time limit and a row cap.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from huntwatch.lake import DuckDBEngine
from huntwatch.lake.engine import QueryError
from huntwatch.schema import TABLES
from huntwatch.service.access import Actor, require_provider, require_read, visible_tenant_ids
from huntwatch.service.errors import InvalidInput, NotFound
from huntwatch.state import Alert, Lead, ModelVersion, Story, Tenant

HUNT_TIMEOUT_S = 20.0
HUNT_MAX_ROWS = 1000
MAX_SQL_CHARS = 20_000
TIMELINE_PER_TABLE = 60
SEVERITY_RANK = {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

# One line per event kind on a device timeline: the table and the columns that say what happened.
_TIMELINE_SOURCES = {
    "DeviceProcessEvents": "coalesce(FileName, '') || ' ' || coalesce(ProcessCommandLine, '')",
    "DeviceNetworkEvents": "coalesce(InitiatingProcessFileName, '') || ' → ' || coalesce(RemoteUrl, RemoteIP, '')"
    " || ':' || coalesce(CAST(RemotePort AS VARCHAR), '')",
    "DeviceFileEvents": "coalesce(FolderPath, FileName, '')",
    "DeviceRegistryEvents": "coalesce(RegistryKey, '') || ' ' || coalesce(RegistryValueName, '')",
    "DeviceLogonEvents": "coalesce(AccountDomain, '') || '\\' || coalesce(AccountName, '') || ' logon type '"
    " || coalesce(CAST(LogonType AS VARCHAR), '')",
}


@dataclass(frozen=True)
class Risk:
    """How worried to be about a device, and why (the stories and alerts that name it)."""

    level: str  # none | low | medium | high
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HuntResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    seconds: float


def tenant_in_view(s: Session, actor: Actor, slug: str | None = None) -> Tenant:
    """The tenant a portal page shows: tenant staff get their own; provider staff pick one they may read."""
    if actor.tenant_id is not None:
        tenant = s.get(Tenant, actor.tenant_id)
        if tenant is None or (slug and slug != tenant.slug):
            raise NotFound("no such tenant")
        return tenant
    visible = visible_tenant_ids(s, actor)
    q = select(Tenant).order_by(Tenant.slug)
    if visible is not None:
        q = q.where(Tenant.id.in_(visible))
    if slug:
        q = q.where(Tenant.slug == slug)
    tenant = s.scalars(q.limit(1)).first()
    if tenant is None:
        raise NotFound("no tenant to show")
    return tenant


def _names(values: Any) -> list[str]:
    """Entity names from a scope list whose items are plain strings or objects with a name."""
    out = []
    for v in values or []:
        if isinstance(v, dict):
            out.append(str(v.get("name") or v.get("sha256") or v.get("address") or ""))
        else:
            out.append(str(v))
    return [n for n in out if n]


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _naming(s: Session, model: type[Alert] | type[Story], tenant_id: int, needle: str, limit: int) -> list[Any]:
    """Rows of the tenant whose scope names ``needle``: a coarse text match narrowed exactly in Python.

    The coarse match uses the longest plain run of the name, since JSON text escapes quotes and the like.
    """
    q = select(model).where(model.tenant_id == tenant_id)
    plain = max(re.findall(r"[A-Za-z0-9._-]+", needle), key=len, default="")
    if plain:
        q = q.where(cast(model.scope, String).ilike(_like(plain), escape="\\"))
    wanted = needle.lower()
    rows = []
    for row in s.scalars(q.order_by(model.id.desc()).limit(max(limit * 10, 500))):
        scope = row.scope or {}
        kinds = ("devices", "accounts", "files", "sha256")
        if any(wanted == n.lower() for k in kinds for n in _names(scope.get(k))):
            rows.append(row)
        if len(rows) >= limit:
            break
    return rows


def device_risk(stories: list[Story], alerts: list[Alert]) -> Risk:
    """High when an attack notification or a significant story names the device; medium for any open story."""
    reasons = []
    level = 0
    for a in alerts:
        if a.is_sample:
            continue
        level = max(level, 3 if SEVERITY_RANK.get(a.severity, 0) >= 3 else 2)
        reasons.append(f"{a.severity} alert: {a.title}")
    for st in stories:
        if st.status != "open":
            continue
        level = max(level, 3 if st.significance >= 60 or (st.score or 0) >= 0.7 else 2)
        reasons.append(f"open incident (significance {st.significance:.0f}): {st.title}")
    return Risk(("none", "low", "medium", "high")[level], reasons[:6])


def list_devices(
    s: Session, actor: Actor, engine: DuckDBEngine, tenant_id: int, search: str = "", limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Devices that reported, most recently seen first, with event counts and risk; and how many match."""
    require_read(s, actor, tenant_id)
    tenant = s.get(Tenant, tenant_id)
    assert tenant is not None
    where, params = "", []
    if search:
        where, params = "WHERE DeviceName ILIKE ? ESCAPE '\\'", [_like(search)]
    table = engine.query(
        "SELECT DeviceName AS name, min(Timestamp) AS first_seen, max(Timestamp) AS last_seen, count(*) AS events, "
        f"count(*) OVER () AS total FROM RawEvents {where} GROUP BY DeviceName "
        "ORDER BY last_seen DESC, name LIMIT ? OFFSET ?",
        tenant.slug,
        params=[*params, limit, offset],
    )
    rows = table.to_pylist()
    total = int(rows[0]["total"]) if rows else 0
    stories = list(s.scalars(select(Story).where(Story.tenant_id == tenant_id, Story.status == "open").limit(500)))
    named: dict[str, list[Story]] = {}
    for st in stories:
        for name in _names((st.scope or {}).get("devices")):
            named.setdefault(name.lower(), []).append(st)
    for row in rows:
        row.pop("total", None)
        row["risk"] = device_risk(named.get(str(row["name"]).lower(), []), [])
    return rows, total


def device_profile(s: Session, actor: Actor, engine: DuckDBEngine, tenant_id: int, name: str) -> dict[str, Any]:
    """One device: when it reported, its recent timeline, who logged on, the alerts and stories naming it, risk."""
    require_read(s, actor, tenant_id)
    tenant = s.get(Tenant, tenant_id)
    assert tenant is not None
    con = engine.connect(tenant.slug)
    try:
        seen = con.execute(
            "SELECT min(Timestamp), max(Timestamp), count(*) FROM RawEvents WHERE DeviceName = ?",
            [name],
        ).fetchall()[0]
        if not seen or not seen[2]:
            raise NotFound("no such device")
        timeline: list[dict[str, Any]] = []
        for table_name, summary in _TIMELINE_SOURCES.items():
            part = con.sql(
                f"SELECT Timestamp AS time, ActionType AS action, {summary} AS summary, EventKey AS event_key, "
                f"'{table_name}' AS tbl FROM {table_name} WHERE DeviceName = ? "
                "ORDER BY Timestamp DESC LIMIT ?",
                params=[name, TIMELINE_PER_TABLE],
            ).to_arrow_table()
            timeline.extend(part.to_pylist())
        logons = con.sql(
            "SELECT coalesce(AccountDomain, '') AS domain, coalesce(AccountName, '') AS account, "
            "list_sort(list_distinct(list(CAST(LogonType AS VARCHAR)))) AS logon_types, count(*) AS logons, "
            "min(Timestamp) AS first_seen, max(Timestamp) AS last_seen FROM DeviceLogonEvents "
            "WHERE DeviceName = ? AND coalesce(AccountName, '') <> '' "
            "GROUP BY ALL ORDER BY last_seen DESC LIMIT 50",
            params=[name],
        ).to_arrow_table()
    finally:
        con.close()
    timeline.sort(key=lambda e: e["time"], reverse=True)
    alerts = _naming(s, Alert, tenant_id, name, 50)
    stories = _naming(s, Story, tenant_id, name, 50)
    return {
        "name": name,
        "first_seen": seen[0],
        "last_seen": seen[1],
        "events": int(seen[2]),
        "timeline": timeline[:200],
        "logons": logons.to_pylist(),
        "alerts": alerts,
        "stories": stories,
        "risk": device_risk(stories, alerts),
    }


def file_profile(s: Session, actor: Actor, engine: DuckDBEngine, tenant_id: int, sha256: str) -> dict[str, Any]:
    """One file by SHA-256: names and paths, the devices it was on, first and last seen, leads and alerts."""
    require_read(s, actor, tenant_id)
    sha256 = sha256.strip().lower()
    if not sha256 or len(sha256) > 128 or any(c not in "0123456789abcdef" for c in sha256):
        raise InvalidInput("a file is named by its hexadecimal hash")
    tenant = s.get(Tenant, tenant_id)
    assert tenant is not None
    # The normaliser stores hashes in lower case; comparing the bare column lets DuckDB skip row groups.
    sightings = " UNION ALL ".join(
        f"SELECT Timestamp, DeviceName, FileName, FolderPath, '{t}' AS tbl FROM {t} WHERE SHA256 = ?"
        for t in ("DeviceProcessEvents", "DeviceFileEvents", "DeviceImageLoadEvents", "DeviceEvents")
    )
    con = engine.connect(tenant.slug)
    try:
        con.execute(f"CREATE TEMP TABLE sightings AS {sightings}", [sha256] * 4)
        head = con.execute("SELECT min(Timestamp), max(Timestamp), count(*) FROM sightings").fetchall()[0]
        paths = con.sql(
            "SELECT coalesce(FileName, '') AS name, coalesce(FolderPath, '') AS path, count(*) AS events "
            "FROM sightings GROUP BY ALL ORDER BY events DESC LIMIT 100"
        ).to_arrow_table()
        devices = con.sql(
            "SELECT DeviceName AS device, min(Timestamp) AS first_seen, max(Timestamp) AS last_seen, count(*) AS events"
            " FROM sightings GROUP BY DeviceName ORDER BY first_seen LIMIT 500"
        ).to_arrow_table()
        all_devices = con.execute("SELECT count(DISTINCT DeviceName) FROM RawEvents").fetchall()[0]
    finally:
        con.close()
    leads = list(
        s.scalars(
            select(Lead)
            .where(Lead.tenant_id == tenant_id, cast(Lead.entities, String).ilike(_like(sha256), escape="\\"))
            .order_by(Lead.first_seen.desc())
            .limit(50)
        )
    )
    alerts = _naming(s, Alert, tenant_id, sha256, 50)
    if (not head or not head[2]) and not leads and not alerts:
        raise NotFound("no such file")
    return {
        "sha256": sha256,
        "first_seen": head[0] if head else None,
        "last_seen": head[1] if head else None,
        "events": int(head[2]) if head else 0,
        "paths": paths.to_pylist(),
        "devices": devices.to_pylist(),
        "device_count": devices.num_rows,
        "tenant_devices": int(all_devices[0]) if all_devices else 0,
        "leads": leads,
        "alerts": alerts,
    }


def schema_outline() -> list[dict[str, Any]]:
    """The hunting schema as Advanced hunting shows it beside the editor."""
    return [
        {"name": t.name, "doc": t.doc, "columns": [{"name": c.name, "type": c.type, "doc": c.doc} for c in t.columns]}
        for t in TABLES
    ]


def run_hunting_query(
    s: Session,
    actor: Actor,
    engine: DuckDBEngine,
    tenant_id: int,
    sql: str,
    *,
    max_rows: int = HUNT_MAX_ROWS,
    timeout_s: float = HUNT_TIMEOUT_S,
) -> HuntResult:
    """A person's SQL over their tenant's own tables: sandboxed connection, time limit, at most ``max_rows`` rows."""
    require_read(s, actor, tenant_id)
    sql = sql.strip().rstrip(";").strip()
    if not sql:
        raise InvalidInput("write a query first")
    if len(sql) > MAX_SQL_CHARS:
        raise InvalidInput(f"queries are limited to {MAX_SQL_CHARS} characters")
    tenant = s.get(Tenant, tenant_id)
    assert tenant is not None
    started = time.perf_counter()
    try:
        table = engine.query(
            f"SELECT * FROM ({sql}) AS q LIMIT {int(max_rows) + 1}", tenant.slug, sandboxed=True, timeout_s=timeout_s
        )
    except QueryError as exc:
        raise InvalidInput(str(exc)) from exc
    truncated = table.num_rows > max_rows
    table = table.slice(0, max_rows)
    columns = table.column_names
    rows = [list(r.values()) for r in table.to_pylist()]
    return HuntResult(columns, rows, truncated, time.perf_counter() - started)


def list_model_versions(s: Session, actor: Actor) -> list[ModelVersion]:
    require_provider(actor, ("expert", "provider_admin"))
    return list(s.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc())))


def tenant_counts(s: Session, actor: Actor, tenant_id: int) -> dict[str, int]:
    """Numbers for the portal's header: new alerts, open incidents."""
    require_read(s, actor, tenant_id)
    new_alerts = s.scalar(
        select(func.count()).select_from(Alert).where(Alert.tenant_id == tenant_id, Alert.status == "new")
    )
    open_stories = s.scalar(
        select(func.count()).select_from(Story).where(Story.tenant_id == tenant_id, Story.status == "open")
    )
    return {"new_alerts": int(new_alerts or 0), "open_incidents": int(open_stories or 0)}
