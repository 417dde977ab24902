"""What a batch's catalog entry says about its events, and reading only chosen batches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from huntwatch.lake import DuckDBEngine
from huntwatch.lake import store as lake_store
from huntwatch.lake.store import MAX_LISTED_DEVICES
from huntwatch.schema import RAW_TABLE, arrow_schema

T0 = dt.datetime(2024, 3, 1, 12, 0)


def _raw(devices: list[str], minutes: list[int]) -> pa.Table:
    rows = [
        {"TenantId": "t", "EventKey": f"{d}-{m}", "Timestamp": T0 + dt.timedelta(minutes=m), "DeviceName": d}
        for d, m in zip(devices, minutes, strict=True)
    ]
    return pa.Table.from_pylist(rows, schema=arrow_schema(RAW_TABLE.name))


def test_a_batch_lists_its_devices_and_time_span(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path)
    batch = engine.append("t", {RAW_TABLE.name: _raw(["ws2", "ws1", "ws1"], [0, 5, 90])})
    assert batch is not None
    assert batch.devices == ["ws1", "ws2"]
    assert batch.time_range == [T0.isoformat(), (T0 + dt.timedelta(minutes=90)).isoformat()]
    inside, after = T0 + dt.timedelta(minutes=30), T0 + dt.timedelta(days=1)
    assert batch.may_hold(inside.isoformat(), inside.isoformat(), {"ws1", "dc1"})
    assert not batch.may_hold(inside.isoformat(), inside.isoformat(), {"dc1"})  # other devices
    assert not batch.may_hold(after.isoformat(), after.isoformat(), {"ws1"})  # later
    assert batch.may_hold(None, None, {"ws2"})  # events without a time could be anywhere


def test_too_many_devices_are_not_listed_and_may_always_match(tmp_path: Path) -> None:
    names = [f"host{i}" for i in range(MAX_LISTED_DEVICES + 1)]
    batch = DuckDBEngine(tmp_path).append("t", {RAW_TABLE.name: _raw(names, [0] * len(names))})
    assert batch is not None and batch.devices is None
    assert batch.may_hold(T0.isoformat(), T0.isoformat(), {"anything"})


def test_a_query_can_read_only_chosen_batches(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path)
    first = engine.append("t", {RAW_TABLE.name: _raw(["ws1"], [0])})
    second = engine.append("t", {RAW_TABLE.name: _raw(["ws2"], [0])})
    assert first is not None and second is not None
    sql = "SELECT DeviceName FROM RawEvents ORDER BY 1"
    assert engine.query(sql, "t")["DeviceName"].to_pylist() == ["ws1", "ws2"]
    assert engine.query(sql, "t", batches=[second.seq])["DeviceName"].to_pylist() == ["ws2"]
    assert engine.query(sql, "t", batches=[])["DeviceName"].to_pylist() == []


def test_a_batch_is_written_one_file_per_day_whatever_the_order_of_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lake_store, "SPAN_FILE_ROWS", 1)  # every day is busy enough for a file of its own
    # Two runs of 1 March around one event of 1969 (before the epoch), then events without a time.
    times = [T0, T0, dt.datetime(1969, 7, 20, 20, 17), T0, None, T0]
    data = _raw(["a", "b", "c", "d", "e", "f"], [0] * 6).set_column(2, "Timestamp", pa.array(times, pa.timestamp("us")))
    engine = DuckDBEngine(tmp_path)
    batch = engine.append("t", {RAW_TABLE.name: data})
    assert batch is not None
    days = sorted(Path(rel).parent.name for rel in batch.files[RAW_TABLE.name])
    assert days == ["day=1969-07-20", "day=2024-03-01", "day=unknown"]
    stored = engine.query("SELECT EventKey, Timestamp FROM RawEvents ORDER BY EventKey", "t")
    assert stored["EventKey"].to_pylist() == sorted(data["EventKey"].to_pylist())
    assert stored["Timestamp"].to_pylist() == [t.replace(microsecond=0) if t else None for t in times]


def test_sparse_days_share_a_file_and_a_busy_day_keeps_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lake_store, "SPAN_FILE_ROWS", 3)
    day = dt.timedelta(days=1)
    # One event on each of 1, 2, 5 and 6 March, four on 3 March, two without a time.
    times = [T0, T0 + day, *[T0 + 2 * day] * 4, T0 + 4 * day, T0 + 5 * day, None, None]
    keys = [f"k{i}" for i in range(len(times))]
    data = _raw(keys, [0] * len(times)).set_column(2, "Timestamp", pa.array(times, pa.timestamp("us")))
    engine = DuckDBEngine(tmp_path)
    batch = engine.append("t", {RAW_TABLE.name: data})
    assert batch is not None
    base = engine.store.tenant_dir("t")
    files = {rel: pq.read_table(base / rel)["Timestamp"].to_pylist() for rel in batch.files[RAW_TABLE.name]}
    by_folder = sorted((Path(rel).parent.name, len(stamps)) for rel, stamps in files.items())
    # 1+2 March reach three rows with 5 March; 6 March is what is left; 3 March and "no time" stand alone.
    assert by_folder == [("day=2024-03-01", 3), ("day=2024-03-03", 4), ("day=2024-03-06", 1), ("day=unknown", 2)]
    for rel, stamps in files.items():
        folder = Path(rel).parent.name.removeprefix("day=")
        assert all(s is None for s in stamps) if folder == "unknown" else min(stamps).date().isoformat() == folder
    stored = engine.query("SELECT EventKey FROM RawEvents ORDER BY EventKey", "t")["EventKey"].to_pylist()
    assert stored == sorted(f"{k}-0" for k in keys)
    late = engine.query("SELECT count(*) AS n FROM RawEvents WHERE Timestamp >= ?", "t", params=[T0 + 4 * day])
    assert late["n"].to_pylist() == [2]


def test_a_table_has_the_schema_columns_only_not_the_folder_names(tmp_path: Path) -> None:
    # The lake's folders look like Hive partitions (tenant=, table=, day=); they are layout, not columns.
    engine = DuckDBEngine(tmp_path)
    sql = "SELECT * FROM RawEvents LIMIT 0"
    empty = engine.query(sql, "t").column_names
    engine.append("t", {RAW_TABLE.name: _raw(["ws1"], [0])})
    assert engine.query(sql, "t").column_names == empty == arrow_schema(RAW_TABLE.name).names
