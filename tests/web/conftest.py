"""Every test asking for ``db`` runs on SQLite and on PostgreSQL (required in CI)."""

from __future__ import annotations

import os

import pytest

from huntwatch.state import Database
from huntwatch.state.testing import database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path / "home"))
    with database_url(request.param, tmp_path, postgres_required=os.environ.get("CI") == "true", migrated=True) as url:
        yield url


@pytest.fixture
def db(db_url):  # type: ignore[no-untyped-def]
    database = Database(db_url)
    yield database
    database.engine.dispose()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):  # type: ignore[no-untyped-def]
    """Production argon2 costs ~1 s per hash on a busy 2-core machine; tests use the minimum cost."""
    from argon2 import PasswordHasher

    from huntwatch.service import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def app_world(db, tmp_path):  # type: ignore[no-untyped-def]
    """The service test world behind a FastAPI app, with a bearer token per actor (``w.tokens``)."""
    from huntwatch.config import settings
    from huntwatch.web.testing import build_app_world

    return build_app_world(db, settings())
