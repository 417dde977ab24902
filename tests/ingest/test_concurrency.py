"""kill -9 mid-ingest leaves the lake consistent and a rerun completes it; readers never see half a batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from huntwatch.ingest import ingest_paths
from huntwatch.lake import DuckDBEngine, LakeStore

EVENTS = 60_000
BATCH = 5_000


def _write_events(path: Path, n: int = EVENTS) -> Path:
    line = (
        '{{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Hostname": "wks-{d}", '
        '"RecordNumber": {i}, "@timestamp": "2024-05-01T10:{m:02d}:{s:02d}.{i:06d}Z", '
        '"Image": "C:\\\\Windows\\\\System32\\\\cmd.exe", "CommandLine": "cmd.exe /c echo {i}", '
        '"ParentImage": "C:\\\\Windows\\\\explorer.exe", "User": "CORP\\\\user{d}"}}\n'
    )
    with open(path, "w") as handle:
        for i in range(n):
            handle.write(line.format(i=i, d=i % 7, m=(i // 60) % 60, s=i % 60))
    return path


def _ingest_in_child(lake: Path, source: Path) -> subprocess.Popen[bytes]:
    code = (
        "import sys; from huntwatch.lake import DuckDBEngine; from huntwatch.ingest import ingest_paths; "
        f"ingest_paths(DuckDBEngine(sys.argv[1]), 't', [sys.argv[2]], batch_rows={BATCH})"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(lake), str(source)])


def _wait_for_batches(store: LakeStore, at_least: int, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batches = len(store.catalog("t").batches) if store.tenants() else 0
        if batches >= at_least:
            return batches
        time.sleep(0.02)
    raise AssertionError(f"no {at_least} committed batches within {timeout} s")


@pytest.mark.slow
def test_kill_minus_9_mid_ingest_then_rerun_completes(tmp_path: Path) -> None:
    source = _write_events(tmp_path / "events.jsonl")
    lake = tmp_path / "lake"
    child = _ingest_in_child(lake, source)
    store = LakeStore(lake)
    _wait_for_batches(store, 2)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    engine = DuckDBEngine(lake)
    committed = store.catalog("t")
    assert committed.batches and source.name not in str(committed.sources)
    stored = engine.query("SELECT count(*) n, count(DISTINCT EventKey) k FROM RawEvents", "t").to_pylist()[0]
    assert stored["n"] == stored["k"] == sum(b.rows.get("RawEvents", 0) for b in committed.batches)
    assert stored["n"] % BATCH == 0 and stored["n"] < EVENTS
    typed = engine.query("SELECT count(*) n FROM DeviceProcessEvents", "t")["n"][0].as_py()
    assert typed == stored["n"]  # the typed table and the raw table of each batch arrived together

    report = ingest_paths(engine, "t", [source], batch_rows=BATCH)
    assert report.ok
    assert report.duplicates == stored["n"]
    final = engine.query("SELECT count(*) n, count(DISTINCT EventKey) k FROM RawEvents", "t").to_pylist()[0]
    assert final["n"] == final["k"] == EVENTS
    assert ingest_paths(engine, "t", [source]).files[0].skipped


@pytest.mark.slow
def test_queries_from_another_process_while_ingesting(tmp_path: Path) -> None:
    source = _write_events(tmp_path / "events.jsonl")
    lake = tmp_path / "lake"
    child = _ingest_in_child(lake, source)
    seen: list[int] = []
    env = {**os.environ, "HUNTWATCH_HOME": str(tmp_path / "home"), "HUNTWATCH_LAKE": f"parquet:{lake}"}
    try:
        _wait_for_batches(LakeStore(lake), 1)
        while child.poll() is None and len(seen) < 50:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "huntwatch",
                    "query",
                    "SELECT count(*) AS n FROM DeviceProcessEvents",
                    "--tenant",
                    "t",
                    "--format",
                    "csv",
                ],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            seen.append(int(result.stdout.splitlines()[1]))
    finally:
        child.wait(timeout=300)
    assert seen, "no query ran while the ingest was writing"
    assert all(n % BATCH == 0 or n == EVENTS for n in seen), seen  # whole batches only
    assert seen == sorted(seen)
