from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from huntwatch.cli import main
from huntwatch.lake import DuckDBEngine

from .conftest import FIXTURES, SHARED, proc, raw, rows_table

HUNTS = ["--no-builtin", "--hunts", str(FIXTURES / "hunts")]


def _seed(home):
    engine = DuckDBEngine(home / "lake")
    rows = [proc(1, 0, "powershell.exe", cmd="powershell -enc AAAA"), proc(2, 1, "whoami.exe")]
    engine.append(
        "acme",
        {
            "DeviceProcessEvents": rows_table("DeviceProcessEvents", rows),
            "RawEvents": rows_table("RawEvents", [raw("p00001", 0, "Microsoft-Windows-Sysmon/Operational", 1)]),
        },
    )


def test_hunt_leads_coverage_commands(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HUNTWATCH_HOME", str(home))
    _seed(home)
    runner = CliRunner()

    listed = runner.invoke(main, ["hunts", "list", *HUNTS, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert {h["id"] for h in json.loads(listed.output)} == {"test-encoded-powershell", "test-discovery-burst"}
    shown = runner.invoke(main, ["hunts", "show", "test-discovery-burst", *HUNTS])
    assert json.loads(shown.output)["window_minutes"] == 15

    first = runner.invoke(main, ["hunt", "--all-tenants", *HUNTS, "--format", "json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["added"] >= 1
    again = runner.invoke(main, ["hunt", "--tenant", "acme", *HUNTS])
    assert again.exit_code == 0 and " 0 new leads" in again.output

    leads = runner.invoke(main, ["leads", "list", "--tenant", "acme", "--format", "json"])
    got = json.loads(leads.output)
    enc = next(x for x in got if x["hunt_id"] == "test-encoded-powershell")
    assert enc["evidence"] == [{"table": "DeviceProcessEvents", "key": "p00001"}]

    cov = runner.invoke(main, ["coverage", "--tenant", "acme", *HUNTS, "--format", "json"])
    assert cov.exit_code == 0, cov.output
    data = json.loads(cov.output)
    assert "Credential Access" not in data["blind_tactics"]  # no detector for it here: not blind, absent
    assert {t["tactic"]: t["status"] for t in data["tactics"]}["Discovery"] == "covered"

    unknown = runner.invoke(main, ["hunt", "--tenant", "acme", *HUNTS, "--only", "nope"])
    assert unknown.exit_code != 0 and "unknown hunt id" in unknown.output
    missing = runner.invoke(main, ["hunt"])
    assert missing.exit_code != 0


@pytest.mark.slow
def test_hunts_test_fires_on_proof_and_stays_quiet_on_benign(tmp_path, monkeypatch):
    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path / "home"))
    datasets = str(SHARED / "datasets")
    result = CliRunner().invoke(
        main, ["hunts", "test", "test-encoded-powershell", *HUNTS, "--datasets", datasets, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = {r["expect"]: r for r in json.loads(result.output)}
    assert rows["fire"]["ok"] and rows["fire"]["leads"] >= 1
    assert rows["quiet"]["ok"] and rows["quiet"]["leads"] == 0
