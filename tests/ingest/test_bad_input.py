"""Bad input: each case gets a clear error naming the file (and line), and the rest still lands."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from huntwatch.ingest import ingest_ndjson, ingest_paths
from huntwatch.lake import DuckDBEngine
from huntwatch.telemetry import Limits
from tests.conftest import dataset

GOOD_EVTX = "evtx-to-mitre-attack/EVTX_full_APT_attack_steps/ID11,13,17,18-PSexec as system execution.evtx.gz"
LINE = (
    b'{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Hostname": "h1", '
    b'"@timestamp": "2024-05-01T10:00:00Z", "Image": "C:\\\\x.exe", "CommandLine": "x %d"}\n'
)


def _good_jsonl(path: Path, n: int = 3) -> Path:
    path.write_bytes(b"".join(LINE.replace(b"%d", str(i).encode()) for i in range(n)))
    return path


def _count(engine: DuckDBEngine, tenant: str = "t") -> int:
    return engine.query("SELECT count(*) n FROM RawEvents", tenant)["n"][0].as_py()


def _evtx_bytes() -> bytes:
    return gzip.decompress(dataset(GOOD_EVTX).read_bytes())


def test_truncated_evtx_keeps_what_it_can_and_names_the_file(tmp_path: Path) -> None:
    data = _evtx_bytes()
    broken = tmp_path / "truncated.evtx"
    broken.write_bytes(data[: 4096 + 65536 // 2])  # header plus half of the first chunk
    good = _good_jsonl(tmp_path / "good.jsonl")
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [broken, good])
    assert not report.ok
    assert any("truncated.evtx" in e and "EVTX file is truncated" in e for e in report.errors)
    assert _count(engine) >= 3  # the good file landed


def test_non_evtx_file_named_evtx(tmp_path: Path) -> None:
    fake = tmp_path / "notes.evtx"
    fake.write_text("this is not an event log")
    good = _good_jsonl(tmp_path / "good.jsonl")
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [fake, good])
    failed = {Path(f.source).name: f.failed for f in report.failed_files}
    assert "not an EVTX file" in failed["notes.evtx"]
    assert _count(engine) == 3


def test_corrupt_evtx_chunk(tmp_path: Path) -> None:
    data = bytearray(_evtx_bytes())
    data[4096 + 512 : 4096 + 4096] = os.urandom(4096 - 512)  # garble records inside the first chunk
    broken = tmp_path / "garbled.evtx"
    broken.write_bytes(bytes(data))
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [broken, _good_jsonl(tmp_path / "good.jsonl")])
    assert _count(engine) >= 3
    assert report.error_count or report.failed_files or report.events_read < 15
    for f in report.failed_files:
        assert f.failed


def test_malformed_json_lines_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(LINE.replace(b"%d", b"1") + b"{not json\n" + b"[1,2]\n" + b"\n" + LINE.replace(b"%d", b"2"))
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [path])
    assert report.error_count == 2
    assert any("mixed.jsonl:2" in e and "malformed JSON" in e for e in report.errors)
    assert any("mixed.jsonl:3" in e for e in report.errors)
    assert _count(engine) == 2


def test_unreadable_file(tmp_path: Path) -> None:
    link = tmp_path / "unreadable.jsonl"
    os.symlink("/proc/self/mem", link)  # opens, but every read fails with EIO (even for root)
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [link, _good_jsonl(tmp_path / "good.jsonl")])
    failed = {Path(f.source).name: f.failed for f in report.failed_files}
    assert "Input/output error" in failed["unreadable.jsonl"]
    assert _count(engine) == 3


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [empty, tmp_path / "nope.evtx"])
    failed = {f.source: f.failed for f in report.failed_files}
    assert "holds no .evtx" in failed[str(empty)]
    assert "no such file" in failed[str(tmp_path / "nope.evtx")]
    assert not report.ok


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("huge.jsonl", b"\n" * (8 * 1024 * 1024))
        archive.writestr("fine.jsonl", LINE.replace(b"%d", b"1"))
    limits = Limits(max_ratio=100, bomb_floor_bytes=1024 * 1024)
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [bomb], limits=limits)
    assert any("bomb.zip!huge.jsonl" in e and "decompression bomb" in e for e in report.errors)
    assert _count(engine) == 1


def test_gzip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.evtx.gz"
    bomb.write_bytes(gzip.compress(b"\0" * (8 * 1024 * 1024)))
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [bomb], limits=Limits(max_ratio=100, bomb_floor_bytes=1024 * 1024))
    assert "decompression bomb" in (report.failed_files[0].failed or "")


def test_truncated_or_garbled_evtx_gz_names_the_file_and_the_rest_lands(tmp_path: Path) -> None:
    packed = dataset(GOOD_EVTX).read_bytes()
    (tmp_path / "cut.evtx.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "garbled.evtx.gz").write_bytes(packed[:10] + b"\xff" * 64)
    good = _good_jsonl(tmp_path / "good.jsonl")
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [tmp_path / "cut.evtx.gz", tmp_path / "garbled.evtx.gz", good])
    failed = {Path(f.source).name: f.failed or "" for f in report.failed_files}
    assert "truncated" in failed["cut.evtx.gz"]
    assert "cannot decompress" in failed["garbled.evtx.gz"]
    assert _count(engine) == 3


def test_evtx_gz_of_several_gzip_members_is_read_whole(tmp_path: Path) -> None:
    data = _evtx_bytes()
    members = tmp_path / "members.evtx.gz"
    members.write_bytes(gzip.compress(data[:70000]) + gzip.compress(data[70000:]) + b"\0" * 8)
    whole = tmp_path / "whole.evtx"
    whole.write_bytes(data)
    engine = DuckDBEngine(tmp_path / "lake")
    assert ingest_paths(engine, "a", [members]).ok and ingest_paths(engine, "b", [whole]).ok
    assert _count(engine, "a") == _count(engine, "b") > 0


def test_absurdly_long_line_is_skipped_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_bytes(
        LINE.replace(b"%d", b"1")
        + b'{"EventID": 1, "x": "'
        + b"A" * (3 * 1024 * 1024)
        + b'"}\n'
        + LINE.replace(b"%d", b"3")
    )
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [path], limits=Limits(max_line_bytes=1024 * 1024))
    assert any("long.jsonl:2" in e and "longer than" in e for e in report.errors)
    assert _count(engine) == 2


def test_archives_of_event_files(tmp_path: Path) -> None:
    evtx_data = _evtx_bytes()
    zipped = tmp_path / "bundle.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("logs/psexec.evtx", evtx_data)
        archive.writestr("__MACOSX/logs/._psexec.evtx", b"junk")
        archive.writestr("readme.txt", b"not events")
    tarred = tmp_path / "bundle.tar.gz"
    with tarfile.open(tarred, "w:gz") as archive:
        payload = LINE.replace(b"%d", b"9")
        info = tarfile.TarInfo("events/one.ndjson")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_paths(engine, "t", [zipped, tarred])
    assert report.events_read == 15 + 1
    assert any("readme.txt" in e and "not an event file" in e for e in report.errors)


def test_hostile_strings_are_stored_verbatim(tmp_path: Path) -> None:
    hostile = "<script>alert(1)</script> '; DROP TABLE RawEvents; -- {{7*7}} javascript:alert(1) \u202e"
    body = (
        b'{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Hostname": "h", '
        b'"@timestamp": "2024-01-01T00:00:00Z", "Image": "C:\\\\a.exe", "CommandLine": '
        + __import__("json").dumps(hostile).encode()
        + b"}\n"
    )
    engine = DuckDBEngine(tmp_path / "lake")
    report = ingest_ndjson(engine, "t", body, "sensor")
    assert report.events_written == 1
    stored = engine.query("SELECT ProcessCommandLine FROM DeviceProcessEvents", "t")["ProcessCommandLine"][0].as_py()
    assert stored == hostile


def test_invalid_tenant_name_is_refused(tmp_path: Path) -> None:
    from huntwatch.lake import LakeError

    engine = DuckDBEngine(tmp_path / "lake")
    with pytest.raises(LakeError, match="invalid tenant"):
        ingest_paths(engine, "../evil", [_good_jsonl(tmp_path / "g.jsonl")])


def test_cli_exit_status_reflects_failures(tmp_path: Path, hw_home: Path) -> None:
    from click.testing import CliRunner

    from huntwatch.cli import main

    bad = tmp_path / "bad.evtx"
    bad.write_text("nope")
    good = _good_jsonl(tmp_path / "good.jsonl")
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", str(good), str(bad), "--tenant", "acme", "--workers", "1"])
    assert result.exit_code == 1
    assert "bad.evtx" in result.output and "not an EVTX file" in result.output
    ok = runner.invoke(main, ["ingest", str(good), "--tenant", "acme", "--json"])
    assert ok.exit_code == 0, ok.output
    shutil.rmtree(hw_home)
