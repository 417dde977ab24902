"""What a batch's catalog entry says about its events, and reading only chosen batches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from huntwatch.lake import DuckDBEngine
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


def test_a_batch_is_written_one_file_per_day_whatever_the_order_of_its_rows(tmp_path: Path) -> None:
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
