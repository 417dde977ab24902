"""Every SigmaHQ Windows rule compiles or fails with a stated reason; the regression samples fire their rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot

from huntwatch.hunting.sigma import SigmaRuleSet, benchmark_rules
from huntwatch.ingest import ingest_paths
from huntwatch.lake import DuckDBEngine

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
SIGMA = SHARED / "sigma"
REGRESSION = SHARED / "datasets" / "sigmahq-regression-data" / "regression_data"
RULE_DIRS = ("rules", "rules-emerging-threats", "rules-threat-hunting")

pytestmark = pytest.mark.skipif(not SIGMA.exists(), reason="../shared/sigma not available")


@pytest.fixture(scope="module")
def windows_rules() -> SigmaRuleSet:
    return SigmaRuleSet.load(SIGMA / "rules" / "windows")


@pytest.mark.slow
def test_sigmahq_windows_rules_compile(windows_rules: SigmaRuleSet) -> None:
    report = windows_rules.check()
    print(f"SigmaHQ rules/windows: {report.compiled} of {report.files} compiled, {len(report.failed)} failed")
    assert report.files >= 2400
    assert report.compiled >= 2350
    assert report.compiled + len(report.failed) == report.files
    assert all(f.reason.strip() for f in report.failed)
    # few scans: one per log source group, however many rules
    assert report.groups <= 70


@pytest.mark.slow
def test_sigmahq_statements_transpile_to_spark(windows_rules: SigmaRuleSet) -> None:
    statements = windows_rules.sql_for_spark()
    assert len(statements) == len(windows_rules.statements())
    for sql in statements:
        sqlglot.parse_one(sql, read="spark")
        assert "RLIKE '.*(" not in sql and "RLIKE '(?i).*(" not in sql


def _rule_files_by_id() -> dict[str, Path]:
    found = {}
    pattern = re.compile(r"^id:\s*([0-9a-fA-F-]{36})\s*$", re.MULTILINE)
    for folder in RULE_DIRS:
        for path in (SIGMA / folder).rglob("*.yml"):
            match = pattern.search(path.read_text(encoding="utf-8"))
            if match:
                found[match.group(1).lower()] = path
    return found


@pytest.mark.slow
def test_regression_samples_fire_their_rule(tmp_path: Path) -> None:
    if not REGRESSION.exists():
        pytest.skip("regression samples not available")
    samples = sorted(REGRESSION.rglob("*.evtx.gz"))
    by_id = _rule_files_by_id()
    expected = {p.name.removesuffix(".evtx.gz").lower() for p in samples}
    ruleset = SigmaRuleSet.load(sorted({by_id[i] for i in expected if i in by_id}))
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "regression", samples)
    assert report.events_written > 0
    fired = {lead.hunt_id.removeprefix("sigma:") for lead in ruleset.run(engine, "regression")}
    share = len(expected & fired) / len(expected)
    print(f"regression samples whose rule fires: {len(expected & fired)} of {len(expected)} ({share:.1%})")
    assert share >= 0.95

    bench = benchmark_rules(engine, "regression", ruleset)
    assert (
        bench.events == report.events_written
        and bench.rules == len(ruleset.rules)
        and bench.leads >= len(expected & fired)
    )
