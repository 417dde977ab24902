"""Every built-in hunt fires on the real recordings that prove it and stays quiet on its benign slice.

The union of all ``proven_by`` and ``benign_slice`` files is ingested once per session, one tenant per
file, through the real ingest pipeline and lake; each hunt then runs through the runner's own
``hunt_candidates`` on each of its files. A hunt the public corpus cannot prove is listed in
``SYNTHETIC`` with hand-made rows instead, so no hunt ships untested.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from huntwatch.hunting import canonical_tactic, load_hunts
from huntwatch.hunting.runner import hunt_candidates
from huntwatch.hunting.selftest import HuntTestResult, prove_hunts
from huntwatch.ingest import ingest_paths
from huntwatch.lake import DuckDBEngine

from .conftest import rows_table

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
HUNTS = load_hunts()
T0 = dt.datetime(2024, 5, 1, 9, 0, 0)


def _proc(key: str, parent: str, child: str, cmd: str, minute: float = 0) -> dict[str, Any]:
    return {
        "TenantId": "t",
        "EventKey": key,
        "Timestamp": T0 + dt.timedelta(minutes=minute),
        "DeviceName": "ws1",
        "ActionType": "ProcessCreated",
        "FileName": child,
        "FolderPath": f"C:\\Windows\\System32\\{child}",
        "ProcessCommandLine": cmd,
        "AccountName": "alice",
        "InitiatingProcessFileName": parent,
        "SourceChannel": "Microsoft-Windows-Sysmon/Operational",
        "SourceEventId": 1,
    }


# Hunts with no recording in the public corpus: (table, firing rows, quiet rows).
SYNTHETIC: dict[str, tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = {
    "office-spawns-shell": (
        "DeviceProcessEvents",
        [_proc("m1", "winword.exe", "powershell.exe", "powershell -nop -w hidden -c iex(...)")],
        [
            _proc("b1", "winword.exe", "splwow64.exe", "splwow64.exe 12288"),
            _proc("b2", "explorer.exe", "powershell.exe", "powershell.exe"),
        ],
    ),
    "archive-with-password-or-staging": (
        "DeviceProcessEvents",
        [_proc("a1", "cmd.exe", "7z.exe", r"7z.exe a -pS3cret C:\ProgramData\out.7z C:\Users\bob\Documents")],
        [_proc("a2", "explorer.exe", "7z.exe", r"7z.exe x C:\Users\bob\Downloads\setup.7z")],
    ),
    "boot-recovery-disabled": (
        "DeviceProcessEvents",
        [_proc("r1", "cmd.exe", "bcdedit.exe", "bcdedit /set {default} recoveryenabled No")],
        [_proc("r2", "cmd.exe", "bcdedit.exe", "bcdedit /enum")],
    ),
    "discovery-command-burst": (
        "DeviceProcessEvents",
        [
            _proc("d1", "cmd.exe", "whoami.exe", "whoami /all", 0),
            _proc("d2", "cmd.exe", "net.exe", 'net group "domain admins" /domain', 1),
            _proc("d3", "cmd.exe", "nltest.exe", "nltest /domain_trusts", 2),
            _proc("d4", "cmd.exe", "ipconfig.exe", "ipconfig /all", 3),
        ],
        [  # the same commands spread over a day are ordinary troubleshooting
            _proc("q1", "cmd.exe", "whoami.exe", "whoami", 0),
            _proc("q2", "cmd.exe", "ipconfig.exe", "ipconfig /all", 300),
            _proc("q3", "cmd.exe", "nltest.exe", "nltest /dsgetdc:corp", 900),
        ],
    ),
}


@pytest.fixture(scope="session")
def proofs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[HuntTestResult]]:
    """Fire/quiet results of every hunt on its files, from one shared scratch lake."""
    if not DATASETS.is_dir():
        pytest.skip(f"datasets not found at {DATASETS}")
    lake = tmp_path_factory.mktemp("builtin-hunts-lake")
    by_hunt: dict[str, list[HuntTestResult]] = defaultdict(list)
    for result in prove_hunts(HUNTS, DATASETS, lake, ingest_paths):
        by_hunt[result.hunt_id].append(result)
    return by_hunt


def test_at_least_sixty_hunts_cover_every_labelled_tactic() -> None:
    assert len(HUNTS) >= 60
    if not DATASETS.is_dir():
        pytest.skip(f"datasets not found at {DATASETS}")
    with open(DATASETS / "labels.csv", newline="", encoding="utf-8") as fh:
        labelled = {canonical_tactic(t) for row in csv.DictReader(fh) for t in row["tactics"].split(";") if t}
    covered = {t for h in HUNTS for t in h.tactics}
    assert labelled <= covered, f"tactics without a hunt: {sorted(labelled - covered)}"


def test_every_hunt_is_proven() -> None:
    unproven = [h.id for h in HUNTS if not h.proven_by and h.id not in SYNTHETIC]
    assert not unproven, f"hunts with neither a proving recording nor a synthetic test: {unproven}"
    assert all(h.benign_slice for h in HUNTS if h.proven_by), "every proven hunt names a benign slice"


@pytest.mark.slow
@pytest.mark.parametrize("hunt", [h for h in HUNTS if h.proven_by], ids=lambda h: h.id)
def test_hunt_fires_on_proof_and_not_on_benign(hunt, proofs) -> None:
    results = proofs[hunt.id]
    assert len(results) == len(hunt.proven_by) + len(hunt.benign_slice)
    failures = [
        f"{r.file}: expected {r.expect}, got {r.leads} lead(s){f' ({r.error})' if r.error else ''}"
        for r in results
        if not r.ok
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("hunt_id", sorted(SYNTHETIC))
def test_synthetic_hunt(hunt_id: str, tmp_path: Path) -> None:
    hunt = next(h for h in HUNTS if h.id == hunt_id)
    table, firing, quiet = SYNTHETIC[hunt_id]
    engine = DuckDBEngine(tmp_path / "lake")
    engine.append("fire", {table: rows_table(table, firing)}, ["synthetic"])
    engine.append("quiet", {table: rows_table(table, quiet)}, ["synthetic"])
    for tenant, expected in (("fire", True), ("quiet", False)):
        con = engine.connect(tenant)
        try:
            assert bool(hunt_candidates(con, hunt)) is expected, tenant
        finally:
            con.close()
