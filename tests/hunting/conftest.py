"""Fixtures for hunting tests: a real lake and a real SQLite state DB under tmp_path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from huntwatch.lake import DuckDBEngine
from huntwatch.schema import arrow_schema
from huntwatch.state import Database

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
T0 = dt.datetime(2024, 5, 1, 9, 0, 0)


def rows_table(name: str, rows: Iterable[dict[str, Any]]) -> pa.Table:
    """A schema-typed Arrow table from partial rows (missing columns are null)."""
    schema = arrow_schema(name)
    rows = list(rows)
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}, schema=schema)


def proc(
    i: int,
    minutes: float,
    file: str,
    *,
    device: str = "ws1",
    account: str = "alice",
    cmd: str = "",
    parent: str = "explorer.exe",
    folder: str | None = None,
) -> dict[str, Any]:
    return {
        "TenantId": "t1",
        "EventKey": f"p{i:05d}",
        "Timestamp": T0 + dt.timedelta(minutes=minutes),
        "DeviceName": device,
        "ActionType": "ProcessCreated",
        "FileName": file,
        "FolderPath": folder or f"C:\\Windows\\System32\\{file}",
        "ProcessCommandLine": cmd or file,
        "AccountName": account,
        "InitiatingProcessFileName": parent,
        "SourceChannel": "Microsoft-Windows-Sysmon/Operational",
        "SourceEventId": 1,
    }


def raw(key: str, minutes: float, channel: str, event_id: int, device: str = "ws1") -> dict[str, Any]:
    return {
        "TenantId": "t1",
        "EventKey": key,
        "Timestamp": T0 + dt.timedelta(minutes=minutes),
        "DeviceName": device,
        "Channel": channel,
        "EventID": event_id,
        "Fields": [],
    }


def write_raw_hunt(folder: Path, hunt_id: str, requires: str, where: str) -> Path:
    """A minimal RawEvents hunt file: ``requires`` is its YAML list, ``where`` its query's condition."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hunt_id.replace('-', '_')}.yml"
    path.write_text(
        f"""id: {hunt_id}
title: t
description: d
severity: low
confidence: 0.5
tactics: [Discovery]
techniques: []
table: RawEvents
requires:
{requires}
query: |
  SELECT Timestamp, EventKey, DeviceName FROM RawEvents WHERE {where}
"""
    )
    return path


@pytest.fixture
def engine(tmp_path: Path) -> DuckDBEngine:
    return DuckDBEngine(tmp_path / "lake")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("HUNTWATCH_HOME", str(tmp_path / "home"))
    database = Database(f"sqlite:///{tmp_path / 'state.db'}")
    database.create_all()
    return database
