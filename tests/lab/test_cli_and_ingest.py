"""The lab end to end: the CLI writes it, the real ingest reads every event, ground truth is findable."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from huntwatch.cli import main
from huntwatch.ingest import ingest_paths
from huntwatch.lab import SCENARIOS, generate
from huntwatch.lake import DuckDBEngine


def test_cli_generate_and_scenarios(tmp_path: Path, hw_home: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "lab"
    result = runner.invoke(
        main,
        [
            "lab",
            "generate",
            "--devices",
            "12",
            "--days",
            "1",
            "--scenarios",
            "password_spray",
            "--seed",
            "9",
            "--format",
            "json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["scenarios"] == ["password_spray"] and manifest["events"] > 1000
    assert (out / "ground_truth.json").exists() and len(list((out / "telemetry").rglob("*.jsonl"))) == 12
    listed = runner.invoke(main, ["lab", "scenarios", "--format", "json"])
    assert {row["name"] for row in json.loads(listed.stdout)} == set(SCENARIOS)
    bad = runner.invoke(main, ["lab", "generate", "--scenarios", "nope", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown scenario" in bad.output


def test_ingest_reads_every_event_and_finds_the_ground_truth(tmp_path: Path) -> None:
    lab = generate(tmp_path / "lab", devices=12, days=1, scenarios=list(SCENARIOS), seed=21, compress=True)
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "lab", [lab.telemetry_dir])
    assert report.ok, report.errors
    assert report.events_written == lab.events and not report.unknown
    truth = json.loads((Path(lab.out_dir) / lab.ground_truth).read_text())
    refs = [
        {"device": f"{e['device'].lower()}.corp.example", "channel": e["channel"], "record": e["record_id"]}
        for s in truth["scenarios"]
        for e in s["events"]
    ]
    found = engine.query(
        "SELECT count(*) AS n FROM refs JOIN RawEvents r ON r.DeviceName = refs.device "
        "AND r.Channel = refs.channel AND r.RecordId = refs.record",
        "lab",
        inputs={"refs": pa.Table.from_pylist(refs)},
    ).to_pylist()[0]["n"]
    assert found == len(refs)
    spray = engine.query(
        "SELECT count(DISTINCT AccountName) AS accounts FROM DeviceLogonEvents WHERE ActionType = 'LogonFailed' "
        "AND RemoteIP NOT LIKE '10.%' AND RemoteIP <> '127.0.0.1'",
        "lab",
    ).to_pylist()[0]["accounts"]
    assert spray >= 20


@pytest.mark.slow
def test_memory_stays_bounded_as_the_lab_grows(tmp_path: Path) -> None:
    """Peak RSS of a 120-device, 3-day lab stays close to a 15-device, 1-day one: output is streamed."""
    script = textwrap.dedent(
        """
        import resource, sys
        from huntwatch.lab import generate
        generate(sys.argv[1], devices=int(sys.argv[2]), days=int(sys.argv[3]), seed=1)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        """
    )

    def peak_kib(devices: int, days: int) -> int:
        out = tmp_path / f"lab-{devices}"
        done = subprocess.run(
            [sys.executable, "-c", script, str(out), str(devices), str(days)],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(done.stdout.strip())

    small, big = peak_kib(15, 1), peak_kib(120, 3)
    assert big - small < 40 * 1024, f"peak RSS grew {(big - small) / 1024:.0f} MiB for 24x the device-days"
