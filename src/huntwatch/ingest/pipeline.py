"""The ingest pipeline: readers → normalisers → lake, with progress, errors per file/line, idempotence.

Idempotence works at two levels. A file whose content fingerprint a committed batch already lists is
skipped whole. Every event has a stable key (tenant, computer, channel, event id, record id, time — or the
raw record when it has no record id), and keys already in the lake are dropped before a commit, so an
interrupted ingest (even ``kill -9``) is completed by a rerun without duplicates.
"""

from __future__ import annotations

import collections
import hashlib
import io
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from huntwatch.lake import DuckDBEngine
from huntwatch.schema import DEVICE_TABLES, RAW_TABLE, arrow_schema, table
from huntwatch.telemetry import (
    DEFAULT_LIMITS,
    Limits,
    RawEvent,
    ReadError,
    SourceError,
    discover,
    normalise,
    read_path,
    read_stream,
)

MAX_ERRORS_KEPT = 200
# A batch is also cut when its events' field text reaches this size: a few PowerShell script blocks can
# weigh more than thousands of Sysmon events, and memory must stay bounded whatever the input.
BATCH_TEXT_BYTES = 48 * 1024 * 1024


@dataclass
class FileResult:
    source: str
    events: int = 0
    errors: int = 0
    failed: str | None = None  # why the whole file could not be read
    skipped: bool = False  # already ingested (same content fingerprint)


@dataclass
class IngestReport:
    tenant: str
    files: list[FileResult] = field(default_factory=list)
    events_read: int = 0
    events_written: int = 0
    duplicates: int = 0
    per_table: collections.Counter[str] = field(default_factory=collections.Counter)
    per_channel: collections.Counter[str] = field(default_factory=collections.Counter)
    unknown: collections.Counter[str] = field(default_factory=collections.Counter)  # "channel/eid" kept raw
    errors: list[str] = field(default_factory=list)  # first MAX_ERRORS_KEPT line/record errors
    error_count: int = 0
    batches: int = 0
    seconds: float = 0.0
    # Worker seconds by stage, summed over workers: read (unpack, decode, normalise), arrow, dedupe, write.
    stages: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def failed_files(self) -> list[FileResult]:
        return [f for f in self.files if f.failed]

    @property
    def ok(self) -> bool:
        return not self.failed_files and self.error_count == 0

    def add_error(self, error: ReadError | str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(str(error))

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "files": len(self.files),
            "files_skipped": sum(f.skipped for f in self.files),
            "files_failed": [{"file": f.source, "error": f.failed} for f in self.failed_files],
            "events_read": self.events_read,
            "events_written": self.events_written,
            "duplicates": self.duplicates,
            "per_table": dict(self.per_table.most_common()),
            "per_channel": dict(self.per_channel.most_common()),
            "unknown_event_ids": dict(self.unknown.most_common()),
            "error_count": self.error_count,
            "errors": self.errors,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in self.stages.items()},
        }


class Progress:
    """What the pipeline tells a progress display; the CLI subclasses it, tests use it silent."""

    def start(self, files: int) -> None: ...

    def advance(self, source: str, events: int) -> None: ...

    def finish(self) -> None: ...


# ---------------------------------------------------------------------------------------------- rows


def event_key(tenant: str, event: RawEvent) -> str:
    h = hashlib.blake2b(digest_size=12)
    if event.record_id is not None:
        stamp = event.time.isoformat() if event.time else ""
        h.update(
            f"{tenant}\x1f{event.computer.lower()}\x1f{event.channel.lower()}\x1f{event.event_id}\x1f"
            f"{event.record_id}\x1f{stamp}".encode()
        )
    else:
        h.update(f"{tenant}\x1f{event.computer.lower()}\x1f".encode())
        h.update(event.identity or b"")
    return h.hexdigest()


def device_id(tenant: str, device_name: str) -> str:
    return hashlib.blake2b(f"{tenant}\x1f{device_name}".encode(), digest_size=8).hexdigest()


