"""A portal app over the hostile world, and signed-in browsers (TestClient) for each role."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from huntwatch.config import settings
from huntwatch.web.app import create_app
from tests.web.pages.world import build

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def world(db, tmp_path):  # type: ignore[no-untyped-def]
    return build(db, settings().lake_path)


@pytest.fixture
def app(db, world):  # type: ignore[no-untyped-def]
    return create_app(settings(), db=db, upgrade=False)


def sign_in(app, email: str, password: str) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    r = client.post("/sign-in", data={"email": email, "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


@pytest.fixture
def as_user(app, world) -> Callable[[str], TestClient]:  # type: ignore[no-untyped-def]
    """``as_user("a_admin")`` → a client signed in as that actor of the world."""

    def make(key: str) -> TestClient:
        return sign_in(app, world.actors[key].name, world.password)

    return make


def csrf_of(client: TestClient, path: str = "/settings/advanced") -> str:
    match = CSRF.search(client.get(path).text)
    assert match, "page has no form with a CSRF token"
    return match.group(1)
