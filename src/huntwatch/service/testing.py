"""A small world for tests of the service and its fronts: two tenants, staff of every role, ranked stories."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa

from huntwatch.lake import DuckDBEngine
from huntwatch.schema import arrow_schema
from huntwatch.service import accounts, enrollment
from huntwatch.service.access import Actor
from huntwatch.state import Database, Lead, Story, StoryLead, utcnow

PASSWORD = "correct horse battery"


# Event ids a well-instrumented Windows estate sends on the channels the hunts read.
ESTATE = {
    "Security": [1102, 4624, 4625, 4634, 4648, 4656, 4662, 4663, 4672, 4688, 4697, 4698, 4702, 4720, 4728, 4732,
                 4738, 4768, 4769, 4771, 4776, 5140, 5145, 5156],
    "Microsoft-Windows-Sysmon/Operational": list(range(1, 27)),
    "System": [7036, 7040, 7045, 104],
    "Microsoft-Windows-PowerShell/Operational": [4103, 4104],
    "Windows PowerShell": [400, 403, 600, 800],
    "Microsoft-Windows-TaskScheduler/Operational": [106, 140, 141, 200, 201],
    "Microsoft-Windows-WMI-Activity/Operational": [5857, 5860, 5861],
    "Microsoft-Windows-Windows Defender/Operational": [1116, 1117, 5001],
}  # fmt: skip


def raw_events(tenant: str, devices: int, channels: dict[str, list[int]] | list[str], when: dt.datetime) -> pa.Table:
    """RawEvents rows: every device sends every (channel, event id); a bare channel list sends event id 1."""
    plan = channels if isinstance(channels, dict) else {c: [1] for c in channels}
    rows = [
        {
            "TenantId": tenant,
            "EventKey": f"{tenant}-{d}-{c}-{eid}",
            "Timestamp": when,
            "DeviceName": f"ws{d:03d}.{tenant}.test",
            "Channel": c,
            "Provider": "p",
            "EventID": eid,
            "RecordId": d,
            "SourceFile": "test",
            "Fields": [("k", "v")],
        }
        for d in range(devices)
        for c, ids in plan.items()
        for eid in ids
    ]
    return pa.Table.from_pylist(rows, schema=arrow_schema("RawEvents"))


def story_scope(now: dt.datetime) -> dict[str, Any]:
    """A scope of compromise in the shape ``huntwatch.stories`` writes (``Scope.to_dict()``)."""
    t0, t1 = (now - dt.timedelta(hours=2)).isoformat(), now.isoformat()
    return {
        "devices": [
            {"name": "ws001.tenant-a.test", "first_seen": t0, "last_seen": t1, "leads": 1, "roles": ["entry"]},
            {"name": "ws002.tenant-a.test", "first_seen": t0, "last_seen": t1, "leads": 1,
             "roles": ["lateral-movement target"]},
        ],
        "accounts": [{"name": "alice", "domain": "corp", "devices": ["ws001.tenant-a.test"],
                      "privileges": ["local admin"], "evidence": []}],
        "files": [{"sha256": "a" * 64, "path": "C:\\Users\\alice\\evil.exe", "devices": ["ws001.tenant-a.test"],
                   "prevalence": 1}],
        "remote_addresses": [{"address": "203.0.113.9", "kind": "ip", "devices": ["ws001.tenant-a.test"],
                              "internal": False}],
        "domains": [],
        "lateral_movement": [],
        "first_activity": t0,
        "last_activity": t1,
        "dwell_seconds": 7200.0,
        "tactics": [],
        "root": {"kind": "process", "device": "ws001.tenant-a.test", "time": t0, "description": "evil.exe started",
                 "account": "corp\\alice", "event_key": "k0",
                 "method_of_entry": "user execution in an interactive session"},
        "bridges": [],
    }  # fmt: skip


def build_world(db: Database, lake: Path) -> SimpleNamespace:
    system = Actor.system("test")
    w = SimpleNamespace(db=db, engine=DuckDBEngine(lake), actors={}, password=PASSWORD)
    with db.session() as s:
        w.a = accounts.create_tenant(s, system, "tenant-a", "Tenant A", region="eu", plan="standard").id
        w.b = accounts.create_tenant(s, system, "tenant-b", "Tenant B", region="us-gov", plan="standard").id
        for tenant_key, tid in (("a", w.a), ("b", w.b)):
            for role in ("tenant_reader", "tenant_analyst", "tenant_admin"):
                u = accounts.create_user(s, system, f"{role}@{tenant_key}.test", PASSWORD, role, tid)
                w.actors[f"{tenant_key}_{role.removeprefix('tenant_')}"] = accounts.actor_for_user(u)
        for role in ("expert", "provider_admin"):
            u = accounts.create_user(s, system, f"{role}@provider.test", PASSWORD, role)
            w.actors[role] = accounts.actor_for_user(u)
        now = utcnow()
        story = Story(
            tenant_id=w.a,
            title="Credential theft and lateral movement from ws001",
            significance=80.0,
            score=0.92,
            scope=story_scope(now),
            timeline=[{"time": now.isoformat(), "title": "lsass access"}],
            summary="An attacker dumped credentials and moved to a second workstation.",
            queries=[{"title": "lsass", "sql": "SELECT * FROM DeviceProcessEvents"}],
            first_seen=now - dt.timedelta(hours=2),
            last_seen=now,
        )  # fmt: skip
        s.add(story)
        low = Story(tenant_id=w.a, title="Odd admin tool", significance=20.0, score=0.1, first_seen=now, last_seen=now)
        other = Story(
            tenant_id=w.b, title="Tenant B story", significance=50.0, score=0.5, first_seen=now, last_seen=now
        )
        s.add_all([low, other])
        s.flush()
        for i, (sev, tactic, tech) in enumerate(
            [("high", "Credential Access", "T1003.001"), ("critical", "Lateral Movement", "T1021.002")]
        ):
            lead = Lead(
                tenant_id=w.a, hunt_id=f"hunt-{i}", source="hunt", title=f"lead {i}", severity=sev,
                tactics=[tactic], techniques=[tech], evidence=[{"table": "DeviceProcessEvents", "key": f"k{i}"}],
                first_seen=now - dt.timedelta(hours=2 - i), last_seen=now, dedup_key=f"d{i}",
            )  # fmt: skip
            s.add(lead)
            s.flush()
            s.add(StoryLead(story_id=story.id, lead_id=lead.id))
        w.story, w.low_story, w.b_story = story.id, low.id, other.id
    return w


def enroll(w: SimpleNamespace, tenant_id: int, accept: bool = True) -> None:
    """Apply and decide, whatever the checks say (the provider admin has the last word)."""
    admin = w.actors["a_admin" if tenant_id == w.a else "b_admin"]
    with w.db.session() as s:
        enrollment.apply(s, admin, tenant_id, "Ann Admin", "ann@example.test", True, w.engine)
        enrollment.decide(s, w.actors["provider_admin"], tenant_id, accept, "" if accept else "not eligible")