class BatchBuilder:
    """Accumulates the raw table's columns and, per typed table, the columns its mapping filled.

    The columns every typed row shares (key, time, device, record, channel) are not copied into each row:
    they are taken from the raw columns by position when the batch is built.
    """

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.clear()

    def clear(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in DEVICE_TABLES}
        self.positions: dict[str, list[int]] = {t.name: [] for t in DEVICE_TABLES}  # row → raw event index
        self.raw: dict[str, list[Any]] = {c: [] for c in _RAW_LISTED}
        self.offsets: list[int] = [0]
        self.keys: list[str] = []
        self.values: list[str] = []
        self.count = 0
        self.text_bytes = 0  # characters of field text held: what bounds a batch's memory
        self.per_table: collections.Counter[str] = collections.Counter()
        self.per_channel: collections.Counter[str] = collections.Counter()
        self.unknown: collections.Counter[str] = collections.Counter()

    def add(self, event: RawEvent) -> None:
        raw = self.raw
        raw["EventKey"].append(event_key(self.tenant, event))
        raw["Timestamp"].append(event.time)
        raw["DeviceName"].append(event.computer.lower())
        raw["Channel"].append(event.channel)
        raw["Provider"].append(event.provider)
        raw["EventID"].append(event.event_id)
        raw["RecordId"].append(event.record_id)
        raw["SourceFile"].append(event.source)
        values = event.fields.values()
        self.keys.extend(event.fields)
        self.values.extend(values)
        self.offsets.append(len(self.keys))
        self.text_bytes += sum(map(len, values))
        self.per_channel[event.channel or "(none)"] += 1
        normalised = normalise(event)
        if normalised is None:
            self.unknown[f"{event.channel or '(none)'}/{event.event_id}"] += 1
        else:
            name, row = normalised
            self.rows[name].append(row)
            self.positions[name].append(self.count)
            self.per_table[name] += 1
        self.count += 1

    def tables(self) -> dict[str, pa.Table]:
        schema = arrow_schema(RAW_TABLE.name)
        columns = {name: pa.array(values, schema.field(name).type) for name, values in self.raw.items()}
        columns["TenantId"] = pa.repeat(pa.scalar(self.tenant), self.count)
        columns["Fields"] = pa.MapArray.from_arrays(
            pa.array(self.offsets, pa.int32()), pa.array(self.keys, pa.string()), pa.array(self.values, pa.string())
        )
        raw = pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)
        common = self._common(raw)
        out = {name: self._typed(name, rows, common) for name, rows in self.rows.items()}
        out[RAW_TABLE.name] = raw
        return out

    def _common(self, raw: pa.Table) -> pa.Table:
        """The typed tables' shared columns for every event of the batch, device ids derived once."""
        devices = raw["DeviceName"]
        names = pc.unique(devices)
        ids = pa.array([device_id(self.tenant, n) for n in names.to_pylist()], pa.string())
        columns = {typed: raw[source] for typed, source in _COMMON_FROM_RAW.items()}
        columns["DeviceId"] = pc.take(ids, pc.index_in(devices, value_set=names))
        return pa.table(columns)

    def _typed(self, name: str, rows: list[dict[str, Any]], common: pa.Table) -> pa.Table:
        schema = arrow_schema(name)
        if not rows:
            return schema.empty_table()
        filled_names = set().union(*rows)  # Arrow converts only the columns this batch's mappings filled
        filled = pa.Table.from_pylist(rows, schema=pa.schema([f for f in schema if f.name in filled_names]))
        shared = common.take(pa.array(self.positions[name], pa.int64()))
        present = dict(zip(filled.column_names, filled.columns, strict=True))
        present.update(zip(shared.column_names, shared.columns, strict=True))  # the event's own facts win
        columns = [present[f.name] if f.name in present else pa.nulls(len(rows), f.type) for f in schema]
        return pa.Table.from_arrays(columns, schema=schema)


# Typed-table column -> the raw column it is taken from (DeviceId is derived from DeviceName).
_COMMON_FROM_RAW = {
    "TenantId": "TenantId",
    "EventKey": "EventKey",
    "Timestamp": "Timestamp",
    "DeviceName": "DeviceName",
    "ReportId": "RecordId",
    "SourceChannel": "Channel",
    "SourceEventId": "EventID",
}
_RAW_LISTED = [c for c in table(RAW_TABLE.name).names if c not in ("TenantId", "Fields")]


# ---------------------------------------------------------------------------------------------- files


