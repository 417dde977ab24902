"""Lake export, compaction, vacuum and info: through the package and through ``huntwatch lake``."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from huntwatch.cli import main
from huntwatch.lake import DuckDBEngine, LakeError, LakeStore
from huntwatch.lake import store as lake_store
from huntwatch.lake.export import compact_tenant, export_lake, lake_info
from huntwatch.schema import arrow_schema

T0 = dt.datetime(2024, 6, 1, 22, 0)


def _procs(tenant: str, start: int, n: int) -> dict[str, pa.Table]:
    rows = [
        {
            "TenantId": tenant,
            "EventKey": f"{tenant}-{i}",
            "Timestamp": T0 + dt.timedelta(minutes=50 * i),
            "DeviceName": f"ws{i % 2}",
            "FileName": "cmd.exe",
            "ProcessId": i,
        }
        for i in range(start, start + n)
    ]
    raw = [
        {"TenantId": tenant, "EventKey": r["EventKey"], "Timestamp": r["Timestamp"], "EventID": 1, "Fields": []}
        for r in rows
    ]
    return {
        "DeviceProcessEvents": pa.Table.from_pylist(rows, schema=arrow_schema("DeviceProcessEvents")),
        "RawEvents": pa.Table.from_pylist(raw, schema=arrow_schema("RawEvents")),
    }


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(lake_store, "SPAN_FILE_ROWS", 1)  # a file per day, however few its rows
    root = tmp_path / "lake"
    engine = DuckDBEngine(root)
    for b in range(4):  # 4 batches x 6 rows, spanning 2024-06-01 .. 2024-06-02
        engine.append("acme", _procs("acme", 6 * b, 6), sources=[f"file-{b}"])
    engine.append("globex", _procs("globex", 0, 3))
    return root


QUERY = "SELECT EventKey, Timestamp, DeviceName, ProcessId FROM DeviceProcessEvents ORDER BY EventKey"


def test_export_compacts_to_one_file_per_table_and_day(lake: Path, tmp_path: Path) -> None:
    target = tmp_path / "export"
    report = export_lake(lake, target, ["acme"])
    assert report.tenants == ["acme"]
    assert report.rows == {"DeviceProcessEvents": 24, "RawEvents": 24}
    out = LakeStore(target)
    assert out.tenants() == ["acme"]
    files = [p.relative_to(out.tenant_dir("acme")) for p in out.tenant_dir("acme").rglob("*.parquet")]
    parts = sorted((p.parts[0], p.parts[1]) for p in files)
    assert parts == sorted(set(parts))  # one file per table/day
    assert len(parts) == report.files == 2 * 2
    assert DuckDBEngine(target).query(QUERY, "acme") == DuckDBEngine(lake).query(QUERY, "acme")
    assert out.catalog("acme").sources == {f"file-{b}" for b in range(4)}
    with pytest.raises(LakeError, match="already has data"):
        export_lake(lake, target, ["acme"])
    with pytest.raises(LakeError, match="source lake"):
        export_lake(lake, lake)


def test_compact_replaces_batches_in_one_commit_and_vacuum_sweeps(lake: Path) -> None:
    before = DuckDBEngine(lake).query(QUERY, "acme")
    store = LakeStore(lake)
    old_files = {rel for b in store.catalog("acme").batches for fs in b.files.values() for rel in fs}
    batch = compact_tenant(lake, "acme")
    assert batch is not None and batch.seq == 5
    catalog = store.catalog("acme")
    assert [b.id for b in catalog.batches] == [batch.id]
    assert catalog.sources == {f"file-{b}" for b in range(4)}
    assert DuckDBEngine(lake).query(QUERY, "acme") == before
    assert compact_tenant(lake, "acme") is None  # one batch: nothing to gain
    base = store.tenant_dir("acme")
    old = time.time() - 7200
    for rel in old_files:
        os.utime(base / rel, (old, old))
    assert store.vacuum("acme", older_than_s=3600) == len(old_files)
    assert DuckDBEngine(lake).query(QUERY, "acme") == before


def test_info_counts_rows_files_and_bytes(lake: Path) -> None:
    info = {i.tenant: i for i in lake_info(lake)}
    assert set(info) == {"acme", "globex"}
    acme = info["acme"]
    assert (acme.batches, acme.last_seq, acme.days) == (4, 4, 2)
    assert acme.rows == {"DeviceProcessEvents": 24, "RawEvents": 24}
    assert acme.files == 2 * 2 + 3 * 2 and acme.bytes > 0  # the first batch crosses midnight


def test_lake_commands(lake: Path, tmp_path: Path, hw_home: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["lake", "info", "--lake", str(lake), "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {r["tenant"]: r for r in json.loads(out.output)}
    assert rows["acme"]["rows"] == 48 and rows["globex"]["DeviceProcessEvents"] == 3

    target = tmp_path / "copy"
    out = runner.invoke(main, ["lake", "export", str(target), "--lake", str(lake)])
    assert out.exit_code == 0, out.output
    assert "exported 2 tenant(s), 54 rows" in out.output
    assert LakeStore(target).tenants() == ["acme", "globex"]
    out = runner.invoke(main, ["lake", "export", str(target), "--lake", str(lake)])
    assert out.exit_code != 0 and "already has data" in out.output

    out = runner.invoke(main, ["lake", "compact", "--tenant", "acme", "--lake", str(lake)])
    assert out.exit_code == 0 and "acme: 48 rows now in 4 files" in out.output, out.output
    out = runner.invoke(main, ["lake", "vacuum", "--older-than", "0", "--lake", str(lake)])
    assert out.exit_code == 0 and "acme: removed 10 file(s)" in out.output, out.output

    # without --lake the commands use HUNTWATCH_LAKE / HUNTWATCH_HOME (empty here)
    out = runner.invoke(main, ["lake", "info", "--format", "csv"])
    assert out.exit_code == 0 and out.output.splitlines()[0].startswith("tenant,batches")
