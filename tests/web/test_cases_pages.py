"""Experts on demand pages: asking from the device, alert and file pages, the case page, the expert console."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from huntwatch.config import settings
from huntwatch.service import enrollment
from huntwatch.service.access import Actor
from huntwatch.state import utcnow
from huntwatch.state.models import Case
from huntwatch.web.app import create_app
from tests.web.pages.conftest import CSRF, sign_in
from tests.web.pages.world import EVIL_DEVICE, EVIL_SHA, SCRIPT, build

NOT_IR = "Not incident response."


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    return build(db, settings().lake_path)


@pytest.fixture
def app(db, world):  # type: ignore[no-untyped-def]
    return create_app(settings(), db=db, upgrade=False)


def _client(app, world, key: str) -> TestClient:  # type: ignore[no-untyped-def]
    return sign_in(app, world.actors[key].name, world.password)


def _csrf(html: str) -> str:
    match = CSRF.search(html)
    assert match
    return match.group(1)


def _subscribe(world) -> None:  # type: ignore[no-untyped-def]
    with world.db.session() as s:
        enrollment.add_subscription(s, Actor.system("t"), world.a, utcnow() - dt.timedelta(days=1))


def test_not_subscribed_the_action_explains_how_to_subscribe(app, world):
    admin = _client(app, world, "a_admin")
    page = admin.get("/cases/new", params={"context": "device", "id": EVIL_DEVICE})
    assert page.status_code == 200
    assert "not part of your subscription" in page.text and "Ask your provider" in page.text
    assert NOT_IR in page.text and 'id="ask-form"' not in page.text
    assert 'href="/cases"' in admin.get("/alerts").text  # the navigation links the cases list
    listing = admin.get("/cases")
    assert NOT_IR in listing.text and "Ask your provider" in listing.text


def test_ask_from_each_page_then_the_expert_answers(app, world, db):
    _subscribe(world)
    admin, expert = _client(app, world, "a_admin"), _client(app, world, "expert")
    asked = []
    for kind, ref in (("device", EVIL_DEVICE), ("alert", str(world.evil_alert)), ("file", EVIL_SHA)):
        form = admin.get("/cases/new", params={"context": kind, "id": ref})
        assert 'id="ask-form"' in form.text and NOT_IR in form.text
        assert SCRIPT not in form.text  # the hostile device name is escaped in the pre-filled topic
        topic = re.search(r'id="c-topic" name="topic" value="([^"]*)"', form.text).group(1)
        r = admin.post("/cases/new", data={
            "csrf": _csrf(form.text), "category": "device_behaviour", "question": f"What is {SCRIPT}?",
            "correspondence_email": "soc@a.test", "topic": topic.replace("&#34;", '"').replace("&#39;", "'")
            .replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"), "context_kind": kind, "context_ref": ref,
        }, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text
        page = admin.get(r.headers["location"])
        assert "Your question was sent" in page.text and SCRIPT not in page.text and NOT_IR in page.text
        asked.append(int(r.headers["location"].split("/")[2].split("?")[0]))
    with db.session() as s:
        assert [s.get(Case, c).context_kind for c in asked] == ["device", "alert", "file"]
        assert s.get(Case, asked[0]).topic == f"Device {EVIL_DEVICE}"
    queue = expert.get("/console/cases")
    assert all(f'href="/console/cases/{c}"' in queue.text for c in asked) and SCRIPT not in queue.text
    assert expert.get("/console/cases", params={"sla": "breached"}).text.count('href="/console/cases/') == 0
    bench = expert.get(f"/console/cases/{asked[1]}")
    assert "Root-cause chain candidates" in bench.text and SCRIPT not in bench.text
    r = expert.post(f"/console/cases/{asked[1]}/report", data={
        "csrf": _csrf(bench.text), "outcome": "more_information_needed", "body": "Which user ran <b>it</b>?",
    }, files={"file": ("notes.txt", b"expert notes", "text/plain")}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    case_page = admin.get(f"/cases/{asked[1]}")
    assert "Which user ran &lt;b&gt;it&lt;/b&gt;?" in case_page.text and "More information needed" in case_page.text
    assert "waiting on customer" in case_page.text
    link = re.search(r'href="(/cases/\d+/attachments/\d+)"', case_page.text).group(1)
    assert admin.get(link).content == b"expert notes"
    sample = {"file": ("samples.zip", b"PK\x03\x04data", "application/zip")}
    r = admin.post(f"/cases/{asked[1]}/reply", data={"csrf": _csrf(case_page.text), "body": "Eve did."},
                   files=sample, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert "in progress" in admin.get(f"/cases/{asked[1]}").text
    bad = admin.post(f"/cases/{asked[1]}/reply", data={"csrf": _csrf(case_page.text), "body": "x"},
                     files={"file": ("tool.exe", b"MZ", "application/octet-stream")})  # fmt: skip
    assert bad.status_code == 422 and "zipped" in bad.text
    # another tenant sees none of it
    other = _client(app, world, "b_admin")
    assert other.get(f"/cases/{asked[1]}").status_code == 404
    assert other.get(link).status_code == 404
    assert "Eve did." not in other.get("/cases").text


def test_illegal_status_change_is_explained_on_the_page(app, world):
    _subscribe(world)
    admin, expert = _client(app, world, "a_admin"), _client(app, world, "expert")
    form = admin.get("/cases/new")
    r = admin.post("/cases/new", data={"csrf": _csrf(form.text), "category": "threat_intelligence",
                                       "question": "FIN7?", "correspondence_email": "soc@a.test"},
                   follow_redirects=False)  # fmt: skip
    cid = int(r.headers["location"].split("/")[2].split("?")[0])
    bench = expert.get(f"/console/cases/{cid}")
    r = expert.post(f"/console/cases/{cid}/status", data={"csrf": _csrf(bench.text), "status": "resolved"})
    assert r.status_code == 409 and "cannot go from submitted to resolved" in r.text
    assert expert.get("/console/cases/999999").status_code == 404
    assert admin.get("/console/cases").status_code == 403


def test_provider_staff_open_the_customer_pages_with_the_tenant(app, world):
    _subscribe(world)
    admin = _client(app, world, "provider_admin")
    page = admin.get("/cases", params={"tenant": "tenant-a"})
    assert page.status_code == 200 and "Tenant A" in page.text
    assert (
        admin.get("/cases/new?" + "context=device&id=" + quote(EVIL_DEVICE, safe="") + "&tenant=tenant-a").status_code
        == 200
    )


def test_case_settings_sla_and_answer_templates(app, world):
    _subscribe(world)
    provider, expert, admin = (_client(app, world, k) for k in ("provider_admin", "expert", "a_admin"))
    page = provider.get("/console/case-settings")
    assert 'id="sla-form"' in page.text
    r = provider.post("/console/case-settings/sla", data={
        "csrf": _csrf(page.text), "plan": "standard", "first_response_days": "1", "resolution_days": "5",
        "reopen_days": "7", "weekend": "5,6", "holidays": "2026-12-24\n2026-12-25",
    }, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    r = provider.post("/console/case-settings/templates", data={
        "csrf": _csrf(page.text), "title": f"Benign {SCRIPT}", "outcome": "concluded", "body": "Known admin tool."},
        follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    shown = expert.get("/console/case-settings")
    assert "2026-12-24, 2026-12-25" in shown.text and SCRIPT not in shown.text and 'id="sla-form"' not in shown.text
    bad = expert.post("/console/case-settings/sla", data={"csrf": _csrf(shown.text), "plan": "standard"})
    assert bad.status_code == 403
    assert admin.get("/console/case-settings").status_code == 403
    form = admin.get("/cases/new")
    r = admin.post("/cases/new", data={"csrf": _csrf(form.text), "category": "threat_intelligence",
                                       "question": "FIN7?", "correspondence_email": "soc@a.test"},
                   follow_redirects=False)  # fmt: skip
    cid = int(r.headers["location"].split("/")[2].split("?")[0])
    assert "first_response_days" not in admin.get(f"/cases/{cid}").text
    assert "within 1.0 business days" in admin.get(f"/cases/{cid}").text
    template_id = re.search(r'<option value="(\d+)"[^>]*>Benign', expert.get(f"/console/cases/{cid}").text).group(1)
    bench = expert.get(f"/console/cases/{cid}", params={"template": template_id})
    assert ">Known admin tool.</textarea>" in bench.text and 'value="concluded" checked' in bench.text
