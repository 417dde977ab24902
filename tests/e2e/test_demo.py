"""``huntwatch demo --no-serve`` on a fresh home: a lab tenant all the way to a published notification, twice."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from huntwatch.cli import main

pytestmark = pytest.mark.slow
USER_LINE = re.compile(r"^\s+(\w+)\s+(\S+@\S+)\s+(\S+)$", re.M)


def test_demo_builds_publishes_and_is_idempotent(hw_home, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher

    from huntwatch.service import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    assert "Endpoint Attack Notification: http://127.0.0.1:8000/alerts/" in first.output
    users = {role: (email, password) for role, email, password in USER_LINE.findall(first.output)}
    assert set(users) == {"tenant_admin", "tenant_analyst", "expert", "provider_admin"}

    second = runner.invoke(main, ["demo", "--no-serve"])
    assert second.exit_code == 0, second.output
    assert "0 new events, 0 new leads" in second.output
    alert_url = re.search(r"alerts/(\d+)", first.output)
    assert alert_url and f"alerts/{alert_url.group(1)}" in second.output  # the same notification, not a second one
    users = {role: (email, password) for role, email, password in USER_LINE.findall(second.output)}

    from huntwatch.web.app import create_app

    client = TestClient(create_app())
    email, password = users["tenant_admin"]
    r = client.post("/sign-in", data={"email": email, "password": password})
    assert r.status_code == 200 and "Endpoint Attack Notification" in r.text
    page = client.get(f"/alerts/{alert_url.group(1)}")
    assert page.status_code == 200 and "Scope of compromise" in page.text
    email, password = users["expert"]
    expert = TestClient(create_app())
    expert.post("/sign-in", data={"email": email, "password": password})
    assert expert.get("/console").status_code == 200
