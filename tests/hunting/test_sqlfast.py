"""Folding substring-test chains into regex scans: which chains fold, and the same answers on real data."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntwatch.hunting import load_hunts
from huntwatch.hunting.sqlfast import fold_substring_tests
from huntwatch.ingest import ingest_paths
from huntwatch.lake import DuckDBEngine
from tests.conftest import dataset


def test_an_or_chain_on_one_column_becomes_one_case_insensitive_scan() -> None:
    sql = (
        "SELECT EventKey FROM DeviceEvents WHERE ActionType = 'x' AND (lower(ProcessCommandLine) LIKE '%get-aduser%' "
        "OR ProcessCommandLine ILIKE '%a.b(c)%' OR lower(FileName) LIKE '%one%')"
    )
    folded = fold_substring_tests(sql)
    assert "REGEXP_MATCHES(ProcessCommandLine, 'get-aduser|a\\.b\\(c\\)', 'i')" in folded
    assert "LOWER(FileName) LIKE '%one%'" in folded  # alone on its column: left as written
    assert "ActionType = 'x'" in folded


def test_an_and_chain_of_not_like_becomes_one_negated_scan() -> None:
    folded = fold_substring_tests("SELECT 1 FROM t WHERE x NOT LIKE '%a%' AND NOT (x LIKE '%b\\c%') AND y = 1")
    assert "NOT REGEXP_MATCHES(x, 'a|b\\\\c')" in folded  # case-sensitive: no flag; the backslash is literal
    assert "y = 1" in folded


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 FROM t WHERE x LIKE '%a%' ESCAPE '!' OR x LIKE '%b%' ESCAPE '!'",  # explicit escape
        "SELECT 1 FROM t WHERE x LIKE '%a_b%' OR x LIKE '%c%d%'",  # LIKE wildcards inside
        "SELECT 1 FROM t WHERE x LIKE 'a%' OR x LIKE '%b'",  # anchored: not a substring test
        "SELECT 1 FROM t WHERE lower(x) LIKE '%a%' OR x LIKE '%b%'",  # different case handling
        "SELECT 1 FROM t WHERE lower(x) LIKE '%A%' OR lower(x) LIKE '%b%'",  # never matches as written
        "SELECT 1 FROM t WHERE x LIKE '%a%' AND x LIKE '%b%'",  # AND of positive tests is not an alternation
        "SELECT 1 FROM t WHERE x NOT LIKE '%a%' OR x NOT LIKE '%b%'",  # OR of negations neither
        "this is not SQL",
    ],
)
def test_chains_that_would_change_meaning_are_left_as_written(sql: str) -> None:
    assert fold_substring_tests(sql) == sql


RECORDINGS = [
    "otrf-security-datasets/datasets/atomic/windows/discovery/host/empire_find_localadmin_smb_svcctl_OpenSCManager.zip",
    "otrf-security-datasets/datasets/atomic/windows/privilege_escalation/host/empire_uac_shellapi_fodhelper.zip",
    "otrf-security-datasets/datasets/atomic/windows/lateral_movement/host/covenant_psremoting_command.zip",
    "hayabusa-sample-evtx/DeepBlueCLI",
]


@pytest.mark.slow
def test_every_folded_hunt_returns_exactly_what_it_returns_as_written(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "lake")
    assert ingest_paths(engine, "t", [dataset(p) for p in RECORDINGS]).events_written > 10_000
    con = engine.connect("t")
    folded = [h for h in load_hunts() if h.sql != h.query]
    assert len(folded) >= 40
    returning = 0
    for hunt in folded:
        written = sorted(map(repr, con.execute(hunt.query).fetchall()))
        running = sorted(map(repr, con.execute(hunt.sql).fetchall()))
        assert running == written, hunt.id
        returning += bool(written)
    assert returning >= 10  # the comparison is not only over empty results
