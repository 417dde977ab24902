"""Ingest of real recordings: counts per table checked against an independent parse of the raw records."""

from __future__ import annotations

import collections
import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import evtx
import pytest

from huntwatch.ingest import ingest_paths
from huntwatch.lake import DuckDBEngine
from tests.conftest import dataset

# Written independently of huntwatch.telemetry.normalise: which (channel, event id) feeds which table.
EXPECTED_TABLE = {
    **{("microsoft-windows-sysmon/operational", e): "DeviceProcessEvents" for e in (1, 5)},
    **{("microsoft-windows-sysmon/operational", e): "DeviceNetworkEvents" for e in (3, 22)},
    **{("microsoft-windows-sysmon/operational", e): "DeviceFileEvents" for e in (2, 11, 15, 23, 26)},
    **{("microsoft-windows-sysmon/operational", e): "DeviceRegistryEvents" for e in (12, 13, 14)},
    ("microsoft-windows-sysmon/operational", 7): "DeviceImageLoadEvents",
    **{
        ("microsoft-windows-sysmon/operational", e): "DeviceEvents"
        for e in (4, 6, 8, 9, 10, 16, 17, 18, 19, 20, 21, 25, 27)
    },
    **{("security", e): "DeviceLogonEvents" for e in (4624, 4625, 4634, 4647, 4648, 4768, 4769, 4771, 4776)},
    **{("security", e): "DeviceFileEvents" for e in (5140, 5145)},
    ("security", 5156): "DeviceNetworkEvents",
    ("security", 4688): "DeviceProcessEvents",
    **{
        ("security", e): "DeviceEvents"
        for e in (1102, 4662, 4672, 4697, 4698, 4699, 4702, 4720, 4722, 4724, 4728, 4732, 4756)
    },
    **{("system", e): "DeviceEvents" for e in (104, 7036, 7045)},
    **{("microsoft-windows-powershell/operational", e): "DeviceEvents" for e in (4103, 4104)},
    **{("windows powershell", e): "DeviceEvents" for e in (400, 403, 600, 800)},
    ("microsoft-windows-wmi-activity/operational", 5861): "DeviceEvents",
}


def _independent_counts(path: Path) -> tuple[int, collections.Counter[str]]:
    """Count events and their expected tables with the stdlib json module and the evtx parser only."""
    pairs: list[tuple[str, int]] = []
    if path.name.endswith(".evtx.gz"):
        parser = evtx.PyEvtxParser(io.BytesIO(gzip.decompress(path.read_bytes())))
        for record in parser.records_json():
            system = json.loads(record["data"])["Event"]["System"]
            event_id = system["EventID"]
            event_id = event_id["#text"] if isinstance(event_id, dict) else event_id
            pairs.append((system["Channel"].lower(), int(event_id)))
    else:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                blobs = [archive.read(n) for n in archive.namelist() if not n.startswith("__MACOSX")]
        else:
            with tarfile.open(path) as archive:
                blobs = [archive.extractfile(m).read() for m in archive if m.isfile()]  # type: ignore[union-attr]
        for blob in blobs:
            for line in blob.splitlines():
                if line.strip():
                    item = json.loads(line)
                    win = item.get("winlog") or item
                    channel = win.get("Channel") or win.get("log_name") or win.get("channel") or ""
                    pairs.append((channel.lower(), int(win.get("EventID") or win.get("event_id"))))
    tables = collections.Counter(EXPECTED_TABLE[p] for p in pairs if p in EXPECTED_TABLE)
    return len(pairs), tables


CHOSEN = [
    "evtx-to-mitre-attack/EVTX_full_APT_attack_steps/ID4624,4688,5140,5145-Eternal Romance - MS17_010_psexec "
    "(GLOBAL).evtx.gz",
    "hayabusa-sample-evtx/DeepBlueCLI/password-spray.evtx.gz",
    "otrf-security-datasets/datasets/atomic/windows/credential_access/host/cmd_sam_copy_esentutl.zip",
    "otrf-security-datasets/datasets/atomic/windows/persistence/host/covenant_persistwmi.tar.gz",
    "otrf-security-datasets/datasets/atomic/windows/persistence/host/"
    "empire_persistence_registry_modification_run_keys_elevated_user.zip",
]


@pytest.mark.parametrize("relative", CHOSEN, ids=lambda p: Path(p).name[:40])
def test_counts_per_table_match_an_independent_parse(relative: str, tmp_path: Path) -> None:
    path = dataset(relative)
    total, expected = _independent_counts(path)
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [path])
    assert report.ok, report.as_dict()
    assert report.events_read == total
    raw = engine.query("SELECT count(*) AS n FROM RawEvents", "t")["n"][0].as_py()
    assert raw == total - report.duplicates
    for table_name, count in expected.items():
        stored = engine.query(f'SELECT count(*) AS n FROM "{table_name}"', "t")["n"][0].as_py()
        assert stored == count, table_name