def fingerprint(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return f"{h.hexdigest()}:{path.stat().st_size}"


def _fill(
    builder: BatchBuilder, result: FileResult, report: IngestReport, items: Iterable[RawEvent | ReadError], limit: int
) -> Iterator[None]:
    """Feed events into the builder; yields whenever the builder holds ``limit`` events (time to flush)."""
    try:
        for item in items:
            if isinstance(item, ReadError):
                result.errors += 1
                report.add_error(item)
                continue
            builder.add(item)
            result.events += 1
            if builder.count >= limit or builder.text_bytes >= BATCH_TEXT_BYTES:
                yield
    except SourceError as exc:
        result.failed = exc.message


# ---------------------------------------------------------------------------------------------- pipeline


class Ingestor:
    """Collects rows into batches of about ``batch_rows`` events, deduplicated and committed atomically."""

    def __init__(
        self,
        engine: DuckDBEngine,
        tenant: str,
        report: IngestReport,
        batch_rows: int,
        rewrite: Callable[[RawEvent], RawEvent] | None = None,
    ) -> None:
        self.engine = engine
        self.tenant = tenant
        self.report = report
        self.batch_rows = batch_rows
        self.builder = BatchBuilder(tenant)
        self.sources: list[str] = []
        self.rewrite = rewrite

    def feed(self, result: FileResult, items: Iterable[RawEvent | ReadError]) -> None:
        if self.rewrite is not None:
            items = (self.rewrite(e) if isinstance(e, RawEvent) else e for e in items)
        for _ in _fill(self.builder, result, self.report, items, self.batch_rows):
            self.flush()

    def complete(self, fingerprint_: str) -> None:
        self.sources.append(fingerprint_)

    def flush(self) -> None:
        if not self.builder.count and not self.sources:
            return
        b = self.builder
        stages = self.report.stages
        started = time.perf_counter()
        tables = b.tables()
        built = time.perf_counter()
        stages["arrow"] += built - started
        self.report.per_table.update(b.per_table)
        self.report.per_channel.update(b.per_channel)
        self.report.unknown.update(b.unknown)
        with self.engine.store.writer(self.tenant) as writer:
            tables = self._deduplicate(tables)
            deduplicated = time.perf_counter()
            stages["dedupe"] += deduplicated - built
            batch = writer.commit(tables, self.sources)
        stages["write"] += time.perf_counter() - deduplicated
        if batch is not None:
            self.report.batches += 1
        self.report.events_written += tables[RAW_TABLE.name].num_rows
        b.clear()  # in place: a file being fed keeps filling the same builder
        self.sources = []

    def _deduplicate(self, tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
        raw = tables.get(RAW_TABLE.name)
        if raw is None or raw.num_rows == 0:
            return tables
        # Within the batch: keep the first occurrence of each key.
        keys = raw["EventKey"]
        unique = pc.unique(keys)
        if len(unique) != len(keys):
            self.report.duplicates += len(keys) - len(unique)
            tables = {n: _first_per_key(t) for n, t in tables.items()}
            raw = tables[RAW_TABLE.name]
        # Against the lake: drop keys an earlier batch (or an interrupted run) already committed. Only
        # batches that may hold the same devices in the same time span are read, so the cost follows the
        # overlap (a re-sent file), not the size of the lake.
        times = pc.min_max(raw["Timestamp"])
        first, last = times["min"].as_py(), times["max"].as_py()
        timed = first is not None and not raw["Timestamp"].null_count
        since, until = (first.isoformat(), last.isoformat()) if timed else (None, None)
        devices = set(pc.unique(raw["DeviceName"]).to_pylist())
        candidates = [
            b.seq for b in self.engine.store.catalog(self.tenant).batches if b.may_hold(since, until, devices)
        ]
        if candidates:
            existing = self.engine.query(
                'SELECT DISTINCT r.EventKey FROM "RawEvents" r JOIN batch_keys b USING (EventKey) '
                "WHERE r.Timestamp IS NULL OR r.Timestamp BETWEEN ? AND ?",
                self.tenant,
                params=[first, last],
                inputs={"batch_keys": pa.table({"EventKey": raw["EventKey"]})},
                batches=candidates,
            )["EventKey"]
            if len(existing):
                self.report.duplicates += len(existing)
                tables = {
                    n: t.filter(pc.invert(pc.is_in(t["EventKey"], value_set=existing))) for n, t in tables.items()
                }
        return tables


def _first_per_key(data: pa.Table) -> pa.Table:
    keys = data["EventKey"]
    unique = pc.unique(keys)
    return data if len(unique) == len(keys) else data.take(pc.index_in(unique, keys))


def ingest_paths(
    engine: DuckDBEngine,
    tenant: str,
    paths: Iterable[str | os.PathLike[str]],
    *,
    progress: Progress | None = None,
    batch_rows: int = 50_000,
    workers: int = 1,
    limits: Limits = DEFAULT_LIMITS,
    rewrite: Callable[[RawEvent], RawEvent] | None = None,
) -> IngestReport:
    """Ingest files and folders for one tenant; never raises for bad input, the report says what failed.

    With ``workers`` > 1, groups of files are ingested by that many processes, each streaming its own
    bounded batches into the lake (commits serialise on the tenant's writer lock, and deduplicate against
    what is committed). ``rewrite`` may change each event before it is stored (replays as other devices or
    times); with workers it must be picklable.
    """
    started = time.perf_counter()
    report = IngestReport(tenant=tenant)
    progress = progress or Progress()
    files, missing = discover(paths)
    for error in missing:
        report.files.append(FileResult(error.source, failed=error.message))
    done = engine.store.catalog(tenant).sources
    todo: list[tuple[Path, str]] = []
    progress.start(len(files))
    for path in files:
        try:
            fp = fingerprint(path) + (f"|{rewrite!r}" if rewrite is not None else "")
        except OSError as exc:
            report.files.append(FileResult(str(path), failed=f"cannot read: {exc.strerror or exc}"))
            progress.advance(str(path), 0)
            continue
        if fp in done:
            report.files.append(FileResult(str(path), skipped=True))
            progress.advance(str(path), 0)
        else:
            todo.append((path, fp))
    if workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=workers, initializer=_single_threaded) as pool:
            futures = [
                pool.submit(_ingest_files, engine.store.root, tenant, unit, batch_rows, limits, rewrite, threads=1)
                for unit in _units(todo, workers)
            ]
            for future in as_completed(futures):
                part = future.result()
                _merge(report, part)
                for result in part.files:
                    progress.advance(result.source, result.events)
    else:
        _merge(report, _ingest_files(engine.store.root, tenant, todo, batch_rows, limits, rewrite, progress))
    progress.finish()
    report.seconds = time.perf_counter() - started
    return report


def _units(todo: list[tuple[Path, str]], workers: int, unit_bytes: int = 4 << 20) -> list[list[tuple[Path, str]]]:
    """Groups of files of about ``unit_bytes`` on disk, enough of them to keep every worker busy. Files stay
    in path order: neighbouring recordings tend to share days, and a unit's batch writes a file per busy day."""
    total = sum(p.stat().st_size for p, _ in todo)
    target = max(1, min(unit_bytes, total // (workers * 4) or 1))
    units: list[list[tuple[Path, str]]] = [[]]
    size = 0
    for item in todo:
        if units[-1] and size + item[0].stat().st_size > target:
            units.append([])
            size = 0
        units[-1].append(item)
        size += item[0].stat().st_size
    return units


def _single_threaded() -> None:
    """Pool workers are one per core: Arrow's and DuckDB's own thread pools would only contend with them."""
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _ingest_files(
    root: Path,
    tenant: str,
    todo: list[tuple[Path, str]],
    batch_rows: int,
    limits: Limits,
    rewrite: Callable[[RawEvent], RawEvent] | None,
    progress: Progress | None = None,
    threads: int | None = None,
) -> IngestReport:
    """Stream files into the lake in bounded batches; runs in this process or in a worker (``threads=1``)."""
    started = time.perf_counter()
    report = IngestReport(tenant=tenant)
    ingestor = Ingestor(DuckDBEngine(root, threads=threads), tenant, report, batch_rows, rewrite)
    for path, fp in todo:
        result = FileResult(str(path))
        try:
            ingestor.feed(result, read_path(path, limits))
        except SourceError as exc:
            result.failed = exc.message
        report.events_read += result.events
        report.files.append(result)
        if result.failed is None:
            ingestor.complete(fp)
        if progress is not None:
            progress.advance(result.source, result.events)
    ingestor.flush()
    report.stages["read"] += time.perf_counter() - started - sum(report.stages.values())
    return report


def _merge(report: IngestReport, part: IngestReport) -> None:
    report.files.extend(part.files)
    report.events_read += part.events_read
    report.events_written += part.events_written
    report.duplicates += part.duplicates
    report.per_table.update(part.per_table)
    report.per_channel.update(part.per_channel)
    report.unknown.update(part.unknown)
    report.error_count += part.error_count
    report.errors.extend(part.errors[: max(0, MAX_ERRORS_KEPT - len(report.errors))])
    report.batches += part.batches
    report.stages.update(part.stages)


def ingest_ndjson(
    engine: DuckDBEngine, tenant: str, data: bytes, source: str, *, limits: Limits = DEFAULT_LIMITS
) -> IngestReport:
    """Ingest one NDJSON body (e.g. from a sensor over HTTP); bad lines are reported, good ones kept."""
    started = time.perf_counter()
    report = IngestReport(tenant=tenant)
    result = FileResult(source)
    ingestor = Ingestor(engine, tenant, report, batch_rows=1 << 62)
    name = source if source.lower().endswith((".json", ".jsonl", ".ndjson")) else f"{source}.ndjson"
    try:
        ingestor.feed(result, read_stream(io.BytesIO(data), name, limits))
    except SourceError as exc:
        result.failed = exc.message
    report.events_read = result.events
    report.files.append(result)
    ingestor.flush()
    report.seconds = time.perf_counter() - started
    return report
