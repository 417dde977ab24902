"""Pages never show one tenant's data to another, refuse forms without CSRF, and drive the real workflows."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from huntwatch.state import Alert, Enrollment
from tests.web.pages.conftest import csrf_of
from tests.web.pages.world import B_DEVICE, B_SHA, EVIL_DEVICE, EVIL_SHA


def test_tenant_b_sees_nothing_of_tenant_a(as_user, world) -> None:  # type: ignore[no-untyped-def]
    client = as_user("b_admin")
    for path in (
        f"/alerts/{world.evil_alert}",
        f"/incidents/{world.evil_story}",
        f"/incidents/{world.story}",
        "/devices/" + quote(EVIL_DEVICE, safe=""),
        f"/files/{EVIL_SHA}",
        "/alerts?tenant=tenant-a",
        "/devices?tenant=tenant-a",
        f"/console/stories/{world.story}",
    ):
        r = client.get(path)
        assert r.status_code in (403, 404), (path, r.status_code)
        assert "Credential theft" not in r.text and "ws001.tenant-a" not in r.text
    devices = client.get("/devices").text
    assert B_DEVICE in devices and "tenant-a.test" not in devices
    assert client.get(f"/files/{B_SHA}").status_code == 200
    assert "Credential theft" not in client.get("/incidents").text


def test_advanced_hunting_is_sandboxed_to_the_tenant(as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user("b_reader")
    token = csrf_of(client, "/hunting")
    r = client.post("/hunting", data={"csrf": token, "sql": "SELECT DISTINCT DeviceName FROM RawEvents ORDER BY 1"})
    assert r.status_code == 200
    assert B_DEVICE in r.text and "tenant-a.test" not in r.text
    r = client.post("/hunting", data={"csrf": token, "sql": "SELECT * FROM read_csv('/etc/passwd')"})
    assert r.status_code == 422 and "root:x" not in r.text
    r = client.post("/hunting", data={"csrf": token, "sql": "SELECT count(*) FROM 'tenant=tenant-a/**/*.parquet'"})
    assert r.status_code == 422


def test_csv_export_neutralises_formulas(as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user("a_analyst")
    token = csrf_of(client, "/hunting")
    sql = "SELECT '=HYPERLINK(\"http://x\")' AS f, 42 AS n"
    r = client.post("/hunting/export.csv", data={"csrf": token, "sql": sql})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows == [["f", "n"], ['\'=HYPERLINK("http://x")', "42"]]


def test_forms_need_the_session_csrf_token(as_user, world) -> None:  # type: ignore[no-untyped-def]
    client = as_user("a_admin")
    r = client.post("/settings/advanced/sample", data={})
    assert r.status_code == 403
    r = client.post("/settings/advanced/sample", data={"csrf": "forged"})
    assert r.status_code == 403


def test_readers_cannot_change_settings(as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user("a_reader")
    token = csrf_of(client, "/hunting")
    r = client.post("/settings/advanced/sample", data={"csrf": token})
    assert r.status_code == 403
    assert client.get("/admin/users").status_code == 403


def test_enrollment_from_apply_to_toggle(as_user, world) -> None:  # type: ignore[no-untyped-def]
    b_admin = as_user("b_admin")
    token = csrf_of(b_admin)
    r = b_admin.post("/settings/advanced/apply", data={"csrf": token, "name": "Bea", "email": "bea@b.test",
                                                       "privacy": "yes"}, follow_redirects=True)  # fmt: skip
    assert "Application sent" in r.text and "pending" in r.text
    provider = as_user("provider_admin")
    ptoken = csrf_of(provider, "/admin/enrollments")
    r = provider.post(f"/admin/enrollments/{world.b}/decide", data={"csrf": ptoken, "decision": "reject"})
    assert r.status_code == 422 and "needs a reason" in r.text
    data = {"csrf": ptoken, "decision": "accept"}
    r = provider.post(f"/admin/enrollments/{world.b}/decide", data=data, follow_redirects=False)
    assert r.status_code == 303
    page = b_admin.get("/settings/advanced").text
    assert "Switch off" in page
    b_admin.post("/settings/advanced/toggle", data={"csrf": token, "enabled": "off"})
    with world.db.session() as s:
        assert s.query(Enrollment).filter_by(tenant_id=world.b).one().enabled is False


def test_delivery_contacts_and_sample(as_user, world) -> None:  # type: ignore[no-untyped-def]
    client = as_user("a_admin")
    token = csrf_of(client)
    r = client.post("/settings/advanced/delivery", data={"csrf": token, "channel": "webhook", "config": "{not json"})
    assert r.status_code == 422 and "not valid JSON" in r.text
    config = '{"url": "http://127.0.0.1:9/hook", "secret": "s3cret-value-long"}'
    r = client.post("/settings/advanced/delivery", data={"csrf": token, "channel": "webhook", "name": "SIEM",
                                                         "config": config}, follow_redirects=True)  # fmt: skip
    assert "Delivery settings saved" in r.text and "s3cret-value-long" not in r.text
    r = client.post("/settings/advanced/contacts", data={"csrf": token, "priority": "primary", "name": "Sam",
                                                         "email": "sam@a.test"}, follow_redirects=True)  # fmt: skip
    assert "sam@a.test" in r.text
    r = client.post("/settings/advanced/sample", data={"csrf": token}, follow_redirects=True)
    assert "Sample notification generated" in r.text
    with world.db.session() as s:
        assert s.query(Alert).filter_by(tenant_id=world.a, is_sample=True).count() == 1


def test_publish_from_the_workbench(as_user, world) -> None:  # type: ignore[no-untyped-def]
    expert = as_user("expert")
    token = csrf_of(expert, f"/console/stories/{world.story}")
    data = {"csrf": token, "title": "Edited <b>title</b>", "severity": "critical", "executive_summary": "Edited.",
            "method_of_entry": "RDP", "recommendations": "Isolate ws001\nReset alice",
            "scope": '{"devices": ["ws001"]}'}  # fmt: skip
    r = expert.post(f"/console/stories/{world.story}/publish", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/alerts/")
    page = expert.get(r.headers["location"]).text
    assert "Edited &lt;b&gt;title&lt;/b&gt;" in page and "Reset alice" in page
    again = expert.post(f"/console/stories/{world.story}/publish", data=data)
    assert again.status_code == 409
    verdict = {"csrf": token, "verdict": "false_positive"}
    r = expert.post(f"/console/stories/{world.low_story}/verdict", data=verdict, follow_redirects=False)
    assert r.status_code == 303
    assert "false positive by user:expert@provider.test" in expert.get(f"/console/stories/{world.low_story}").text
    customer = as_user("a_reader")
    assert "Edited &lt;b&gt;title&lt;/b&gt;" in customer.get("/alerts").text
