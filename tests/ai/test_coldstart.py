"""The cold-start corpus: a small lab tenant through the real pipeline, labelled by its ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntwatch.ai import LabSpec
from huntwatch.ai.coldstart import build_lab_corpus
from huntwatch.ai.training import lab_corpus

pytestmark = pytest.mark.slow


def test_attack_tenant_yields_labelled_stories_and_leads_reproducibly(tmp_path: Path) -> None:
    specs = [LabSpec(4, "password_spray", devices=12, days=2)]
    first = build_lab_corpus(specs, tmp_path / "a")
    second = build_lab_corpus(specs, tmp_path / "b")
    # database ids may differ between runs; everything a model learns from may not
    a = [{**e.to_dict(), "unit_id": None} for e in first]
    b = [{**e.to_dict(), "unit_id": None} for e in second]
    diff = [(x, y) for x, y in zip(a, b, strict=False) if x != y][:2]
    assert len(a) == len(b) and not diff, (len(a), len(b), diff)  # same seed, same examples
    stories = [e for e in first if e.unit == "story"]
    leads = [e for e in first if e.unit == "lead"]
    assert any(e.label == 1 and e.detail == "password_spray" for e in stories)
    assert any(e.label == 1 for e in leads) and any(e.label == 0 for e in leads)
    cached = lab_corpus(specs, cache=tmp_path / "cache")
    assert [e.to_dict() for e in lab_corpus(specs, cache=tmp_path / "cache")] == [e.to_dict() for e in cached]
    assert len(list((tmp_path / "cache").glob("lab-*.json"))) == 1
