"""Unknown attacks: an isolation forest over hourly behaviour vectors per device raises "anomaly" leads.

The forest learns what device-hours look like during a baseline period (the tenant's first days); a later
device-hour is reported only when it is more isolated than every baseline hour of the same device AND runs a
program new to the whole tenant from outside the Windows and Program Files folders (where software that
no administrator installed lives). Novelty is measured against the
baseline, so an unchanged environment produces nothing, and each lead says what was unusual and compared
to what (the device's own baseline and its peers'). Hours already explained by another lead on the same
device are left to that lead: anomaly leads are for what no hunt matched.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest
from sqlalchemy import select

from huntwatch.ai.features import NIGHT_HOURS
from huntwatch.hunting import LeadCandidate, ensure_tenant, save_candidates
from huntwatch.lake import DuckDBEngine
from huntwatch.state import Database, Lead

HUNT_ID = "anomaly-device-behaviour"
# Folders only installers and the OS write to; a program first seen there is a patch, not a stranger.
# (An attacker with SYSTEM can write there too: such programs are left to the hunts.)
TRUSTED_FOLDERS = ("c:\\windows\\", "c:\\program files", "c:\\programdata\\microsoft\\")
VECTOR = (
    "processes",
    "images",
    "new_images",
    "file_writes",
    "connections",
    "destinations",
    "new_destinations",
    "logons",
    "night",
)
MAX_EVIDENCE = 200

_HOURLY_SQL = """
WITH proc AS (
    SELECT lower(split_part(DeviceName, '.', 1)) AS device, date_trunc('hour', Timestamp) AS hour,
           lower(coalesce(FolderPath, FileName)) AS image, Timestamp, EventKey,
           AccountName, InitiatingProcessFileName AS parent
    FROM DeviceProcessEvents WHERE FileName IS NOT NULL
),
net AS (
    SELECT lower(split_part(DeviceName, '.', 1)) AS device, date_trunc('hour', Timestamp) AS hour,
           lower(coalesce(nullif(RemoteUrl, ''), RemoteIP)) AS dest, Timestamp, EventKey
    FROM DeviceNetworkEvents WHERE coalesce(nullif(RemoteUrl, ''), RemoteIP) IS NOT NULL
),
img_first AS (SELECT image, min(Timestamp) AS first FROM proc GROUP BY image),
dest_first AS (SELECT dest, min(Timestamp) AS first FROM net GROUP BY dest),
p AS (
    SELECT device, hour, count(*) AS processes, count(DISTINCT proc.image) AS images,
           count(DISTINCT CASE WHEN f.first >= $cutoff AND date_trunc('hour', f.first) = hour
                               AND NOT ($trusted)
                               THEN proc.image END) AS new_images
    FROM proc JOIN img_first f USING (image) GROUP BY device, hour
),
n AS (
    SELECT device, hour, count(*) AS connections, count(DISTINCT net.dest) AS destinations,
           count(DISTINCT CASE WHEN f.first >= $cutoff AND date_trunc('hour', f.first) = hour THEN net.dest END)
               AS new_destinations
    FROM net JOIN dest_first f USING (dest) GROUP BY device, hour
),
fw AS (
    SELECT lower(split_part(DeviceName, '.', 1)) AS device, date_trunc('hour', Timestamp) AS hour,
           count(*) AS file_writes
    FROM DeviceFileEvents GROUP BY ALL
),
lg AS (
    SELECT lower(split_part(DeviceName, '.', 1)) AS device, date_trunc('hour', Timestamp) AS hour, count(*) AS logons
    FROM DeviceLogonEvents GROUP BY ALL
),
keys AS (SELECT device, hour FROM p UNION SELECT device, hour FROM n UNION SELECT device, hour FROM fw)
SELECT k.device, k.hour,
       coalesce(p.processes, 0) AS processes, coalesce(p.images, 0) AS images,
       coalesce(p.new_images, 0) AS new_images, coalesce(fw.file_writes, 0) AS file_writes,
       coalesce(n.connections, 0) AS connections, coalesce(n.destinations, 0) AS destinations,
       coalesce(n.new_destinations, 0) AS new_destinations, coalesce(lg.logons, 0) AS logons
