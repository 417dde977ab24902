"""The backend's semantics on small hand-built RawEvents rows in a real lake (real DuckDB, real Parquet)."""

from __future__ import annotations

import datetime as dt
import textwrap
import uuid
from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot

from huntwatch.hunting.sigma import SigmaRuleSet
from huntwatch.hunting.sigma.backend import literal_form
from huntwatch.lake import DuckDBEngine, QueryError
from huntwatch.schema import arrow_schema

SYSMON = "Microsoft-Windows-Sysmon/Operational"
T0 = dt.datetime(2024, 5, 1, 10, 0, 0)


def _row(
    key: str,
    fields: dict[str, str],
    *,
    channel: str = SYSMON,
    event_id: int = 1,
    minutes: int = 0,
    device: str = "ws1.corp",
) -> dict:
    return {
        "TenantId": "t",
        "EventKey": key,
        "Timestamp": T0 + dt.timedelta(minutes=minutes),
        "DeviceName": device,
        "Channel": channel,
        "Provider": "p",
        "EventID": event_id,
        "RecordId": 1,
        "SourceFile": "test",
        "Fields": list(fields.items()),
    }


ROWS = [
    _row("e1", {"Image": "C:\\Windows\\System32\\WHOAMI.EXE", "CommandLine": "whoami /all", "User": "CORP\\bob"}),
    _row("e2", {"Image": "C:\\tools\\a_b.exe", "CommandLine": "run 100% now"}),
    _row("e3", {"Image": "C:\\tools\\axb.exe", "CommandLine": "run 1000 now"}),
    _row("e4", {"Image": "C:\\Windows\\explorer.exe", "CommandLine": "explorer.exe", "ParentImage": "C:\\x\\svc.exe"}),
    _row(
        "e5",
        {
            "NewProcessName": "C:\\Windows\\System32\\net.exe",
            "CommandLine": "net user /domain",
            "SubjectUserName": "alice",
        },
        channel="security",
        event_id=4688,
    ),
    _row("e6", {"Image": "C:\\Temp\\p.exe", "DestinationIp": "172.20.1.5", "DestinationPort": "4444"}, event_id=3),
    _row("e7", {"Image": "C:\\Temp\\p.exe", "DestinationIp": "172.32.1.5", "DestinationPort": "80"}, event_id=3),
    _row("e8", {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c echo mimikatz"}, minutes=200),
    _row("e9", {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c echo MimiKatz"}, minutes=230),
]


def _rule(
    name: str,
    detection: str,
    *,
    category: str = "process_creation",
    tags: str = "[attack.execution]",
    level: str = "high",
) -> str:
    return textwrap.dedent(f"""\
        title: {name}
        id: {uuid.uuid5(uuid.NAMESPACE_URL, name)}
        status: test
        level: {level}
        tags: {tags}
        logsource: {{product: windows, category: {category}}}
        detection:
        """) + textwrap.indent(textwrap.dedent(detection), "  ")


RULES = {
    "case-insensitive": "sel:\n  Image|endswith: '\\whoami.exe'\ncondition: sel\n",
    "literal-underscore": "sel:\n  Image|endswith: '\\a_b.exe'\ncondition: sel\n",
    "literal-percent": "sel:\n  CommandLine|contains: '100%'\ncondition: sel\n",
    "wildcard-single": "sel:\n  Image: 'C:\\tools\\a?b.exe'\ncondition: sel\n",
    "wildcard-inner": "sel:\n  CommandLine: 'run * now'\ncondition: sel\n",
    "startswith": "sel:\n  CommandLine|startswith: 'WHOAMI'\ncondition: sel\n",
    "contains-all": "sel:\n  CommandLine|contains|all: ['net', '/domain']\ncondition: sel\n",
    "contains-all-miss": "sel:\n  CommandLine|contains|all: ['net', '/forest']\ncondition: sel\n",
    "not-missing-field": "sel:\n  Image|endswith: '.exe'\nfilter:\n  ParentImage|endswith: '\\svc.exe'\n"
    "condition: sel and not filter\n",
    "null-field": "sel:\n  Image|endswith: '.exe'\n  ParentImage: null\ncondition: sel\n",
    "sec-4688": "sel:\n  Image|endswith: '\\net.exe'\n  User: alice\ncondition: sel\n",
    "regex-literal": "sel:\n  CommandLine|re: '.*(whoami|net1).*'\ncondition: sel\n",
    "regex-real": "sel:\n  CommandLine|re: '^run \\d{3,4}\\s'\ncondition: sel\n",
    "windash": "sel:\n  CommandLine|windash|contains: ' -all'\ncondition: sel\n",
    "keyword": "keywords:\n  - 'MIMIKATZ'\ncondition: keywords\n",
}
NETWORK_RULES = {
    "cidr": "sel:\n  DestinationIp|cidr: '172.16.0.0/12'\ncondition: sel\n",
    "numeric-gt": "sel:\n  DestinationPort|gt: 1024\ncondition: sel\n",
}
EXPECTED = {
    "case-insensitive": {"e1"},
    "literal-underscore": {"e2"},
    "literal-percent": {"e2"},
    "wildcard-single": {"e2", "e3"},
    "wildcard-inner": {"e2", "e3"},
    "startswith": {"e1"},
    "contains-all": {"e5"},
    "contains-all-miss": set(),
    "not-missing-field": {"e1", "e2", "e3", "e5", "e8", "e9"},
    "null-field": {"e1", "e2", "e3", "e5", "e8", "e9"},
    "sec-4688": {"e5"},
    "regex-literal": {"e1"},
    "regex-real": {"e3"},
    "windash": {"e1"},
    "keyword": {"e8", "e9"},
    "cidr": {"e6"},
    "numeric-gt": {"e6"},
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> DuckDBEngine:
    engine = DuckDBEngine(tmp_path_factory.mktemp("lake"))
    engine.append("t", {"RawEvents": pa.Table.from_pylist(ROWS, schema=arrow_schema("RawEvents"))}, ["test"])
    return engine


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> SigmaRuleSet:
    folder = tmp_path_factory.mktemp("rules")
    for name, detection in RULES.items():
        (folder / f"{name}.yml").write_text(_rule(name, detection))
    for name, detection in NETWORK_RULES.items():
        (folder / f"{name}.yml").write_text(_rule(name, detection, category="network_connection"))
    (folder / "stealth.yml").write_text(
        _rule(
            "stealth",
            "sel:\n  CommandLine|contains: 'whoami'\ncondition: sel\n",
            tags="[attack.stealth, attack.defense-impairment, attack.t1562.001, attack.g0016]",
            level="critical",
        )
    )
    (folder / "unmapped.yml").write_text(_rule("unmapped", "sel:\n  x: y\ncondition: sel\n", category="file_access"))
    (folder / "broken.yml").write_text("title: [unclosed\n")
    return SigmaRuleSet.load([folder])


def _fired(ruleset: SigmaRuleSet, engine: DuckDBEngine) -> dict[str, set[str]]:
    fired: dict[str, set[str]] = {name: set() for name in EXPECTED}
    for lead in ruleset.run(engine, "t"):
        fired.setdefault(lead.title, set()).update(lead.evidence)
    return fired


def test_every_semantic_case(ruleset: SigmaRuleSet, lake: DuckDBEngine) -> None:
    fired = _fired(ruleset, lake)
    assert {name: fired[name] for name in EXPECTED} == EXPECTED


def test_failures_are_kept_per_file_with_reason(ruleset: SigmaRuleSet) -> None:
    report = ruleset.check()
    assert report.compiled == len(RULES) + len(NETWORK_RULES) + 1
    reasons = {Path(f.path).name: f.reason for f in report.failed}
    assert set(reasons) == {"unmapped.yml", "broken.yml"}
    assert "file_access" in reasons["unmapped.yml"] and "not mapped" in reasons["unmapped.yml"]


def test_lead_shape_tactics_and_windows(ruleset: SigmaRuleSet, lake: DuckDBEngine) -> None:
    leads = {(x.title, x.first_seen): x for x in ruleset.run(lake, "t")}
    stealth = next(x for (hid, _), x in leads.items() if hid == "stealth")
    assert stealth.source == "sigma" and stealth.severity == "critical"
    assert stealth.hunt_id == f"sigma:{uuid.uuid5(uuid.NAMESPACE_URL, 'stealth')}"
    assert stealth.tactics == ["Defense Evasion"] and stealth.techniques == ["T1562.001"]
    assert stealth.entities == {"device": ["ws1.corp"], "account": ["CORP\\bob"], "process": ["whoami.exe"]}
    assert stealth.group == ("ws1.corp",) and 0 < stealth.confidence <= 1
    # e8 and e9 are 30 minutes apart: one lead; both 200+ minutes after e1: a lead of their own.
    keyword = [x for (hid, _), x in leads.items() if hid == "keyword"]
    assert len(keyword) == 1 and keyword[0].evidence == ["e8", "e9"]
    assert keyword[0].last_seen - keyword[0].first_seen == dt.timedelta(minutes=30)
    not_missing = sorted((x for (hid, _), x in leads.items() if hid == "not-missing-field"), key=lambda x: x.first_seen)
    assert [x.evidence for x in not_missing] == [["e1", "e2", "e3", "e5"], ["e8", "e9"]]


def test_after_seq_reads_only_new_batches(ruleset: SigmaRuleSet, lake: DuckDBEngine) -> None:
    last = lake.store.catalog("t").last_seq
    assert ruleset.run(lake, "t", after_seq=last) == []


def test_one_scan_per_group_and_none_without_events(ruleset: SigmaRuleSet, lake: DuckDBEngine) -> None:
    assert len(ruleset.groups()) == 2  # process_creation and network_connection
    result = ruleset.evaluate(lake, "t")
    assert (result.scans, result.skipped_groups) == (2, 0)
    nothing_new = ruleset.evaluate(lake, "t", after_seq=lake.store.catalog("t").last_seq)
    assert (nothing_new.scans, nothing_new.skipped_groups, nothing_new.leads) == (0, 2, [])


def test_timeout_bounds_the_whole_evaluation(ruleset: SigmaRuleSet, lake: DuckDBEngine) -> None:
    with pytest.raises(QueryError):
        ruleset.evaluate(lake, "t", timeout_s=1e-9)


def test_statements_transpile_to_spark(ruleset: SigmaRuleSet) -> None:
    for sql in ruleset.sql_for_spark():
        assert sqlglot.parse_one(sql, read="spark") is not None
        assert ".*(" not in sql


@pytest.mark.parametrize(
    ("pattern", "form"),
    [
        (".*(whoami|net1).*", (False, False, ["whoami", "net1"])),
        ("^abc$", (True, True, ["abc"])),
        ("foo\\.exe$", (False, True, ["foo.exe"])),
        ("a\\d+", None),
    ],
)
def test_literal_regexes_become_plain_tests(pattern: str, form: tuple | None) -> None:
    assert literal_form(pattern) == form


def test_reading_the_events_in_slices_finds_the_same_leads(
    ruleset: SigmaRuleSet, lake: DuckDBEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays bounded on big lakes by reading batches in slices; a rule matches event by event, so
    slicing must not change a single lead (leads are grouped after every slice is read, even when their
    events sit in different slices)."""
    from huntwatch.hunting.sigma import ruleset as module

    def shape(leads: list) -> list:
        return sorted((x.hunt_id, x.first_seen, x.last_seen, tuple(x.evidence)) for x in leads)

    one_per_event = DuckDBEngine(tmp_path)
    for row in ROWS:
        one_per_event.append("t", {"RawEvents": pa.Table.from_pylist([row], schema=arrow_schema("RawEvents"))})
    whole = shape(ruleset.run(lake, "t"))
    monkeypatch.setattr(module, "SLICE_ROWS", 1)  # every batch its own slice
    assert len(module._slices(one_per_event, "t", 0)) == len(ROWS)
    assert shape(ruleset.run(one_per_event, "t")) == whole and whole