def test_reingest_adds_nothing_and_skips_known_files(tmp_path: Path) -> None:
    path = dataset(CHOSEN[2])
    engine = DuckDBEngine(tmp_path / "lake")
    first = ingest_paths(engine, "t", [path])
    count = engine.query("SELECT count(*) n FROM RawEvents", "t")["n"][0].as_py()
    second = ingest_paths(engine, "t", [path])
    assert second.files[0].skipped and second.events_written == 0
    # The same events in a different file (renamed copy with one extra line) add only the new line.
    copy = tmp_path / "copy.jsonl"
    with zipfile.ZipFile(path) as archive:
        body = archive.read(archive.namelist()[0])
    extra = b'{"EventID": 4688, "Channel": "Security", "Hostname": "new-host", "@timestamp": "2024-01-01T00:00:00Z"}'
    copy.write_bytes(body + b"\n" + extra + b"\n")
    third = ingest_paths(engine, "t", [copy])
    assert third.events_written == 1
    assert third.duplicates == first.events_written
    assert engine.query("SELECT count(*) n FROM RawEvents", "t")["n"][0].as_py() == count + 1


def test_the_report_says_where_the_time_went(tmp_path: Path) -> None:
    report = ingest_paths(DuckDBEngine(tmp_path / "lake"), "t", [dataset(CHOSEN[2])])
    assert set(report.stages) == {"read", "arrow", "dedupe", "write"}
    assert all(seconds > 0 for seconds in report.stages.values())
    assert sum(report.stages.values()) <= report.seconds  # one process: the stages are parts of the run
    assert report.as_dict()["stage_seconds"].keys() == report.stages.keys()


def test_recordings_over_many_days_share_files_and_every_day_reads_back(tmp_path: Path) -> None:
    folder = dataset("hayabusa-sample-evtx/DeepBlueCLI")
    per_day: collections.Counter[str] = collections.Counter()
    for path in sorted(folder.glob("*.evtx.gz")):
        for record in evtx.PyEvtxParser(io.BytesIO(gzip.decompress(path.read_bytes()))).records_json():
            per_day[json.loads(record["data"])["Event"]["System"]["TimeCreated"]["#attributes"]["SystemTime"][:10]] += 1
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [folder])
    assert report.ok and report.batches == 1
    raw_files = engine.store.catalog("t").batches[0].files["RawEvents"]
    assert len(per_day) > 10 and len(raw_files) < len(per_day)  # sparse days share files
    stored = engine.query(
        "SELECT strftime(Timestamp, '%Y-%m-%d') AS day, count(*) AS n FROM RawEvents GROUP BY 1", "t"
    ).to_pylist()
    assert {r["day"]: r["n"] for r in stored} == per_day
    quiet = min(per_day, key=lambda d: (per_day[d], d))  # a day whose events sit in a shared file
    one_day = engine.query(
        "SELECT count(*) AS n FROM RawEvents WHERE CAST(Timestamp AS DATE) = CAST(? AS DATE)", "t", params=[quiet]
    )
    assert one_day["n"].to_pylist() == [per_day[quiet]]


def test_tenants_see_only_their_rows(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "lake")
    ingest_paths(engine, "alpha", [dataset(CHOSEN[0])])
    ingest_paths(engine, "beta", [dataset(CHOSEN[1])])
    alpha = engine.query("SELECT DISTINCT TenantId FROM DeviceLogonEvents", "alpha")["TenantId"].to_pylist()
    beta = engine.query("SELECT count(*) n FROM DeviceLogonEvents", "beta")["n"][0].as_py()
    assert alpha == ["alpha"]
    assert beta == _independent_counts(dataset(CHOSEN[1]))[1]["DeviceLogonEvents"]


def test_parallel_workers_store_the_same_events_as_one_process(tmp_path: Path) -> None:
    paths = [dataset(p) for p in CHOSEN]
    serial = DuckDBEngine(tmp_path / "serial")
    parallel = DuckDBEngine(tmp_path / "parallel")
    one = ingest_paths(serial, "t", paths, batch_rows=1_000)
    two = ingest_paths(parallel, "t", paths, batch_rows=1_000, workers=2)
    assert one.ok and two.ok
    assert one.events_read == two.events_read
    assert one.events_written == two.events_written
    sql = "SELECT EventKey FROM RawEvents ORDER BY EventKey"
    assert serial.query(sql, "t").equals(parallel.query(sql, "t"))
    assert dict(one.per_table) == dict(two.per_table)