FROM keys k
LEFT JOIN p USING (device, hour) LEFT JOIN n USING (device, hour)
LEFT JOIN fw USING (device, hour) LEFT JOIN lg USING (device, hour)
WHERE k.device <> ''
ORDER BY k.device, k.hour
"""

_NEW_THINGS_SQL = """
WITH proc AS (
    SELECT lower(split_part(DeviceName, '.', 1)) AS device, Timestamp, EventKey,
           lower(coalesce(FolderPath, FileName)) AS image, AccountName, InitiatingProcessFileName AS parent
    FROM DeviceProcessEvents WHERE FileName IS NOT NULL
),
net AS (
    SELECT lower(split_part(DeviceName, '.', 1)) AS device, Timestamp, EventKey,
           lower(coalesce(nullif(RemoteUrl, ''), RemoteIP)) AS dest
    FROM DeviceNetworkEvents WHERE coalesce(nullif(RemoteUrl, ''), RemoteIP) IS NOT NULL
),
img_first AS (SELECT image, min(Timestamp) AS first FROM proc GROUP BY image),
dest_first AS (SELECT dest, min(Timestamp) AS first FROM net GROUP BY dest)
SELECT 'image' AS kind, proc.device, proc.Timestamp AS ts, proc.EventKey AS key, proc.image AS value,
       proc.AccountName AS account, proc.parent AS parent
