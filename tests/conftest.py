"""Fixtures every test package can use: the shared datasets and an isolated HUNTWATCH_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
DATASETS = SHARED / "datasets"


def dataset(relative: str) -> Path:
    """A file of ../shared/datasets; skips (or fails under CI) when the corpus is not there."""
    path = DATASETS / relative
    if not path.exists():
        if os.environ.get("CI") == "true":
            raise FileNotFoundError(f"dataset file missing in CI: {path}")
        pytest.skip(f"dataset not available: {path}")
    return path


@pytest.fixture
def hw_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "hw-home"
    monkeypatch.setenv("HUNTWATCH_HOME", str(home))
    monkeypatch.delenv("HUNTWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("HUNTWATCH_LAKE", raising=False)
    return home
