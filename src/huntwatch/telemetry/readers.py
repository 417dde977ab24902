"""Readers: files, folders and archives of Windows events → ``RawEvent`` / ``ReadError``.

Formats: EVTX (the ``evtx`` Rust parser), gzipped EVTX, JSON lines or a JSON array in the flat NXLog shape
of OTRF Security-Datasets, Winlogbeat 6 (``event_data``), Winlogbeat 7/8 / ECS (``winlog``) and EVTX-JSON
(``Event.System``); ``.zip`` and ``.tar.gz`` archives of those. Readers are pure: bytes in, events out.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import evtx
import orjson

from huntwatch.telemetry.events import RawEvent, ReadError, SourceError, parse_time


@dataclass(frozen=True)
class Limits:
    """Bounds that keep hostile input from exhausting memory."""

    max_line_bytes: int = 16 * 1024 * 1024
    max_member_bytes: int = 2 * 1024 * 1024 * 1024  # one decompressed file inside an archive or .gz
    max_ratio: int = 400  # decompressed / compressed size beyond which an archive member is a bomb
    max_json_array_bytes: int = 512 * 1024 * 1024
    bomb_floor_bytes: int = 64 * 1024 * 1024  # below this, a high ratio is just a very repetitive log


DEFAULT_LIMITS = Limits()
EVTX_MAGIC = b"ElfFile\x00"
_SUFFIXES = (
    ".evtx",
    ".evtx.gz",
    ".json",
    ".jsonl",
    ".ndjson",
    ".json.gz",
    ".jsonl.gz",
    ".ndjson.gz",
    ".zip",
    ".tar.gz",
    ".tgz",
)


def is_supported(name: str) -> bool:
    low = name.lower()
    return low.endswith(_SUFFIXES)


def discover(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[ReadError]]:
    """Expand files and folders (recursively) into the supported files, in a stable order."""
    found: list[Path] = []
    errors: list[ReadError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and is_supported(p.name))
            if not files:
                errors.append(
                    ReadError(str(path), "folder holds no .evtx, .json, .jsonl, .ndjson, .zip or .tar.gz files")
                )
            found.extend(files)
        elif path.is_file():
            found.append(path)
        elif path.exists():
            errors.append(ReadError(str(path), "not a regular file"))
        else:
            errors.append(ReadError(str(path), "no such file or folder"))
    return found, errors


def read_path(path: Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[RawEvent | ReadError]:
    """Every event of one file; a file that cannot be read at all raises ``SourceError``."""
    name = str(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, streamed by the readers
    except OSError as exc:
        raise SourceError(name, f"cannot open: {exc.strerror or exc}") from exc
    with handle:
        try:
            yield from read_stream(handle, name, limits, size=path.stat().st_size)
        except OSError as exc:
            raise SourceError(name, f"read failed: {exc.strerror or exc}") from exc


def read_stream(
    handle: IO[bytes], name: str, limits: Limits = DEFAULT_LIMITS, size: int | None = None
) -> Iterator[RawEvent | ReadError]:
    low = name.lower()
    if low.endswith(".zip"):
        yield from _read_zip(handle, name, limits)
    elif low.endswith((".tar.gz", ".tgz")):
        yield from _read_tar(handle, name, limits)
    elif low.endswith(".gz") and not low.endswith((".evtx.gz", ".zip.gz")):
        yield from read_json(_capped(gzip.GzipFile(fileobj=handle), name, limits, size), name[:-3], limits)
    elif low.endswith(".gz"):  # EVTX needs random access: decompress it whole (bounded)
        data = _gunzip(handle.read(), name, _cap(limits, size), limits)
        yield from read_stream(io.BytesIO(data), name[:-3], limits, size=len(data))
    elif low.endswith(".evtx"):
        yield from read_evtx(handle, name)
    else:
        yield from read_json(handle, name, limits)


def _cap(limits: Limits, compressed: int | None) -> int:
    if compressed:
        return min(limits.max_member_bytes, max(compressed * limits.max_ratio, limits.bomb_floor_bytes))
    return limits.max_member_bytes


def _bomb(name: str, cap: int, limits: Limits) -> SourceError:
    return SourceError(
        name,
        f"decompresses to more than {cap:,} bytes (ratio limit {limits.max_ratio}:1): refused as a "
        "possible decompression bomb",
    )


class _Capped(io.RawIOBase):
    """A decompressing stream that refuses to yield more than ``cap`` bytes, so JSON lines stream from an
    archive or .gz without holding the whole member in memory and a bomb stops early."""

    def __init__(self, stream: IO[bytes], name: str, cap: int, limits: Limits) -> None:
        self.stream, self.name, self.cap, self.limits, self.total = stream, name, cap, limits, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            n = self.stream.readinto(buffer)  # type: ignore[attr-defined]
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise SourceError(self.name, f"cannot decompress: {exc}") from exc
        self.total += n or 0
        if self.total > self.cap:
            raise _bomb(self.name, self.cap, self.limits)
        return n


def _capped(stream: IO[bytes], name: str, limits: Limits, compressed: int | None) -> IO[bytes]:
    return io.BufferedReader(_Capped(stream, name, _cap(limits, compressed), limits), buffer_size=1 << 20)


def _bounded_read(stream: IO[bytes], name: str, limits: Limits, compressed: int | None) -> bytes:
    cap = _cap(limits, compressed)
    try:
        data = stream.read(cap + 1)
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise SourceError(name, f"cannot decompress: {exc}") from exc
    if len(data) > cap:
        raise _bomb(name, cap, limits)
    return data


def _gunzip(data: bytes, name: str, cap: int, limits: Limits) -> bytes:
    """Every gzip member of ``data`` decompressed in C (``GzipFile`` loops in Python), refused beyond ``cap``."""
    out: list[bytes] = []
    total = 0
    while data:
        if data[0] == 0 and not data.strip(b"\x00"):
            break  # gzip allows zero padding after the last member
        member = zlib.decompressobj(wbits=31)
        try:
            part = member.decompress(data, cap + 1 - total)
        except zlib.error as exc:
            raise SourceError(name, f"cannot decompress: {exc}") from exc
        total += len(part)
        if total > cap:
            raise _bomb(name, cap, limits)
        if not member.eof:
            raise SourceError(name, "cannot decompress: the file ends before its gzip stream does (truncated)")
        out.append(part)
        data = member.unused_data
    return b"".join(out)


def _read_zip(handle: IO[bytes], name: str, limits: Limits) -> Iterator[RawEvent | ReadError]:
    try:
        archive = zipfile.ZipFile(handle)
    except zipfile.BadZipFile as exc:
        raise SourceError(name, f"not a valid zip archive: {exc}") from exc
    with archive:
        for info in archive.infolist():
            member = f"{name}!{info.filename}"
            if info.is_dir() or info.filename.startswith("__MACOSX/") or "/._" in f"/{info.filename}":
                continue
            if not is_supported(info.filename):
                yield ReadError(member, "skipped: not an event file")
                continue
            if info.file_size > limits.max_member_bytes or (
                info.compress_size
                and info.file_size / info.compress_size > limits.max_ratio
                and info.file_size > limits.bomb_floor_bytes
            ):
                yield ReadError(
                    member,
                    f"refused: declares {info.file_size:,} bytes from "
                    f"{info.compress_size:,} (possible decompression bomb)",
                )
                continue
            low = info.filename.lower()
            if not low.endswith((".evtx", ".zip", ".gz", ".tgz")):  # JSON: stream it
                try:
                    with archive.open(info) as stream:
                        yield from read_json(_capped(stream, member, limits, info.compress_size), member, limits)
                except SourceError as exc:
                    yield ReadError(member, exc.message)
                except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                    yield ReadError(member, f"cannot read archive member: {exc}")
                continue
            try:
                with archive.open(info) as stream:
                    data = _bounded_read(stream, member, limits, compressed=info.compress_size)
            except SourceError as exc:
                yield ReadError(member, exc.message)
                continue
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                yield ReadError(member, f"cannot read archive member: {exc}")
                continue
            try:
                yield from read_stream(io.BytesIO(data), member, limits, size=len(data))
            except SourceError as exc:
                yield ReadError(member, exc.message)


def _read_tar(handle: IO[bytes], name: str, limits: Limits) -> Iterator[RawEvent | ReadError]:
    try:
        archive = tarfile.open(fileobj=handle, mode="r:*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceError(name, f"not a valid tar archive: {exc}") from exc
    with archive:
        try:
            for info in archive:
                member = f"{name}!{info.name}"
                base = info.name.rsplit("/", 1)[-1]
                if not info.isfile() or base.startswith("._"):
                    continue
                if not is_supported(info.name):
                    yield ReadError(member, "skipped: not an event file")
                    continue
                if info.size > limits.max_member_bytes:
                    yield ReadError(member, f"refused: {info.size:,} bytes is over the member limit")
                    continue
                stream = archive.extractfile(info)
                if stream is None:
                    continue
                data = _bounded_read(stream, member, limits, compressed=None)
                try:
                    yield from read_stream(io.BytesIO(data), member, limits, size=len(data))
                except SourceError as exc:
                    yield ReadError(member, exc.message)
        except (tarfile.TarError, OSError, EOFError) as exc:
            yield ReadError(name, f"archive is truncated or corrupt: {exc}")


# ---------------------------------------------------------------------------------------------- EVTX


def read_evtx(handle: IO[bytes], name: str) -> Iterator[RawEvent | ReadError]:
    head = handle.read(4096)
    size = handle.seek(0, os.SEEK_END)
    handle.seek(0)
    if head[:8] != EVTX_MAGIC:
        raise SourceError(name, "not an EVTX file (bad signature)")
    if len(head) < 4096:
        raise SourceError(name, "EVTX file is truncated inside its header")
    declared = int.from_bytes(head[42:44], "little")  # chunk count in the file header
    held = (size - 4096) // 65536
    if held < declared:
        yield ReadError(
            name,
            f"EVTX file is truncated: its header declares {declared} chunks, the file holds {held} "
            "whole chunks; the events that remain are kept",
        )
    try:
        parser = evtx.PyEvtxParser(handle, number_of_threads=1)
        records = parser.records_json()
    except (RuntimeError, OSError, ValueError) as exc:
        raise SourceError(name, f"not a readable EVTX file: {exc}") from exc
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except (RuntimeError, OSError, ValueError) as exc:
            yield ReadError(name, f"corrupt EVTX record: {exc}")
            return
        try:
            doc = orjson.loads(record["data"])
            yield _from_evtx_json(doc.get("Event") or {}, name, record.get("event_record_id"))
        except (orjson.JSONDecodeError, AttributeError, TypeError, KeyError) as exc:
            yield ReadError(name, f"record {record.get('event_record_id')}: cannot decode: {exc}")


def _text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, dict):
        if "#text" in value:
            return _text(value["#text"])
        return orjson.dumps({k: v for k, v in value.items() if k != "#attributes"}).decode()
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flatten_data(data: Any, fields: dict[str, str]) -> None:
    """EventData/UserData → name → text; unnamed <Data> items become Data, Data1, Data2..."""
    if not isinstance(data, dict):
        if data not in (None, ""):
            fields["Data"] = _text(data)
        return
    for key, value in data.items():
        if type(value) is str:
            fields[key] = value
            continue
        if key == "#attributes":
            continue
        if key == "Data" and isinstance(value, dict | list):
            items = value.get("#text") if isinstance(value, dict) else value
            if isinstance(items, list):
                fields["Data"] = "\n".join(_text(v) for v in items)
                for i, v in enumerate(items, 1):
                    fields[f"Data{i}"] = _text(v)
            else:
                fields["Data"] = _text(items)
        elif isinstance(value, dict) and "#text" not in value and key != "Binary":
            _flatten_data(value, fields)  # UserData wraps its fields in one element
        else:
            fields[key] = _text(value)


def _attr(node: Any, name: str) -> Any:
    if isinstance(node, dict):
        attrs = node.get("#attributes")
        if isinstance(attrs, dict):
            return attrs.get(name)
    return None


def _from_evtx_json(event: dict[str, Any], source: str, record_id: int | None) -> RawEvent:
    system = event.get("System") or {}
    fields: dict[str, str] = {}
    _flatten_data(event.get("EventData"), fields)
    _flatten_data(event.get("UserData"), fields)
    raw_id = system.get("EventID")
    event_id = int(_text(raw_id) or 0)
    channel = _text(system.get("Channel"))
    provider = _text(_attr(system.get("Provider"), "Name"))
    computer = _text(system.get("Computer"))
    time = parse_time(_attr(system.get("TimeCreated"), "SystemTime"))
    rid = system.get("EventRecordID", record_id)
    fields["EventID"] = str(event_id)
    fields["Channel"] = channel
    fields["Provider_Name"] = provider
    fields["Computer"] = computer
    for key in ("Level", "Task", "Opcode", "Keywords", "Version"):
        value = system.get(key)
        if value is not None:
            fields[key] = _text(value)
    user = _attr(system.get("Security"), "UserID")
    if user:
        fields["UserID"] = str(user)
    pid = _attr(system.get("Execution"), "ProcessID")
    if pid is not None:
        fields["ExecutionProcessID"] = str(pid)
    return RawEvent(
        channel=channel,
        provider=provider,
        event_id=event_id,
        record_id=int(rid) if rid is not None else None,
        time=time,
        computer=computer,
        fields=fields,
        source=source,
    )


# ---------------------------------------------------------------------------------------------- JSON

# NXLog / Winlogbeat bookkeeping, not the event's own data.
_FLAT_META = frozenset(
    {
        "@timestamp",
        "@version",
        "EventReceivedTime",
        "SourceModuleName",
        "SourceModuleType",
        "host",
        "port",
        "tags",
        "Severity",
        "SeverityValue",
        "EventType_",
        "OpcodeValue",
        "Category",
        "ExecutionProcessID",
        "ThreadID",
        "RecordNumber",
        "ProviderGuid",
        "Hostname",
        "SourceName",
        "ProviderName",
        "TimeCreated",
        "EventTime",
        "Message",
        "EventID",
        "Channel",
    }
)
_TIME_KEYS = ("@timestamp", "TimeCreated", "EventTime", "UtcTime")
# Keys that are not the event's own data: an event with nothing else keeps its rendered Message.
_NOT_DATA = frozenset(
    {"Level", "Task", "Keywords", "Opcode", "Version", "UserID", "AccountName", "Domain", "AccountType", "EventType"}
)
# Channels whose Message only renders the data fields again: dropped when the fields are there.
_RENDERED_ONLY = frozenset({"security", "microsoft-windows-sysmon/operational"})


def read_json(handle: IO[bytes], name: str, limits: Limits = DEFAULT_LIMITS) -> Iterator[RawEvent | ReadError]:
    """JSON lines, or one JSON array of events."""
    if hasattr(handle, "peek"):
        head = handle.peek(256)[:256]
    else:
        head = handle.read(256)
        handle.seek(0)
    if head.lstrip(b" \r\n\t\xef\xbb\xbf")[:1] == b"[":
        data = handle.read(limits.max_json_array_bytes + 1)
        if len(data) > limits.max_json_array_bytes:
            raise SourceError(name, f"JSON array over {limits.max_json_array_bytes:,} bytes: write it as JSON lines")
        try:
            items = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise SourceError(name, f"malformed JSON array: {exc}") from exc
        for i, item in enumerate(items, 1):
            yield _decode_item(item, name, i, None)
        return
    yield from _read_lines(handle, name, limits)


def _read_lines(handle: IO[bytes], name: str, limits: Limits) -> Iterator[RawEvent | ReadError]:
    number = 0
    recent: dict[bytes, int] = {}
    for line in _lines(handle, limits.max_line_bytes):
        number += 1
        if line is None:
            yield ReadError(name, f"line longer than {limits.max_line_bytes:,} bytes: skipped", number)
            continue
        stripped = line.strip()
        if not stripped:
            continue
        try:
            item = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            yield ReadError(name, f"malformed JSON: {exc}", number)
            continue
        event = _decode_item(item, name, number, stripped)
        if type(event) is RawEvent and event.identity is not None:
            # Byte-identical lines are distinct events when they have no record id: number the repeats so
            # each keeps its own stable key (repeats are adjacent in practice, so a bounded memory is enough).
            seen = recent.get(stripped, 0)
            recent[stripped] = seen + 1
            if len(recent) > 4096:
                recent.pop(next(iter(recent)))
            if seen:
                event.identity = stripped + b"\x00%d" % seen
        yield event


def _lines(handle: IO[bytes], max_bytes: int, chunk_bytes: int = 1 << 20) -> Iterator[bytes | None]:
    """The lines of a stream, split in C a chunk at a time; ``None`` stands for a line over ``max_bytes``,
    which is skipped without ever being held whole."""
    pending = b""
    skipping = False  # inside an over-long line: drop bytes up to its end
    while True:
        chunk = handle.read(chunk_bytes)
        if not chunk:
            if pending and not skipping:
                yield pending
            return
        if skipping:
            end = chunk.find(b"\n")
            if end < 0:
                continue
            chunk, skipping = chunk[end + 1 :], False
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            yield None if len(line) > max_bytes else line
        if len(pending) > max_bytes:
            yield None
            pending, skipping = b"", True


def _decode_item(item: Any, name: str, line: int, raw: bytes | None) -> RawEvent | ReadError:
    if not isinstance(item, dict):
        return ReadError(name, f"expected a JSON object, found {type(item).__name__}", line)
    try:
        if "Event" in item and isinstance(item["Event"], dict) and "System" in item["Event"]:
            event = _from_evtx_json(item["Event"], name, None)
        elif isinstance(item.get("winlog"), dict):
            event = _from_winlogbeat(item, item["winlog"], name)
        elif "event_data" in item or "log_name" in item:
            event = _from_winlogbeat(item, item, name)
        elif "EventID" in item:
            event = _from_flat(item, name)
        else:
            return ReadError(name, "not a Windows event: no EventID, winlog, event_data or Event.System", line)
    except (TypeError, ValueError) as exc:
        return ReadError(name, f"cannot interpret event: {exc}", line)
    event.line = line
    if event.record_id is None:
        event.identity = raw if raw is not None else orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
    return event


def _from_flat(item: dict[str, Any], name: str) -> RawEvent:
    channel = _text(item.get("Channel"))
    provider = _text(item.get("SourceName") or item.get("ProviderName"))
    computer = _text(item.get("Hostname") or item.get("host"))
    time = None
    for key in _TIME_KEYS:
        if item.get(key):
            time = parse_time(item[key])
            if time:
                break
    fields = {k: v if type(v) is str else _text(v) for k, v in item.items() if k not in _FLAT_META and v is not None}
    message = item.get("Message")
    if message and (fields.keys() <= _NOT_DATA or channel.lower() not in _RENDERED_ONLY):
        fields["Message"] = _text(message)
    event_id = int(item["EventID"])
    fields["EventID"] = str(event_id)
    fields["Channel"] = channel
    fields["Provider_Name"] = provider
    fields["Computer"] = computer
    rid = item.get("RecordNumber") or item.get("EventRecordID")
    return RawEvent(
        channel, provider, event_id, int(rid) if rid not in (None, "") else None, time, computer, fields, name
    )


def _from_winlogbeat(item: dict[str, Any], win: dict[str, Any], name: str) -> RawEvent:
    """Winlogbeat 6 (flat keys next to ``event_data``) and 7/8 (under ``winlog``, ECS around it)."""
    channel = _text(win.get("channel") or win.get("log_name"))
    provider = _text(win.get("provider_name") or win.get("source_name"))
    host = item.get("host")
    computer = _text(win.get("computer_name") or (host.get("name") if isinstance(host, dict) else host))
    event_id = int(_text(win.get("event_id") or (item.get("event") or {}).get("code") or 0))
    fields: dict[str, str] = {}
    _flatten_data(win.get("event_data"), fields)
    _flatten_data(win.get("user_data"), fields)
    message = item.get("message")
    if message and not fields:
        fields["Message"] = _text(message)
    fields.update({"EventID": str(event_id), "Channel": channel, "Provider_Name": provider, "Computer": computer})
    rid = win.get("record_id", win.get("record_number"))
    time = parse_time(item.get("@timestamp"))
    return RawEvent(
        channel, provider, event_id, int(rid) if rid not in (None, "") else None, time, computer, fields, name
    )
