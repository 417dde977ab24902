"""Tenant isolation over every API route: the routes come from the OpenAPI document, so a new route that is
not listed here fails the test until someone decides how it must be refused."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from huntwatch.service import Actor, accounts, cases, delivering, enrollment, publishing
from huntwatch.service.testing import enroll
from huntwatch.state import Base, StoryEvent

PUBLIC = {("GET", "/api/v1/health"), ("POST", "/api/v1/auth/sign-in")}
SELF = {("POST", "/api/v1/auth/sign-out"), ("GET", "/api/v1/auth/me"), ("GET", "/api/v1/delivery/channels")}
WEBHOOK = {"channel": "webhook", "config": {"url": "http://127.0.0.1:9/x", "secret": "0123456789abcdef0"}}


def bodies(t: int) -> dict[tuple[str, str], Any]:
    """A valid body for every state-changing route, aimed at tenant ``t``."""
    p = "/api/v1"
    return {
        ("POST", f"{p}/tenants"): {"slug": "intruder", "name": "x"},
        ("PUT", f"{p}/tenants/{{tenant_id}}/policy"): {"auto_publish_min_score": 0.5},
        ("POST", f"{p}/tenants/{{tenant_id}}/enrollment"): {
            "applicant_name": "x",
            "applicant_email": "x@x.test",
            "privacy_accepted": True,
        },
        ("POST", f"{p}/tenants/{{tenant_id}}/enrollment/recheck"): None,
        ("POST", f"{p}/tenants/{{tenant_id}}/enrollment/decision"): {"accept": False, "reason": "no"},
        ("PUT", f"{p}/tenants/{{tenant_id}}/enrollment/enabled"): {"enabled": False},
        ("POST", f"{p}/subscriptions"): {"tenant_id": t, "starts_at": "2026-01-01T00:00:00"},
        ("POST", f"{p}/subscriptions/{{subscription_id}}/end"): {},
        ("POST", f"{p}/users"): {"email": "evil@x.test", "password": "long enough pw", "role": "tenant_admin",
                                 "tenant_id": t},
        ("PATCH", f"{p}/users/{{user_id}}"): {"disabled": True},
        ("POST", f"{p}/tokens"): {"role": "sensor", "tenant_id": t},
        ("DELETE", f"{p}/tokens/{{token_id}}"): None,
        ("PATCH", f"{p}/alerts/{{alert_id}}"): {"status": "resolved"},
        ("POST", f"{p}/stories/{{story_id}}/publish"): {},
        ("POST", f"{p}/stories/{{story_id}}/take"): None,
        ("POST", f"{p}/stories/{{story_id}}/release"): None,
        ("POST", f"{p}/stories/{{story_id}}/verdicts"): {"verdict": "false_positive"},
        ("POST", f"{p}/tenants/{{tenant_id}}/delivery/settings"): WEBHOOK,
        ("PUT", f"{p}/tenants/{{tenant_id}}/delivery/settings/{{setting_id}}"): WEBHOOK,
        ("DELETE", f"{p}/delivery/settings/{{setting_id}}"): None,
        ("POST", f"{p}/tenants/{{tenant_id}}/contacts"): {"priority": "primary", "name": "x", "email": "x@x.test"},
        ("DELETE", f"{p}/contacts/{{contact_id}}"): None,
        ("POST", f"{p}/tenants/{{tenant_id}}/sample-notification"): None,
        ("POST", f"{p}/ingest"): "raw",
        ("POST", f"{p}/cases"): {"tenant_id": t, "category": "threat_intelligence", "question": "q",
                                 "correspondence_email": "x@x.test"},
        ("POST", f"{p}/cases/{{case_id}}/messages"): {"body": "hello"},
        ("POST", f"{p}/cases/{{case_id}}/progress-reports"): {"outcome": "more_time_needed", "body": "x"},
        ("POST", f"{p}/cases/{{case_id}}/status"): {"status": "closed"},
        ("POST", f"{p}/cases/{{case_id}}/assign"): None,
        ("POST", f"{p}/cases/{{case_id}}/links"): {},
        ("POST", f"{p}/cases/{{case_id}}/publish"): {"message_id": 1},
        ("POST", f"{p}/cases/{{case_id}}/attachments"): {"filename": "x.txt", "content_base64": "eA=="},
        ("POST", f"{p}/case-templates"): {"title": "t", "body": "b"},
        ("DELETE", f"{p}/case-templates/{{template_id}}"): None,
        ("PUT", f"{p}/case-sla-policies/{{plan}}"): {"first_response_days": 1},
    }  # fmt: skip


def routes(client: TestClient) -> list[tuple[str, str, set[str]]]:
    """(method, path template, query parameter names) of every documented route."""
    doc = client.get("/api/v1/openapi.json").json()
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            query = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            out.append((method.upper(), path, query))
    return out


def owned_objects(w, tenant_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One object of every kind for ``tenant_id``, keyed by the path parameter that names it."""
    system = Actor.system("test")
    with w.db.session() as s:
        ids = {
            "tenant_id": tenant_id,
            "story_id": w.story if tenant_id == w.a else w.b_story,
            "alert_id": publishing.generate_sample(s, system, tenant_id).id,
            "setting_id": delivering.save_setting(s, system, tenant_id, WEBHOOK["channel"], WEBHOOK["config"]).id,
            "contact_id": delivering.add_contact(s, system, tenant_id, "primary", "C", "c@x.test").id,
            "subscription_id": enrollment.add_subscription(s, system, tenant_id, dt.datetime(2026, 1, 1)).id,
            "token_id": accounts.create_token(s, system, "sensor", tenant_id, "victim")[1].id,
            "user_id": accounts.create_user(s, system, f"victim{tenant_id}@x.test", "long enough pw",
                                            "tenant_reader", tenant_id).id,
            "template_id": cases.create_template(s, system, f"template {tenant_id}", "body").id,
            "plan": "standard",
        }  # fmt: skip
        ids["case_id"] = cases.ask(s, system, tenant_id, category="threat_intelligence", question="q",
                                   correspondence_email="c@x.test").id  # fmt: skip
        ids["attachment_id"] = cases.add_attachment(s, system, ids["case_id"], "n.txt", b"x").id
    return ids


