from __future__ import annotations

import csv

import pytest

from huntwatch.hunting.evaluation import evaluate, read_labels
from huntwatch.ingest import ingest_paths

from .conftest import FIXTURES, SHARED

DATASETS = SHARED / "datasets"
ROWS = [
    ("hayabusa-sample-evtx/DeepBlueCLI/powersploit-security.evtx.gz", "Execution", "T1059.001"),
    ("otrf-security-datasets/datasets/atomic/windows/execution/host/empire_launcher_vbs.zip", "Execution", ""),
    ("evtx-to-mitre-attack/Antivirus/ID1116-1117-Defender threat detected.evtx.gz", "", ""),
    ("hayabusa-sample-evtx/DeepBlueCLI/password-spray.evtx.gz", "Credential Access;Stealth", ""),
    ("does/not/exist.evtx.gz", "Impact", ""),
]


@pytest.fixture
def labels(tmp_path):
    path = tmp_path / "labels.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "source", "tactics", "techniques", "events"])
        for p, tactics, techniques in ROWS:
            w.writerow([p, "x", tactics, techniques, 1])
    return path


def test_read_labels_maps_names_and_skips_unlabelled(labels):
    recs, unlabelled = read_labels(labels)
    assert unlabelled == 1
    assert [r.tactics for r in recs] == [
        ("Execution",),
        ("Execution",),
        ("Credential Access", "Defense Evasion"),
        ("Impact",),
    ]


@pytest.mark.slow
def test_evaluate_on_real_recordings(labels, tmp_path):
    report = evaluate(
        labels,
        DATASETS,
        home=tmp_path / "eval",
        ingest=ingest_paths,
        hunt_dirs=[FIXTURES / "hunts"],
        builtin=False,
        analytics=False,
        workers=1,
    )
    by_path = {r.path: r for r in report.recordings}
    assert len(report.recordings) == 4 and report.skipped_unlabelled == 1
    for name in ROWS[:2]:
        got = by_path[name[0]]
        assert got.error is None and got.events > 0
        assert got.hunts == ["test-encoded-powershell"] and got.hit_tactic
    assert not by_path[ROWS[3][0]].hit_tactic
    assert "does not exist" in by_path[ROWS[4][0]].error
    assert report.coverage_tactic == 0.5 and report.coverage_any == 0.5
    per = {t["tactic"]: t for t in report.as_dict()["per_tactic"]}
    assert per["Execution"] == {"tactic": "Execution", "recordings": 2, "coverage_tactic": 1.0, "coverage_any": 1.0}
    assert per["Defense Evasion"]["coverage_tactic"] == 0.0
