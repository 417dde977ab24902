"""Every portal page renders for the roles that use it, with hostile telemetry shown as text only."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from huntwatch.state.testing import database_url
from huntwatch.web.pages import CSP
from tests.web.pages.conftest import sign_in
from tests.web.pages.world import EVIL_DEVICE, EVIL_SHA, HOSTILE, IMG, SCRIPT, TEMPLATE


@pytest.fixture
def db_url(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """Rendering does not depend on the database: these run on SQLite only; isolation and forms run on both."""
    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path / "home"))
    with database_url("sqlite", tmp_path, migrated=True) as url:
        yield url


RAW_MARKUP = ("<script>alert", "<img src=x", 'onerror="alert', "<i>.corp")


def customer_pages(world) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        "/alerts",
        "/alerts?tag=Endpoint+Attack+Notification&sort=-severity",
        f"/alerts/{world.evil_alert}",
        "/incidents",
        f"/incidents/{world.evil_story}",
        "/devices",
        "/devices/" + quote(EVIL_DEVICE, safe=""),
        f"/files/{EVIL_SHA}",
        "/hunting",
        "/settings/advanced",
    ]


def assert_escaped(html: str) -> None:
    for raw in RAW_MARKUP:
        assert raw not in html, f"unescaped {raw!r}"
    assert "&lt;script&gt;alert(" in html or "&lt;script&gt;" in html


def test_sign_in_required_and_redirects_back(app) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    r = TestClient(app).get("/alerts?status=new", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in?next=%2Falerts%3Fstatus%3Dnew"


def test_wrong_password_is_refused_on_the_page(app, world) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    r = TestClient(app).post("/sign-in", data={"email": "tenant_admin@a.test", "password": "nope"})
    assert r.status_code == 401
    assert "wrong e-mail or password" in r.text


def test_next_is_only_a_local_path(app, world) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    client = TestClient(app)
    data = {"email": "tenant_admin@a.test", "password": world.password, "next": "//evil.example/x"}
    r = client.post("/sign-in", data=data, follow_redirects=False)
    assert r.headers["location"] == "/alerts"


def test_customer_pages_render_escaped_with_csp(as_user, world) -> None:  # type: ignore[no-untyped-def]
    client = as_user("a_admin")
    for path in customer_pages(world):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert r.headers["content-security-policy"] == CSP
        assert "'unsafe-inline'" not in CSP
        assert "<script>" not in r.text.replace('<script src="/static/portal.js" defer></script>', "")
        if path != "/hunting" and path != "/settings/advanced" and not path.startswith("/alerts?"):
            assert_escaped(r.text)


def test_alert_page_has_every_part_and_the_actions_menu(as_user, world) -> None:  # type: ignore[no-untyped-def]
    html = as_user("a_analyst").get(f"/alerts/{world.evil_alert}").text
    for heading in ("Summary", "Scope of compromise", "Timeline", "Process trees", "Recommendations", "Evidence",
                    "Hunting queries", "Method of entry"):  # fmt: skip
        assert heading in html
    assert f'href="/cases/new?context=alert&amp;id={world.evil_alert}"' in html
    assert "Ask Huntwatch Experts" in html
    assert TEMPLATE in html  # template syntax from telemetry is shown as typed, never evaluated
    assert '<svg class="graph"' in html and '<svg class="tree"' in html and '<svg class="timeline"' in html


def test_device_and_file_pages(as_user, world) -> None:  # type: ignore[no-untyped-def]
    client = as_user("a_reader")
    device = client.get("/devices/" + quote(EVIL_DEVICE, safe="")).text
    assert "Logged-on users" in device and "Ask Huntwatch Experts" in device and "context=device" in device
    assert "risk-high" in device  # a published notification names it
    file = client.get(f"/files/{EVIL_SHA}").text
    assert EVIL_SHA in file and "context=file" in file
    assert "1</strong> of 4 devices" in file


def test_alert_queue_filters_sorts_and_marks_notifications(as_user, world) -> None:  # type: ignore[no-untyped-def]
    client = as_user("a_admin")
    html = client.get("/alerts").text
    assert 'class="notification"' in html and "★ Endpoint Attack Notification" in html
    assert "No alerts match." in client.get("/alerts?severity=low").text
    assert "No alerts match." in client.get("/alerts?q=" + quote("no such title")).text


def test_empty_states_say_what_to_do(app, world, db) -> None:  # type: ignore[no-untyped-def]
    client = sign_in(app, "tenant_admin@b.test", world.password)
    assert "apply for Endpoint Attack Notifications" in client.get("/alerts").text
    assert "No incidents yet" not in client.get("/incidents").text  # tenant B has a story


def test_console_and_workbench_for_experts(as_user, world) -> None:  # type: ignore[no-untyped-def]
    client = as_user("expert")
    queue = client.get("/console").text
    assert "Credential theft and lateral movement from ws001" in queue
    assert "0.92" in queue and "model" in queue
    bench = client.get(f"/console/stories/{world.story}").text
    for part in ("Verdict", "Publish notification", "Executive summary", "Scope (JSON)", "Evidence (leads)"):
        assert part in bench
    hostile = client.get(f"/console/stories/{world.evil_story}")
    assert hostile.status_code == 200
    assert_escaped(hostile.text)


@pytest.mark.parametrize("path", ["/admin/enrollments", "/admin/subscriptions", "/admin/users", "/admin/models"])
def test_provider_admin_pages(as_user, path) -> None:  # type: ignore[no-untyped-def]
    r = as_user("provider_admin").get(path)
    assert r.status_code == 200
    assert "<h1>" in r.text


def test_enrollment_page_shows_checks(as_user) -> None:  # type: ignore[no-untyped-def]
    html = as_user("provider_admin").get("/admin/enrollments").text
    assert "devices reporting" in html and "hunt coverage" in html and "region and plan" in html


def test_static_files_and_no_inline_script(app) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    client = TestClient(app)
    assert "focus-visible" in client.get("/static/portal.css").text
    assert client.get("/static/portal.js").status_code == 200
    html = client.get("/sign-in").text
    assert 'href="#main"' in html  # skip link
    assert "style=" not in html and "onclick" not in html


def test_hostile_names_in_scope_json_stay_text(as_user, world) -> None:  # type: ignore[no-untyped-def]
    html = as_user("expert").get(f"/console/stories/{world.evil_story}").text
    assert IMG not in html and SCRIPT not in html
    assert all(h not in html for h in HOSTILE[:2])