def snapshot(w, tenant_id: int) -> str:  # type: ignore[no-untyped-def]
    """Every state row of the tenant (and its lake), to prove nothing changed."""
    rows: dict[str, list] = {}
    with w.db.session() as s:
        for name, table in sorted(Base.metadata.tables.items()):
            if "tenant_id" in table.c and name != "api_tokens":
                q = select(table).where(table.c.tenant_id == tenant_id).order_by(*table.primary_key.columns)
                rows[name] = [dict(r._mapping) for r in s.execute(q)]
        tokens = Base.metadata.tables["api_tokens"]
        q = select(tokens.c.id, tokens.c.revoked_at).where(tokens.c.tenant_id == tenant_id).order_by(tokens.c.id)
        rows["api_tokens"] = [tuple(r) for r in s.execute(q)]
        rows["story_events"] = [r.id for r in s.scalars(select(StoryEvent).order_by(StoryEvent.id))]
    slug = "tenant-a" if tenant_id == w.a else "tenant-b"
    rows["lake"] = [w.engine.store.catalog(slug).last_seq]
    return json.dumps(rows, default=str, sort_keys=True)


def call(client: TestClient, method: str, template: str, query: set[str], ids: dict[str, int], body: Any):  # type: ignore[no-untyped-def]
    path = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), template)
    params = {k: ids[k] for k in ("tenant_id", "story_id") if k in query}
    if body == "raw":
        return client.request(method, path, params=params, content=b"{}\n")
    return client.request(method, path, params=params, json=body)


