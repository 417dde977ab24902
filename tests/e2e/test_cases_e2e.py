"""Experts on demand in Chromium: a customer asks from the device, alert and file pages; an expert answers in the
console; the customer sees each answer arrive on the case page. Hostile telemetry must never run."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest

from huntwatch.service import enrollment
from huntwatch.service.access import Actor
from huntwatch.state import utcnow
from tests.e2e.conftest import check_and_capture, sign_in
from tests.web.pages.world import EVIL_DEVICE, EVIL_SHA

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _check(page, name: str, dialogs: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert "Not incident response." in page.inner_text("main")
    check_and_capture(page, f"cases-{name}", dialogs)


def test_ask_from_device_alert_and_file_and_see_the_answers_arrive(browser, server) -> None:  # type: ignore[no-untyped-def]
    w, base = server.world, server.url
    with w.db.session() as s:
        enrollment.add_subscription(s, Actor.system("e2e"), w.a, utcnow() - dt.timedelta(days=1))
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    sign_in(page, base, "tenant_admin@a.test", w.password)
    pages = {
        "device": "/devices/" + quote(EVIL_DEVICE, safe=""),
        "alert": f"/alerts/{w.evil_alert}",
        "file": f"/files/{EVIL_SHA}",
    }
    asked: dict[str, str] = {}
    for kind, path in pages.items():
        page.goto(base + path)
        page.click("details.actions summary")
        page.click("text=Ask Huntwatch Experts")
        page.wait_for_selector("#ask-form")
        assert page.input_value("#c-topic") != ""
        _check(page, f"01-ask-{kind}", dialogs)
        page.fill("#c-question", f"Please explain what happened ({kind}).")
        page.fill("#c-email", "soc@a.test")
        page.click("text=Send to Huntwatch Experts")
        page.wait_for_url("**/cases/*")
        assert "Your question was sent" in page.inner_text("main")
        asked[kind] = page.url.split("/cases/")[1].split("?")[0]
        _check(page, f"02-asked-{kind}", dialogs)
    page.goto(f"{base}/cases")
    assert all(f"/cases/{cid}" in page.content() for cid in asked.values())
    _check(page, "03-case-list", dialogs)
    page.click("text=Sign out")

    sign_in(page, base, "expert@provider.test", w.password)
    page.goto(f"{base}/console/cases")
    _check(page, "04-case-queue", dialogs)
    for kind, cid in asked.items():
        page.goto(f"{base}/console/cases/{cid}")
        _check(page, f"05-workbench-{kind}", dialogs)
        page.check("input[name=outcome][value=concluded]")
        page.fill("#p-body", f"Expert answer for the {kind}: this is a known attack pattern.")
        page.click("text=Send to the customer")
        page.wait_for_url(f"**/console/cases/{cid}?done=reported")
        assert "Progress report sent" in page.inner_text("main")
    page.click("text=Sign out")

    sign_in(page, base, "tenant_admin@a.test", w.password)
    for kind, cid in asked.items():
        page.goto(f"{base}/cases/{cid}")
        thread = page.inner_text("#thread")
        assert f"Expert answer for the {kind}" in thread and "Initial information was enough to conclude" in thread
        assert "resolved" in page.inner_text("main")
        _check(page, f"06-answer-{kind}", dialogs)
    page.click("text=Close: the answer is enough")
    page.wait_for_url("**done=status")
    assert "closed" in page.inner_text("main")
    context.close()
