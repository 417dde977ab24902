"""Every test asking for ``db`` runs on SQLite and on PostgreSQL (required in CI)."""

from __future__ import annotations

import os

import pytest

from huntwatch.state import Database
from huntwatch.state.testing import database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path / "home"))
    with database_url(request.param, tmp_path, postgres_required=os.environ.get("CI") == "true") as url:
        yield url


@pytest.fixture
def db(db_url):  # type: ignore[no-untyped-def]
    database = Database(db_url)
    database.upgrade()
    yield database
    database.engine.dispose()
