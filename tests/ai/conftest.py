from __future__ import annotations

from pathlib import Path

import pytest

from huntwatch.config import settings
from huntwatch.state import Database


@pytest.fixture
def db(hw_home: Path) -> Database:
    database = Database(settings().database_url)
    hw_home.mkdir(parents=True, exist_ok=True)
    database.create_all()
    return database
