from __future__ import annotations

import gzip
import json

import pytest
from fastapi.testclient import TestClient

from huntwatch.service.testing import PASSWORD


def _client(w, token: str | None = None) -> TestClient:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {w.tokens[token]}"} if token else {}
    return TestClient(w.app, headers=headers)


def test_health_openapi_and_metrics(app_world):
    c = _client(app_world)
    assert c.get("/api/v1/health").json()["status"] == "ok"
    doc = c.get("/api/v1/openapi.json").json()
    assert "/api/v1/alerts" in doc["paths"] and "/api/v1/ingest" in doc["paths"]
    assert c.get("/api/v1/alerts").status_code == 401
    metrics = c.get("/metrics").text
    assert 'huntwatch_http_requests_total{method="GET",route="/api/v1/alerts",status="401"}' in metrics
    admin = _client(app_world, "a_admin")
    admin.post(f"/api/v1/tenants/{app_world.a}/sample-notification")
    assert 'huntwatch_alerts{severity="high",status="new"} 1.0' in c.get("/metrics").text


def test_session_sign_in_needs_csrf_for_changes(app_world):
    c = _client(app_world)
    assert c.post("/api/v1/auth/sign-in", json={"email": "tenant_admin@a.test", "password": "nope"}).status_code == 401
    r = c.post("/api/v1/auth/sign-in", json={"email": "tenant_admin@a.test", "password": PASSWORD})
    assert r.status_code == 200 and "hw_session" in r.cookies
    csrf = r.json()["csrf_token"]
    assert c.get("/api/v1/auth/me").json()["role"] == "tenant_admin"
    body = {"priority": "primary", "name": "Pat", "email": "pat@a.test"}
    assert c.post(f"/api/v1/tenants/{app_world.a}/contacts", json=body).status_code == 403
    bad = c.post(f"/api/v1/tenants/{app_world.a}/contacts", json=body, headers={"X-CSRF-Token": "x"})
    assert bad.status_code == 403
    ok = c.post(f"/api/v1/tenants/{app_world.a}/contacts", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201
    assert c.post("/api/v1/auth/sign-out", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert c.get("/api/v1/auth/me").status_code == 401


def test_enrollment_publish_queue_and_exports_over_http(app_world):
    w = app_world
    admin, provider, expert, reader = (_client(w, n) for n in ("a_admin", "provider_admin", "expert", "a_reader"))
    r = admin.post(
        f"/api/v1/tenants/{w.a}/enrollment",
        json={"applicant_name": "Ann", "applicant_email": "ann@a.test", "privacy_accepted": True},
    )
    assert r.status_code == 201 and r.json()["status"] == "pending"
    assert {c["name"] for c in r.json()["checks"]} >= {"devices_reporting", "channels_present", "region_and_plan"}
    assert admin.put(f"/api/v1/tenants/{w.a}/enrollment/enabled", json={"enabled": True}).status_code == 409
    assert [e["tenant_id"] for e in provider.get("/api/v1/enrollments?status=pending").json()] == [w.a]
    r = provider.post(f"/api/v1/tenants/{w.a}/enrollment/decision", json={"accept": True})
    assert r.json()["status"] == "accepted"
    queue = expert.get("/api/v1/queue").json()
    assert [st["id"] for st in queue] == [w.story, w.low_story]
    draft = expert.get(f"/api/v1/stories/{w.story}/draft").json()
    assert draft["severity"] == "critical"
    r = expert.post(f"/api/v1/stories/{w.story}/publish", json={"title": "Edited title", "note": "ok"})
    assert r.status_code == 201, r.text
    alert = r.json()
    assert (alert["title"], alert["tag"], alert["source"]) == (
        "Edited title",
        "Endpoint Attack Notification",
        "Huntwatch Experts",
    )
    page = reader.get("/api/v1/notifications").json()
    assert page["total"] == 1 and page["items"][0]["id"] == alert["id"]
    assert reader.get(f"/api/v1/alerts/{alert['id']}/ocsf").json()["class_uid"] == 2004
    assert reader.get(f"/api/v1/alerts/{alert['id']}/stix").json()["type"] == "bundle"
    assert reader.get(f"/api/v1/verdicts?story_id={w.story}").json()[0]["verdict"] == "confirmed_attack"
    assert reader.patch(f"/api/v1/alerts/{alert['id']}", json={"status": "resolved"}).status_code == 403
    analyst = _client(w, "a_analyst")
    assert analyst.patch(f"/api/v1/alerts/{alert['id']}", json={"status": "resolved"}).json()["status"] == "resolved"
    log = admin.get(f"/api/v1/tenants/{w.a}/delivery/log").json()
    assert log == []  # no channels configured: nothing to deliver, nothing logged


def test_alert_queue_paging_and_sorting(app_world):
    w = app_world
    admin = _client(w, "a_admin")
    for _ in range(5):
        assert admin.post(f"/api/v1/tenants/{w.a}/sample-notification").status_code == 201
    r = admin.get("/api/v1/alerts", params={"page": 2, "page_size": 2, "sort": "created_at"}).json()
    assert r["total"] == 5 and len(r["items"]) == 2 and r["page"] == 2
    assert admin.get("/api/v1/alerts", params={"sort": "drop table"}).status_code == 422
    assert admin.get("/api/v1/alerts", params={"page_size": 100000}).status_code == 422


def test_sensor_ingest_ndjson_gzip_limits_and_line_errors(app_world):
    w = app_world
    sensor = _client(w, "a_sensor")
    event = {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": 1,
                "EventRecordID": 7,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "WS001.corp.test",
                "TimeCreated": {"#attributes": {"SystemTime": "2026-11-20T10:00:00.000000Z"}},
            },
            "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami", "ProcessId": "42"},
        }
    }
    body = (json.dumps(event) + "\n{not json\n").encode()
    r = sensor.post("/api/v1/ingest?source=sensor-1", content=gzip.compress(body), headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["events_written"] >= 1 and report["error_count"] == 1 and report["errors"]
    assert w.engine.query("SELECT count(*) AS n FROM RawEvents", "tenant-a").column("n")[0].as_py() == 1
    assert w.engine.query("SELECT count(*) AS n FROM RawEvents", "tenant-b").column("n")[0].as_py() == 0
    w.app.state.ctx.max_ingest_bytes = 1000
    big = sensor.post("/api/v1/ingest", content=b"x" * 2000)
    assert big.status_code == 413
    bomb = gzip.compress(b" " * 100_000)
    assert sensor.post("/api/v1/ingest", content=bomb, headers={"Content-Encoding": "gzip"}).status_code == 413
    assert _client(w, "a_admin").post("/api/v1/ingest", content=body).status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/openapi.json"])
def test_openapi_documents_every_api_route(app_world, path):
    doc = _client(app_world).get(path).json()
    assert all(p.startswith("/api/v1/") for p in doc["paths"])
    assert len(doc["paths"]) >= 35
