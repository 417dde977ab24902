"""Benchmark: p50/p95 of every portal page with 1,000,000 events and 10,000 alerts in one tenant.

Builds a fresh HUNTWATCH_HOME (SQLite state, Parquet lake): a tenant whose lake holds ``--events`` process
events (and as many raw events) written as replicated batches over ``--devices`` devices, ``--alerts``
alerts and ``--stories`` stories inserted in bulk. Serves the real app with uvicorn on 127.0.0.1 and times
each page with a keep-alive client signed in as the tenant admin (the expert for the console).

    python benchmarks/pages.py [--events 1000000] [--alerts 10000] [--requests 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pyarrow as pa
import uvicorn
from argon2 import PasswordHasher
from sqlalchemy import insert

SEVERITIES = ("informational", "low", "medium", "high", "critical")
PASSWORD = "benchmark-password"
BATCH = 100_000


def _batch(tenant: str, devices: int, start: dt.datetime, offset: int, sha: str) -> dict[str, pa.Table]:
    from huntwatch.schema import arrow_schema

    rng = random.Random(offset)
    n = BATCH
    names = [f"ws{rng.randrange(devices):05d}.corp.example" for _ in range(n)]
    times = [start + dt.timedelta(seconds=(offset + i) * 2) for i in range(n)]
    keys = [f"e{offset + i}" for i in range(n)]
    files = [rng.choice(("powershell.exe", "cmd.exe", "svchost.exe", "rundll32.exe", "notepad.exe")) for _ in range(n)]
    proc_cols = {
        "TenantId": [tenant] * n, "EventKey": keys, "Timestamp": times, "DeviceName": names, "DeviceId": names,
        "ActionType": ["ProcessCreated"] * n, "FileName": files, "FolderPath": [f"C:\\Windows\\{f}" for f in files],
        "SHA256": [sha if i % 1000 == 0 else f"{rng.getrandbits(256):064x}" for i in range(n)],
        "ProcessCommandLine": [f"{f} -arg {i}" for i, f in enumerate(files)],
        "AccountDomain": ["CORP"] * n, "AccountName": [f"user{rng.randrange(300)}" for _ in range(n)],
    }  # fmt: skip
    proc_schema = arrow_schema("DeviceProcessEvents")
    proc = pa.table(
        {f.name: pa.array(proc_cols.get(f.name, [None] * n), type=f.type) for f in proc_schema}, schema=proc_schema
    )
    raw_schema = arrow_schema("RawEvents")
    raw_cols = {
        "TenantId": [tenant] * n, "EventKey": keys, "Timestamp": times, "DeviceName": names,
        "Channel": ["Microsoft-Windows-Sysmon/Operational"] * n, "Provider": ["Sysmon"] * n, "EventID": [1] * n,
        "RecordId": list(range(offset, offset + n)), "SourceFile": ["bench"] * n, "Fields": [[("k", "v")]] * n,
    }  # fmt: skip
    raw = pa.table({f.name: pa.array(raw_cols[f.name], type=f.type) for f in raw_schema}, schema=raw_schema)
    return {"DeviceProcessEvents": proc, "RawEvents": raw}


def build(home: Path, events: int, alerts: int, stories: int, devices: int) -> dict[str, object]:
    os.environ["HUNTWATCH_HOME"] = str(home)
    from huntwatch.config import settings
    from huntwatch.lake import DuckDBEngine
    from huntwatch.service import Actor, accounts, enrollment
    from huntwatch.state import Alert, Database, Story, utcnow

    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    conf = settings()
    db = Database(conf.database_url)
    db.upgrade()
    engine = DuckDBEngine(conf.lake_path)
    system = Actor.system("bench")
    sha = "ab" * 32
    now = utcnow()
    start = now - dt.timedelta(days=30)
    began = time.perf_counter()
    for offset in range(0, events, BATCH):
        engine.append("bench", _batch("bench", devices, start, offset, sha))
    lake_s = time.perf_counter() - began
    began = time.perf_counter()
    with db.session() as s:
        tenant = accounts.create_tenant(s, system, "bench", "Bench Corp")
        accounts.create_user(s, system, "admin@bench.test", PASSWORD, "tenant_admin", tenant.id)
        accounts.create_user(s, system, "expert@bench.test", PASSWORD, "expert")
        tid = tenant.id
    with db.session() as s:
        enrollment.apply(s, accounts.actor_for_user(_user(s, "admin@bench.test")), tid, "A", "a@bench.test", True,
                         engine)  # fmt: skip
        enrollment.decide(s, system, tid, True)
    rng = random.Random(7)
    story_rows = [
        {"tenant_id": tid, "title": f"Story {i}", "significance": rng.uniform(0, 100), "score": rng.random(),
         "score_explanation": [{"feature": "kill_chain", "contribution": 0.3}],
         "scope": {"devices": [{"name": f"ws{rng.randrange(devices):05d}.corp.example"} for _ in range(3)]},
         "timeline": [{"time": (now - dt.timedelta(minutes=m)).isoformat(), "device": "ws00001.corp.example",
                       "summary": "x", "key": m % 3 == 0} for m in range(50)],
         "process_trees": [], "queries": [], "summary": "s", "first_seen": now, "last_seen": now}
        for i in range(stories)
    ]  # fmt: skip
    alert_rows = [
        {"tenant_id": tid, "title": f"Alert {i}", "severity": rng.choice(SEVERITIES),
         "status": rng.choice(("new", "in_progress", "resolved")),
         "tag": "Endpoint Attack Notification" if i % 10 == 0 else "Detection",
         "tactics": ["Execution"], "techniques": ["T1059"],
         "scope": {"devices": [f"ws{rng.randrange(devices):05d}.corp.example"], "files": [{"sha256": sha}]},
         "timeline": [], "queries": [], "evidence": [], "recommendations": [],
         "created_at": now - dt.timedelta(minutes=i), "updated_at": now}
        for i in range(alerts)
    ]  # fmt: skip
    with db.session() as s:
        s.execute(insert(Story), story_rows)
        s.execute(insert(Alert), alert_rows)
    state_s = time.perf_counter() - began
    db.engine.dispose()
    return {"settings": conf, "lake_s": lake_s, "state_s": state_s, "sha": sha}


def _user(s, email: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from huntwatch.state import User

    return s.scalar(select(User).where(User.email == email))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(base: str, email: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=120, follow_redirects=True)
    r = client.post("/sign-in", data={"email": email, "password": PASSWORD})
    r.raise_for_status()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/hunting").text)
    assert csrf
    return client, csrf.group(1)


def _time(fn, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        r = fn()
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (r.status_code, r.text[:300])
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--stories", type=int, default=2_000)
    ap.add_argument("--devices", type=int, default=2_000)
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hw-bench-pages-") as tmp:
        built = build(Path(tmp), args.events, args.alerts, args.stories, args.devices)
        print(f"lake: {args.events:,} process + {args.events:,} raw events in {built['lake_s']:.1f} s; "
              f"state: {args.alerts:,} alerts, {args.stories:,} stories in {built['state_s']:.1f} s")  # fmt: skip
        from huntwatch.web.app import create_app

        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(built["settings"]), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        admin, csrf = _client(base, "admin@bench.test")
        expert, _ = _client(base, "expert@bench.test")
        device = quote("ws00001.corp.example")
        hunt_sql = "SELECT DeviceName, count(*) AS n FROM DeviceProcessEvents GROUP BY 1 ORDER BY 2 DESC LIMIT 50"
        pages = [
            ("alert queue", lambda: admin.get("/alerts")),
            ("alert queue, last page", lambda: admin.get(f"/alerts?page={max(1, args.alerts // 50)}")),
            ("alert queue, filtered + sorted", lambda: admin.get("/alerts?severity=high&sort=-severity&q=Alert+1")),
            ("alert page", lambda: admin.get(f"/alerts/{args.alerts // 2}")),
            ("incidents", lambda: admin.get("/incidents")),
            ("incident page", lambda: admin.get(f"/incidents/{args.stories // 2}")),
            ("devices", lambda: admin.get("/devices")),
            ("device page", lambda: admin.get(f"/devices/{device}")),
            ("file page", lambda: admin.get(f"/files/{built['sha']}")),
            ("advanced hunting (group by)", lambda: admin.post("/hunting", data={"csrf": csrf, "sql": hunt_sql})),
            ("settings", lambda: admin.get("/settings/advanced")),
            ("hunting queue (expert)", lambda: expert.get("/console")),
            ("workbench (expert)", lambda: expert.get(f"/console/stories/{args.stories // 2}")),
        ]
        print(f"{'page':<34} {'p50 ms':>9} {'p95 ms':>9}   ({args.requests} requests each)")
        for name, fn in pages:
            p50, p95 = _time(fn, args.requests)
            print(f"{name:<34} {p50:>9.1f} {p95:>9.1f}")
        server.should_exit = True
        thread.join(10)


if __name__ == "__main__":
    main()
