"""A world for page tests: the service's two tenants plus telemetry and a story full of hostile text.

Command lines, paths, account and device names carry ``<script>``, quotes, ``javascript:`` URLs and template
syntax, as an attacker controlling a device would write them; every page must show them as text.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa

from huntwatch.schema import arrow_schema
from huntwatch.service import publishing
from huntwatch.service.testing import build_world, enroll
from huntwatch.state import Database, Lead, Story, StoryLead, utcnow

SCRIPT = "<script>alert('xss-1')</script>"
IMG = '"><img src=x onerror="alert(2)">'
JS_URL = "javascript:alert(3)"
TEMPLATE = "{{7*7}}"
EVIL_DEVICE = "ws-evil'\"<i>.corp"
EVIL_ACCOUNT = f"eve{IMG}"
EVIL_PATH = f"C:\\Users\\Public\\{SCRIPT}.exe"
EVIL_CMD = f'cmd.exe /c "{TEMPLATE}" {JS_URL} {SCRIPT} {IMG}'
EVIL_SHA = "ab" * 32
B_DEVICE = "secret-b-host.tenant-b.test"
B_SHA = "cd" * 32
HOSTILE = (SCRIPT, IMG, JS_URL, TEMPLATE)


def _table(name: str, rows: list[dict[str, object]]) -> pa.Table:
    schema = arrow_schema(name)
    return pa.Table.from_pylist([{c: r.get(c) for c in schema.names} for r in rows], schema=schema)


def telemetry(tenant: str, device: str, sha: str, when: dt.datetime, devices: int = 3) -> dict[str, pa.Table]:
    base = {"TenantId": tenant, "DeviceName": device, "DeviceId": device, "Timestamp": when}
    proc = [
        {**base, "EventKey": f"{tenant}-p{i}", "ActionType": "ProcessCreated", "FileName": f"{SCRIPT}.exe",
         "FolderPath": EVIL_PATH, "SHA256": sha, "ProcessId": 100 + i, "ProcessCommandLine": EVIL_CMD,
         "AccountDomain": "CORP", "AccountName": EVIL_ACCOUNT, "InitiatingProcessFileName": "explorer.exe",
         "Timestamp": when + dt.timedelta(minutes=i)}
        for i in range(3)
    ]  # fmt: skip
    logon = [
        {**base, "EventKey": f"{tenant}-l0", "ActionType": "LogonSuccess", "AccountDomain": "CORP",
         "AccountName": EVIL_ACCOUNT, "LogonType": "10", "RemoteIP": "10.0.0.9"}
    ]  # fmt: skip
    files = [{**base, "EventKey": f"{tenant}-f0", "ActionType": "FileCreated", "FileName": f"{SCRIPT}.exe",
              "FolderPath": EVIL_PATH, "SHA256": sha}]  # fmt: skip
    raw = [
        {"TenantId": tenant, "EventKey": f"{tenant}-r{d}", "Timestamp": when, "DeviceName": name, "Channel": "Security",
         "Provider": "p", "EventID": 4624, "RecordId": d, "SourceFile": "test", "Fields": [("CommandLine", EVIL_CMD)]}
        for d, name in enumerate([device, *(f"ws{d:03d}.{tenant}.test" for d in range(devices))])
    ]  # fmt: skip
    return {
        "DeviceProcessEvents": _table("DeviceProcessEvents", proc),
        "DeviceLogonEvents": _table("DeviceLogonEvents", logon),
        "DeviceFileEvents": _table("DeviceFileEvents", files),
        "RawEvents": _table("RawEvents", raw),
    }


def _process(name: str, pid: int, cmd: str, children: list[dict[str, object]], in_story: bool) -> dict[str, object]:
    return {
        "process": name, "pid": pid, "unique_id": f"u{pid}", "command_line": cmd, "account": EVIL_ACCOUNT,
        "time": None, "event_key": f"k{pid}", "in_story": in_story, "observed": True, "children": children,
    }  # fmt: skip


def hostile_story(tenant_id: int, now: dt.datetime) -> Story:
    scope = {
        "devices": [
            {"name": EVIL_DEVICE, "first_seen": now.isoformat(), "last_seen": now.isoformat(), "leads": 1,
             "roles": ["entry"]},
            {"name": "ws001.tenant-a.test", "first_seen": now.isoformat(), "last_seen": now.isoformat(), "leads": 1,
             "roles": []},
        ],
        "accounts": [{"name": EVIL_ACCOUNT, "domain": "CORP", "devices": [EVIL_DEVICE, "ws001.tenant-a.test"],
                      "privileges": ["local admin"], "evidence": []}],
        "files": [{"sha256": EVIL_SHA, "path": EVIL_PATH, "devices": [EVIL_DEVICE], "prevalence": 1}],
        "remote_addresses": [{"address": JS_URL, "kind": "domain", "devices": [EVIL_DEVICE], "internal": False}],
        "lateral_movement": [{"source": EVIL_DEVICE, "target": "ws001.tenant-a.test", "account": EVIL_ACCOUNT,
                              "method": TEMPLATE, "time": now.isoformat(), "event_key": "k1"}],
    }  # fmt: skip
    timeline = [
        {"time": (now - dt.timedelta(minutes=m)).isoformat(), "device": EVIL_DEVICE, "table": "DeviceProcessEvents",
         "action": "ProcessCreated", "summary": EVIL_CMD, "event_key": f"k{m}", "key": m % 2 == 0,
         "account": EVIL_ACCOUNT, "lead_ids": []}
        for m in range(6)
    ]  # fmt: skip
    trees = [
        {"device": EVIL_DEVICE,
         "roots": [_process("explorer.exe", 1, "explorer.exe", [
             _process(f"{SCRIPT}.exe", 2, EVIL_CMD, [_process("whoami.exe", 3, TEMPLATE, [], True)], True)], False)]}
    ]  # fmt: skip
    return Story(
        tenant_id=tenant_id, title=f"Intrusion {SCRIPT} {TEMPLATE}", significance=90.0, score=None,
        scope=scope, timeline=timeline, process_trees=trees, summary=f"Attacker ran {EVIL_CMD}",
        queries=[{"title": f"q {SCRIPT}", "sql": f"SELECT * FROM DeviceProcessEvents WHERE FileName = '{SCRIPT}'"}],
        first_seen=now - dt.timedelta(hours=1), last_seen=now,
    )  # fmt: skip


def build(db: Database, lake: Path) -> SimpleNamespace:
    """Service world + hostile telemetry in both tenants' lakes + a published hostile notification in tenant A."""
    w = build_world(db, lake)
    now = utcnow().replace(microsecond=0)
    w.engine.append("tenant-a", telemetry("tenant-a", EVIL_DEVICE, EVIL_SHA, now - dt.timedelta(hours=1)))
    w.engine.append("tenant-b", telemetry("tenant-b", B_DEVICE, B_SHA, now - dt.timedelta(hours=1)))
    enroll(w, w.a)
    with db.session() as s:
        story = hostile_story(w.a, now)
        s.add(story)
        s.flush()
        lead = Lead(
            tenant_id=w.a, hunt_id="hunt-evil", source="hunt", title=f"Suspicious {SCRIPT}", severity="high",
            tactics=["Execution"], techniques=["T1059.003"], entities={"file": [EVIL_SHA], "device": [EVIL_DEVICE]},
            evidence=[{"table": "DeviceProcessEvents", "key": "tenant-a-p0"}], first_seen=now, last_seen=now,
            dedup_key="evil", story_id=story.id,
        )  # fmt: skip
        s.add(lead)
        s.flush()
        s.add(StoryLead(story_id=story.id, lead_id=lead.id))
        w.evil_story = story.id
        alert = publishing.publish(s, w.actors["expert"], story.id)
        w.evil_alert = alert.id
    return w
