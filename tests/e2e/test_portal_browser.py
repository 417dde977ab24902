"""The portal in Chromium: sign in, browse every page with hostile telemetry, publish from the workbench.

One browser for the session and one test walking every page, because each page costs seconds; every page is
saved as a screenshot under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.e2e.conftest import check_and_capture, sign_in
from tests.web.pages.world import EVIL_CMD, EVIL_DEVICE, EVIL_SHA, SCRIPT, TEMPLATE

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_portal_end_to_end(browser, server) -> None:  # type: ignore[no-untyped-def]
    w, base = server.world, server.url
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    blocked: list[str] = []  # our own pages must not need anything the CSP forbids
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto(f"{base}/alerts")
    assert "/sign-in" in page.url
    check_and_capture(page, "01-sign-in", dialogs)

    sign_in(page, base, "tenant_admin@a.test", w.password)
    assert page.url.endswith("/alerts")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"  # keyboard users can skip the navigation
    customer = [
        ("02-alerts", "/alerts"),
        ("03-alert", f"/alerts/{w.evil_alert}"),
        ("04-incidents", "/incidents"),
        ("05-incident", f"/incidents/{w.evil_story}"),
        ("06-devices", "/devices"),
        ("07-device", "/devices/" + quote(EVIL_DEVICE, safe="")),
        ("08-file", f"/files/{EVIL_SHA}"),
        ("09-settings", "/settings/advanced"),
    ]
    for name, path in customer:
        page.goto(base + path)
        check_and_capture(page, name, dialogs)
    page.goto(f"{base}/alerts/{w.evil_alert}")
    text = page.inner_text("main")
    assert SCRIPT in text and TEMPLATE in text and "javascript:alert(3)" in text
    page.click("details.actions summary")
    assert page.is_visible("text=Ask Huntwatch Experts")
    page.goto(f"{base}/devices/" + quote(EVIL_DEVICE, safe=""))
    assert EVIL_CMD.split(" ")[0] in page.inner_text("main") and SCRIPT in page.inner_text("main")

    page.goto(f"{base}/hunting")
    page.click("button.insert[data-insert=DeviceProcessEvents]")
    page.fill("#sql", "SELECT DeviceName, AccountName, ProcessCommandLine FROM DeviceProcessEvents LIMIT 5")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#results")
    assert SCRIPT in page.inner_text("#results")
    check_and_capture(page, "10-hunting", dialogs)

    page.click("text=Sign out")
    sign_in(page, base, "expert@provider.test", w.password)
    page.goto(f"{base}/console")
    check_and_capture(page, "11-console-queue", dialogs)
    page.click("text=Credential theft and lateral movement from ws001")
    check_and_capture(page, "12-workbench", dialogs)
    page.fill("#n-title", "Credential theft confirmed on ws001")
    page.click("text=Publish notification")
    page.wait_for_url("**/alerts/*")
    assert "Published" in page.inner_text("main")
    assert "Credential theft confirmed on ws001" in page.inner_text("h1")
    check_and_capture(page, "13-published-alert", dialogs)
    page.goto(f"{base}/console/stories/{w.evil_story}")
    check_and_capture(page, "14-workbench-hostile", dialogs)

    page.click("text=Sign out")
    sign_in(page, base, "provider_admin@provider.test", w.password)
    for name, path in [("15-enrollments", "/admin/enrollments"), ("16-subscriptions", "/admin/subscriptions"),
                       ("17-users", "/admin/users"), ("18-models", "/admin/models")]:  # fmt: skip
        page.goto(base + path)
        check_and_capture(page, name, dialogs)
    assert blocked == []
    context.close()