FROM proc JOIN img_first f USING (image)
WHERE f.first >= $cutoff AND NOT ($trusted)
UNION ALL
SELECT 'destination', net.device, net.Timestamp, net.EventKey, net.dest, NULL, NULL
FROM net JOIN dest_first f USING (dest) WHERE f.first >= $cutoff
"""


@dataclass
class AnomalyReport:
    tenant: str
    cutoff: str | None
    device_hours: int = 0
    baseline_hours: int = 0
    flagged: list[dict[str, Any]] = field(default_factory=list)
    skipped_covered: int = 0
    added: int = 0
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _bounds(engine: DuckDBEngine, tenant: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    row = engine.query("SELECT min(Timestamp) AS lo, max(Timestamp) AS hi FROM DeviceProcessEvents", tenant)
    d = row.to_pylist()[0] if row.num_rows else {}
    return d.get("lo"), d.get("hi")


def _as_naive(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


def find_anomalies(
    engine: DuckDBEngine,
    db: Database | None,
    tenant: str,
    *,
    baseline_days: float = 1.0,
    seed: int = 0,
    store: bool = True,
) -> tuple[AnomalyReport, list[LeadCandidate]]:
    """Fit on the first ``baseline_days`` of the tenant's data, report later device-hours as anomaly leads.

    With ``db`` and ``store`` the leads are saved through the hunting package (deduplicated like every
    lead); hours covered by a non-anomaly lead on the same device are skipped.
    """
    lo, hi = _bounds(engine, tenant)
    if lo is None or hi is None:
        return AnomalyReport(tenant, None, note="no process telemetry"), []
    cutoff = _as_naive(lo) + dt.timedelta(days=baseline_days)
    report = AnomalyReport(tenant, cutoff.isoformat())
    if _as_naive(hi) <= cutoff:
        report.note = f"need data after the {baseline_days}-day baseline"
        return report, []
    rows = _rows(engine, tenant, _HOURLY_SQL, cutoff)
    report.device_hours = len(rows)
    for r in rows:
        r["hour"] = _as_naive(r["hour"])
        r["night"] = int(r["hour"].hour in NIGHT_HOURS)
    base = [r for r in rows if r["hour"] < cutoff]
    later = [r for r in rows if r["hour"] >= cutoff]
    report.baseline_hours = len(base)
    if len(base) < 20 or not later:
        report.note = "too little baseline to learn from"
        return report, []
    x_base = np.log1p(np.array([[r[f] for f in VECTOR] for r in base], dtype=float))
    x_later = np.log1p(np.array([[r[f] for f in VECTOR] for r in later], dtype=float))
    forest = IsolationForest(n_estimators=200, random_state=seed, contamination="auto").fit(x_base)
    base_scores = forest.score_samples(x_base)
    later_scores = forest.score_samples(x_later)
    floor = float(base_scores.min())
    device_floor: dict[str, float] = {}
    for r, sc in zip(base, base_scores, strict=True):
        device_floor[r["device"]] = min(device_floor.get(r["device"], 0.0), float(sc))
    peers = {f: float(np.percentile([r[f] for r in base], 99)) for f in VECTOR}
    own: dict[str, dict[str, float]] = {}
    for r in base:
        d = own.setdefault(r["device"], dict.fromkeys(VECTOR, 0.0))
        for f in VECTOR:
            d[f] = max(d[f], float(r[f]))
    covered = _covered(db, tenant) if db is not None else {}
    flagged = []
    for r, score in zip(later, later_scores, strict=True):
        own_floor = device_floor.get(r["device"], floor)
        if r["new_images"] == 0 or score >= own_floor:
            continue
        if any(a <= r["hour"] + dt.timedelta(hours=1) and b >= r["hour"] for a, b in covered.get(r["device"], [])):
            report.skipped_covered += 1
            continue
        unusual = [
            {
                "feature": f,
                "value": r[f],
                "device_baseline_max": own.get(r["device"], {}).get(f, 0.0),
                "peer_baseline_p99": round(peers[f], 2),
            }
            for f in VECTOR
            if r[f] > own.get(r["device"], {}).get(f, 0.0) and r[f] > peers[f]
        ]
        flagged.append({**r, "score": float(score), "baseline_floor": own_floor, "unusual": unusual})
    report.flagged = [
        {"device": f["device"], "hour": f["hour"].isoformat(), "score": round(f["score"], 4)} for f in flagged
    ]
    cands = _candidates(engine, tenant, cutoff, flagged)
    if db is not None and store and cands:
        with db.session() as s:
            tenant_id = ensure_tenant(s, tenant).id
            report.added = save_candidates(s, tenant_id, cands, gap=dt.timedelta(hours=2)).added
    return report, cands


def _rows(engine: DuckDBEngine, tenant: str, sql: str, cutoff: dt.datetime) -> list[dict[str, Any]]:
    trusted = " OR ".join(f"starts_with(proc.image, '{p}')" for p in TRUSTED_FOLDERS)
    con = engine.connect(tenant)
    try:
        cur = con.execute(sql.replace("$trusted", trusted), {"cutoff": cutoff})
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def _covered(db: Database, tenant: str) -> dict[str, list[tuple[dt.datetime, dt.datetime]]]:
    from huntwatch.state import Tenant

    out: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    with db.session() as s:
        tid = s.scalar(select(Tenant.id).where(Tenant.slug == tenant))
        if tid is None:
            return out
        for lead in s.scalars(select(Lead).where(Lead.tenant_id == tid, Lead.source != "anomaly")):
            for d in (lead.entities or {}).get("device", []):
                out.setdefault(str(d).lower().split(".")[0], []).append((lead.first_seen, lead.last_seen))
    return out


def _candidates(
    engine: DuckDBEngine, tenant: str, cutoff: dt.datetime, flagged: list[dict[str, Any]]
) -> list[LeadCandidate]:
    if not flagged:
        return []
    things = _rows(engine, tenant, _NEW_THINGS_SQL, cutoff)
    out = []
    for f in flagged:
        start, end = f["hour"], f["hour"] + dt.timedelta(hours=1)
        here = [t for t in things if t["device"] == f["device"] and start <= _as_naive(t["ts"]) < end]
        here.sort(key=lambda t: (_as_naive(t["ts"]), t["key"]))
        images = sorted({t["value"] for t in here if t["kind"] == "image"})
        dests = sorted({t["value"] for t in here if t["kind"] == "destination"})
        accounts = sorted({t["account"] for t in here if t["account"]})
        times = [_as_naive(t["ts"]) for t in here] or [start]
        what = ", ".join(u["feature"].replace("_", " ") for u in f["unusual"]) or "the combination of counts"
        severity = 1 - 2 ** (-max(f["baseline_floor"] - f["score"], 0) * 20)  # 0..1, how far below the floor
        out.append(
            LeadCandidate(
                hunt_id=HUNT_ID,
                source="anomaly",
                title=f"Unusual behaviour on {f['device']} at {start:%Y-%m-%d %H}:00 UTC: new to the tenant "
                f"{len(images)} program(s), {len(dests)} destination(s)",
                severity="medium" if severity >= 0.5 else "low",
                confidence=round(0.5 + 0.4 * severity, 3),
                tactics=[],
                techniques=[],
                first_seen=min(times),
                last_seen=max(times),
                evidence=[t["key"] for t in here][:MAX_EVIDENCE],
                entities={
                    "device": [f["device"]],
                    "account": accounts,
                    "process": [i.rsplit("\\", 1)[-1] for i in images],
                    "remote_url": dests,
                },
                description=(
                    f"This device-hour is more isolated than any hour of the baseline (before {cutoff:%Y-%m-%d %H:%M} "
                    f"UTC) and shows what the tenant never ran or contacted before. Unusual: {what}."
                ),
                details={
                    "anomaly_score": round(severity, 4),
                    "isolation_score": round(f["score"], 4),
                    "baseline_floor": round(f["baseline_floor"], 4),
                    "baseline_until": cutoff.isoformat(),
                    "hour": start.isoformat(),
                    "vector": {k: f[k] for k in VECTOR},
                    "unusual": f["unusual"],
                    "new_programs": images,
                    "new_destinations": dests,
                    "compared_to": "this device's baseline hours (maximum per count, least usual isolation score) "
                    "and the 99th percentile of every device's baseline hours",
                },
                group=(f["device"],),
            )
        )
    return out
