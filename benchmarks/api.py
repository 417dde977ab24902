"""Benchmark: latency of the alert queue and notification endpoints, and sensor ingest over HTTP.

Builds 100 tenants with 10,000 alerts in a fresh state database (SQLite under a temp HUNTWATCH_HOME, or
PostgreSQL with --database-url), serves the real app with uvicorn on 127.0.0.1, and times each endpoint
with a keep-alive HTTP client as a tenant analyst and as the provider admin. Then posts gzip NDJSON
batches as a sensor and reports events/s.

    python benchmarks/api.py [--tenants 100] [--alerts 10000] [--requests 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import random
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import insert

SEVERITIES = ("informational", "low", "medium", "high", "critical")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def build(tenants: int, alerts: int) -> tuple[list[int], dict[str, str]]:
    from huntwatch.config import settings
    from huntwatch.service import Actor, accounts
    from huntwatch.state import Alert, Database

    db = Database(settings().database_url)
    db.upgrade()
    system = Actor.system("benchmark")
    tokens: dict[str, str] = {}
    now = dt.datetime(2026, 11, 1)
    with db.session() as s:
        ids = [accounts.create_tenant(s, system, f"t{i:03d}", f"Tenant {i}").id for i in range(tenants)]
        tokens["analyst"] = accounts.create_token(s, system, "tenant_analyst", ids[0], "bench")[0]
        tokens["provider_admin"] = accounts.create_token(s, system, "provider_admin", None, "bench")[0]
        tokens["sensor"] = accounts.create_token(s, system, "sensor", ids[0], "bench")[0]
    rnd = random.Random(7)
    rows = [
        {
            "tenant_id": ids[i % tenants],
            "title": f"Hands-on-keyboard activity {i}",
            "tag": "Endpoint Attack Notification" if i % 3 else "Sample",
            "source": "Huntwatch Experts",
            "severity": rnd.choice(SEVERITIES),
            "status": rnd.choice(("new", "in_progress", "resolved")),
            "tactics": ["Credential Access", "Lateral Movement"],
            "techniques": ["T1003.001", "T1021.002"],
            "scope": {"devices": [f"ws{i % 50:03d}.corp.test"], "accounts": ["corp\\alice"]},
            "timeline": [{"time": (now + dt.timedelta(minutes=i)).isoformat(), "title": "step"}] * 5,
            "queries": [{"title": "q", "sql": "SELECT 1"}],
            "evidence": [{"table": "DeviceProcessEvents", "key": f"k{i}-{j}"} for j in range(10)],
            "executive_summary": "An attacker moved laterally. " * 5,
            "method_of_entry": "Phishing",
            "recommendations": ["Isolate", "Reset credentials"],
            "first_activity": now + dt.timedelta(minutes=i),
            "last_activity": now + dt.timedelta(minutes=i + 30),
            "published_by": "benchmark",
            "is_sample": False,
            "created_at": now + dt.timedelta(minutes=i),
            "updated_at": now + dt.timedelta(minutes=i),
        }
        for i in range(alerts)
    ]
    with db.engine.begin() as con:
        con.execute(insert(Alert), rows)
    db.engine.dispose()
    return ids, tokens


def serve(port: int) -> tuple[uvicorn.Server, threading.Thread]:
    from huntwatch.web import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread


def timed(client: httpx.Client, url: str, n: int) -> list[float]:
    client.get(url).raise_for_status()  # warm
    out = []
    for _ in range(n):
        started = time.perf_counter()
        client.get(url).raise_for_status()
        out.append((time.perf_counter() - started) * 1000)
    return out


def sensor_events(n: int, offset: int) -> bytes:
    lines = []
    for i in range(offset, offset + n):
        lines.append(
            json.dumps(
                {
                    "Event": {
                        "System": {
                            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                            "EventID": 1,
                            "EventRecordID": i,
                            "Channel": "Microsoft-Windows-Sysmon/Operational",
                            "Computer": f"ws{i % 50:03d}.corp.test",
                            "TimeCreated": {"#attributes": {"SystemTime": f"2026-11-20T10:{i // 60 % 60:02d}:"
                                                                          f"{i % 60:02d}.000000Z"}},
                        },
                        "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": f"cmd /c echo {i}",
                                      "ProcessId": str(1000 + i), "ParentImage": "C:\\Windows\\explorer.exe",
                                      "User": "CORP\\alice"},
                    }
                }
            )
        )  # fmt: skip
    return gzip.compress(("\n".join(lines) + "\n").encode())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    ap.add_argument("--ingest-batches", type=int, default=5)
    ap.add_argument("--batch-events", type=int, default=5_000)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary HUNTWATCH_HOME for inspection")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="hw_bench_api_"))
    os.environ["HUNTWATCH_HOME"] = str(home)
    if args.database_url:
        os.environ["HUNTWATCH_DATABASE_URL"] = args.database_url
    started = time.perf_counter()
    ids, tokens = build(args.tenants, args.alerts)
    print(f"built {args.tenants} tenants, {args.alerts} alerts in {time.perf_counter() - started:.1f} s ({home})")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server, thread = serve(port)
    base = f"http://127.0.0.1:{port}/api/v1"
    some_alert = (ids[0] - 1) + 1  # the first tenant's first alert has id 1
    cases = [
        ("analyst", "alert queue, first page", "/alerts"),
        ("analyst", "alert queue, page 3, by severity", "/alerts?sort=-severity&page=3&page_size=25"),
        ("analyst", "alert queue, filtered", "/alerts?status=new&severity=high"),
        ("analyst", "notifications", "/notifications"),
        ("analyst", "alert detail", f"/alerts/{some_alert}"),
        ("analyst", "notification as OCSF", f"/alerts/{some_alert}/ocsf"),
        ("analyst", "notification as STIX", f"/alerts/{some_alert}/stix"),
        ("provider_admin", "all tenants' queue", "/alerts"),
        ("provider_admin", "all tenants' notifications, page 40", "/notifications?page=40"),
    ]
    print(f"\n{'who':15} {'endpoint':38} {'p50 ms':>8} {'p95 ms':>8}")
    for who, label, path in cases:
        with httpx.Client(headers={"Authorization": f"Bearer {tokens[who]}"}, timeout=60) as client:
            ms = timed(client, base + path, args.requests)
        print(f"{who:15} {label:38} {statistics.median(ms):8.1f} {percentile(ms, 95):8.1f}")

    events = 0
    seconds = 0.0
    with httpx.Client(headers={"Authorization": f"Bearer {tokens['sensor']}", "Content-Encoding": "gzip"},
                      timeout=300) as client:  # fmt: skip
        for b in range(args.ingest_batches):
            body = sensor_events(args.batch_events, b * args.batch_events)
            t0 = time.perf_counter()
            r = client.post(f"{base}/ingest?source=bench", content=body)
            seconds += time.perf_counter() - t0
            r.raise_for_status()
            events += r.json()["events_written"]
    print(f"\ningest over HTTP: {events} events in {seconds:.2f} s = {events / seconds:,.0f} events/s "
          f"(gzip NDJSON, {args.batch_events} events per request)")  # fmt: skip
    server.should_exit = True
    thread.join(10)
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
