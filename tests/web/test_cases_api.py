"""Experts on demand over the JSON API: ask, answer, lifecycle errors, attachments, SLA and the queue."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from fastapi.testclient import TestClient

from huntwatch.service import enrollment
from huntwatch.service.access import Actor
from huntwatch.service.testing import enroll
from huntwatch.state import utcnow
from tests.delivery.conftest import SECRET, webhook_receiver  # noqa: F401  (fixture)

P = "/api/v1"


@pytest.fixture
def w(app_world):  # type: ignore[no-untyped-def]
    enroll(app_world, app_world.a)
    with app_world.db.session() as s:
        enrollment.add_subscription(s, Actor.system("t"), app_world.a, utcnow() - dt.timedelta(days=1))
    return app_world


def client(w, name: str) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(w.app, headers={"Authorization": f"Bearer {w.tokens[name]}"})


def test_ask_answer_and_follow_the_case(w):
    admin, expert, reader = client(w, "a_admin"), client(w, "expert"), client(w, "a_reader")
    state = admin.get(f"{P}/tenants/{w.a}/experts-on-demand").json()
    assert state["allowed"] and "not incident response" in state["not_incident_response"]
    assert set(state["outcomes"]) == {"more_information_needed", "file_samples_needed", "more_time_needed", "concluded"}
    assert not client(w, "b_admin").get(f"{P}/tenants/{w.b}/experts-on-demand").json()["subscribed"]
    r = admin.post(f"{P}/cases", json={"category": "threat_intelligence", "question": "Who is behind <b>X</b>?",
                                       "correspondence_email": "soc@a.test"})  # fmt: skip
    assert r.status_code == 201, r.text
    case = r.json()
    assert (
        case["status"] == "submitted"
        and case["first_look"] is None
        and case["sla"]["first_response"]["state"] == ("running")
    )
    assert case["sla_terms"]["first_response_days"] == 2.0
    cid = case["id"]
    assert reader.post(f"{P}/cases/{cid}/messages", json={"body": "x"}).status_code == 403
    r = admin.post(f"{P}/cases/{cid}/status", json={"status": "resolved"})
    assert r.status_code == 409 and "cannot go from submitted to resolved" in r.json()["detail"]
    assert expert.get(f"{P}/cases/{cid}").json()["first_look"] == {}
    r = expert.post(f"{P}/cases/{cid}/progress-reports", json={"outcome": "more_information_needed",
                                                               "body": "Which devices?"})  # fmt: skip
    assert r.status_code == 201 and r.json()["side"] == "expert"
    now = admin.get(f"{P}/cases/{cid}").json()
    assert now["status"] == "waiting_on_customer" and now["assigned_to"] == "token:expert"
    assert now["sla"]["first_response"]["state"] == "stopped" and now["sla"]["resolution"]["state"] == "paused"
    assert admin.post(f"{P}/cases/{cid}/messages", json={"body": "ws001 and ws002"}).status_code == 201
    assert admin.get(f"{P}/cases/{cid}").json()["status"] == "in_progress"
    thread = reader.get(f"{P}/cases/{cid}/messages").json()
    assert [(m["side"], m["outcome"]) for m in thread] == [("expert", "more_information_needed"), ("customer", None)]
    history = [h["to_status"] for h in reader.get(f"{P}/cases/{cid}/history").json()]
    assert history == ["submitted", "in_progress", "waiting_on_customer", "in_progress"]
    queue = expert.get(f"{P}/cases", params={"sort": "time_left", "status": "in_progress"}).json()
    assert [c["id"] for c in queue] == [cid]
    assert expert.get(f"{P}/cases", params={"sla": "nonsense"}).status_code == 422
    assert client(w, "b_admin").get(f"{P}/cases/{cid}").status_code == 404
    assert client(w, "b_admin").get(f"{P}/cases").json() == []


def test_attachments_limits_and_isolation_over_http(w):
    admin = client(w, "a_admin")
    cid = admin.post(f"{P}/cases", json={"category": "device_behaviour", "question": "q",
                                         "correspondence_email": "soc@a.test"}).json()["id"]  # fmt: skip
    body = {"filename": "evidence.csv", "content_base64": base64.b64encode(b"a,b\n").decode()}
    r = admin.post(f"{P}/cases/{cid}/attachments", json=body)
    assert r.status_code == 201 and r.json()["content_type"] == "text/csv"
    aid = r.json()["id"]
    got = client(w, "a_reader").get(f"{P}/case-attachments/{aid}")
    assert got.content == b"a,b\n" and got.headers["content-disposition"].startswith("attachment")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert client(w, "b_admin").get(f"{P}/case-attachments/{aid}").status_code == 404
    big = {"filename": "big.txt", "content_base64": base64.b64encode(b"x" * (10 * 1024 * 1024 + 1)).decode()}
    assert admin.post(f"{P}/cases/{cid}/attachments", json=big).status_code == 422
    exe = {"filename": "tool.exe", "content_base64": base64.b64encode(b"MZ").decode()}
    assert "zipped" in admin.post(f"{P}/cases/{cid}/attachments", json=exe).json()["detail"]
    assert (
        admin.post(f"{P}/cases/{cid}/attachments", json={"filename": "a.txt", "content_base64": "@@"}).status_code
        == 422
    )


def test_templates_and_sla_policies_are_the_providers(w):
    provider, expert, admin = client(w, "provider_admin"), client(w, "expert"), client(w, "a_admin")
    r = provider.put(f"{P}/case-sla-policies/standard", json={"first_response_days": 1, "resolution_days": 4,
                                                              "holidays": ["2026-12-25"]})  # fmt: skip
    assert r.status_code == 200 and r.json()["holidays"] == ["2026-12-25"]
    assert expert.put(f"{P}/case-sla-policies/standard", json={}).status_code == 403
    assert admin.get(f"{P}/tenants/{w.a}/case-sla").json()["first_response_days"] == 1
    assert provider.put(f"{P}/case-sla-policies/standard", json={"weekend": [1, 2, 3, 4, 5, 6, 7]}).status_code == 422
    tpl = provider.post(f"{P}/case-templates", json={"title": "Benign", "body": "Known tool.", "outcome": "concluded"})
    assert tpl.status_code == 201
    assert [t["title"] for t in expert.get(f"{P}/case-templates").json()] == ["Benign"]
    cid = admin.post(f"{P}/cases", json={"category": "device_behaviour", "question": "q",
                                         "correspondence_email": "soc@a.test"}).json()["id"]  # fmt: skip
    r = expert.post(f"{P}/cases/{cid}/progress-reports", json={"outcome": "concluded", "template_id": tpl.json()["id"]})
    assert r.status_code == 201 and r.json()["body"] == "Known tool."
    assert admin.get(f"{P}/cases/{cid}").json()["status"] == "resolved"
    assert provider.delete(f"{P}/case-templates/{tpl.json()['id']}").status_code == 204


def test_an_expert_reply_is_delivered_to_the_tenants_webhook(w, webhook_receiver):  # noqa: F811
    admin, expert = client(w, "a_admin"), client(w, "expert")
    hook = {"channel": "webhook", "config": {"url": webhook_receiver.url, "secret": SECRET}}
    assert admin.post(f"{P}/tenants/{w.a}/delivery/settings", json=hook).status_code == 201
    cid = admin.post(f"{P}/cases", json={"category": "device_behaviour", "question": "q",
                                         "correspondence_email": "soc@a.test"}).json()["id"]  # fmt: skip
    admin.post(f"{P}/cases/{cid}/messages", json={"body": "customer note"})
    assert webhook_receiver.requests == []  # the customer's own words are not sent back to them
    r = expert.post(f"{P}/cases/{cid}/messages", json={"body": "We are on it."})
    assert r.status_code == 201
    got = webhook_receiver.requests[-1]["json"]
    assert got["kind"] == "case_update" and got["data"]["body"] == "We are on it." and got["data"]["case_id"] == cid
    shown = admin.get(f"{P}/cases/{cid}/deliveries").json()
    assert [(d["channel"], d["status"]) for d in shown] == [("webhook", "delivered")]
