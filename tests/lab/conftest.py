from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from huntwatch.lab import SCENARIOS, LabManifest, generate
from tests.lab.helpers import read_events


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabManifest:
    """One lab with every scenario, shared by the read-only tests (3 days: Mon-Wed)."""
    out = tmp_path_factory.mktemp("lab")
    return generate(out, devices=30, days=3, scenarios=list(SCENARIOS), seed=11)


@pytest.fixture(scope="session")
def lab_events(lab: LabManifest) -> list[tuple[str, int, dict[str, Any]]]:
    return list(read_events(lab))


@pytest.fixture(scope="session")
def truth(lab: LabManifest) -> dict[str, Any]:
    return json.loads((Path(lab.out_dir) / lab.ground_truth).read_text())