def leaks(payload: Any, other: int, other_slug: str) -> bool:
    """Whether a response mentions the other tenant's id (as a tenant_id) or its slug."""
    if isinstance(payload, dict):
        if payload.get("tenant_id") == other:
            return True
        return any(leaks(v, other, other_slug) for v in payload.values())
    if isinstance(payload, list):
        return any(leaks(v, other, other_slug) for v in payload)
    return isinstance(payload, str) and payload == other_slug


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def iso(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    """One world per backend for the whole module: these tests only read, or prove nothing changed."""
    from argon2 import PasswordHasher

    from huntwatch.config import settings
    from huntwatch.state import Database
    from huntwatch.state.testing import database_url
    from huntwatch.web.testing import build_app_world

    directory = tmp_path_factory.mktemp(f"iso-{request.param}")
    patch = pytest.MonkeyPatch()
    patch.setenv("HUNTWATCH_HOME", str(directory / "home"))
    patch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    try:
        required = os.environ.get("CI") == "true"
        with database_url(request.param, directory, postgres_required=required, migrated=True) as url:
            db = Database(url)
            w = build_app_world(db, settings())
            enroll(w, w.a)
            w.ids_a, w.ids_b = owned_objects(w, w.a), owned_objects(w, w.b)
            with w.db.session() as s:  # tenant B has applied but is not accepted
                enrollment.apply(s, w.actors["b_admin"], w.b, "Bob", "bob@b.test", True, w.engine)
            yield w
            db.engine.dispose()
    finally:
        patch.undo()


def _client(w, name: str) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(w.app, headers={"Authorization": f"Bearer {w.tokens[name]}"})


def test_every_route_is_covered_by_this_test(iso):
    documented = {(m, p) for m, p, _ in routes(_client(iso, "a_admin"))}
    writes = {(m, p) for m, p in documented if m != "GET"}
    assert writes - PUBLIC - SELF == set(bodies(iso.b)), "state-changing routes without a body in this test"


@pytest.mark.parametrize("who", ["a_admin", "a_analyst", "a_reader"])
def test_tenant_a_can_neither_read_nor_change_tenant_b(iso, who):
    w = iso
    client = _client(w, who)
    before = snapshot(w, w.b)
    table = bodies(w.b)
    for method, template, query in routes(client):
        if (method, template) in PUBLIC | SELF:
            continue
        r = call(client, method, template, query, w.ids_b, table.get((method, template)))
        targeted = "{" in template or "tenant_id" in query or method != "GET"
        if targeted:
            assert r.status_code in (403, 404), (method, template, r.status_code, r.text)
        else:
            assert r.status_code in (200, 403), (method, template, r.status_code)
        if r.status_code == 200:
            assert not leaks(r.json(), w.b, "tenant-b"), (method, template)
    assert snapshot(w, w.b) == before


def test_reader_cannot_change_state_of_its_own_tenant(iso):
    w = iso
    client = _client(w, "a_reader")
    before = snapshot(w, w.a)
    table = bodies(w.a)
    for method, template, query in routes(client):
        if method == "GET" or (method, template) in PUBLIC | SELF:
            continue
        r = call(client, method, template, query, w.ids_a, table[(method, template)])
        assert r.status_code in (403, 404), (method, template, r.status_code, r.text)
    assert snapshot(w, w.a) == before


def test_expert_sees_only_enrolled_tenants(iso):
    w = iso
    client = _client(w, "expert")
    before = snapshot(w, w.b)
    for method, template, query in routes(client):
        if (method, template) in PUBLIC | SELF:
            continue
        body = bodies(w.b).get((method, template))
        r = call(client, method, template, query, w.ids_b, body)
        if "{" in template or "tenant_id" in query or method != "GET":
            assert r.status_code in (403, 404), (method, template, r.status_code, r.text)
        elif r.status_code == 200:
            assert not leaks(r.json(), w.b, "tenant-b"), (method, template)
    assert snapshot(w, w.b) == before
    assert [t["slug"] for t in client.get("/api/v1/tenants").json()] == ["tenant-a"]
    assert client.get(f"/api/v1/alerts/{w.ids_a['alert_id']}").status_code == 200


def test_sensor_token_can_only_ingest(iso):
    w = iso
    client = _client(w, "a_sensor")
    before = snapshot(w, w.a)
    for method, template, query in routes(client):
        if (method, template) in PUBLIC or template == "/api/v1/ingest":
            continue
        r = call(client, method, template, query, w.ids_a, bodies(w.a).get((method, template)))
        assert r.status_code == 403, (method, template, r.status_code, r.text)
    assert snapshot(w, w.a) == before
    assert client.post("/api/v1/ingest", content=b"{}\n").status_code == 200


def test_no_route_answers_without_credentials(iso):
    client = TestClient(iso.app)
    for method, template, query in routes(client):
        if (method, template) in PUBLIC:
            continue
        r = call(client, method, template, query, iso.ids_a, bodies(iso.a).get((method, template)))
        assert r.status_code == 401, (method, template, r.status_code)


def test_positive_control_own_tenant_reads_succeed(iso):
    """The refusals above mean something only if the same calls succeed on the caller's own tenant."""
    w = iso
    client = _client(w, "a_admin")
    provider_only = {"/api/v1/enrollments", "/api/v1/queue", "/api/v1/stories/{story_id}/draft",
                     "/api/v1/case-templates", "/api/v1/case-sla-policies"}  # fmt: skip
    checked = 0
    for method, template, query in routes(client):
        if method != "GET" or (method, template) in PUBLIC | SELF or template in provider_only:
            continue
        r = call(client, method, template, query, w.ids_a, None)
        assert r.status_code == 200, (template, r.status_code, r.text)
        checked += 1
    assert checked >= 19
