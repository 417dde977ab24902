"""The lake's on-disk layout and its commit protocol.

Layout (the same for the embedded default and for a scale-out Parquet lake)::

    ROOT/tenant=<tenant>/table=<Table>/day=<YYYY-MM-DD>/<batch>-<n>.parquet
    (a file holds one day, or a few sparse consecutive days under the first one's folder)
    ROOT/tenant=<tenant>/_catalog.json

Parquet files are immutable. A batch is committed when the tenant's catalog, rewritten to a temporary
file and renamed over the old one, lists it; readers list files through the catalog only, so they see a
batch whole or not at all. Files an interrupted writer left behind are never listed and are swept by
``vacuum``. Writers of one tenant serialise on a lock file; readers take no lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import itertools
import os
import re
import time
import uuid
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from huntwatch.schema import TABLES, arrow_schema

_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CATALOG = "_catalog.json"
# A batch lists the devices its events came from when they are at most this many (beyond, "unknown"): enough
# for per-host uploads and lab replays, small enough to keep the catalog light.
MAX_LISTED_DEVICES = 256
# Consecutive days with fewer rows than this share a file (see ``TenantWriter._write_by_day``).
SPAN_FILE_ROWS = 8192


class LakeError(Exception):
    """A lake operation that cannot be done; the message says what and where."""


def check_tenant(tenant: str) -> str:
    if not isinstance(tenant, str) or not _TENANT_RE.match(tenant):
        raise LakeError(
            f"invalid tenant name {tenant!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return tenant


@dataclass
class Batch:
    seq: int
    id: str
    committed_at: float
    files: dict[str, list[str]]  # table -> paths relative to the tenant directory
    rows: dict[str, int]
    sources: list[str] = field(default_factory=list)  # fingerprints of source files completed here
    time_range: list[str] | None = None  # [first, last] event time (ISO) of the batch's RawEvents
    devices: list[str] | None = None  # DeviceName of every event, when few enough to list (else unknown)

    def may_hold(self, first: str | None, last: str | None, devices: Collection[str]) -> bool:
        """Could this batch hold an event of one of ``devices`` between first and last? Unknown ranges and
        device lists always could; ``first``/``last`` None means any time."""
        if self.devices is not None and set(self.devices).isdisjoint(devices):
            return False
        if self.time_range is None or first is None or last is None:
            return True
        return not (self.time_range[1] < first or self.time_range[0] > last)


@dataclass
class Catalog:
    tenant: str
    batches: list[Batch] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)

    @property
    def last_seq(self) -> int:
        return self.batches[-1].seq if self.batches else 0

    def files(self, table: str, after_seq: int = 0, batches: Collection[int] | None = None) -> list[str]:
        """Files of ``table`` committed after ``after_seq`` (only of the ``batches`` seqs, when given)."""
        return [
            f
            for b in self.batches
            if b.seq > after_seq and (batches is None or b.seq in batches)
            for f in b.files.get(table, ())
        ]

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "tenant": self.tenant,
                "batches": [b.__dict__ for b in self.batches],
            },
            option=orjson.OPT_INDENT_2,
        )

    @classmethod
    def from_json(cls, tenant: str, data: bytes) -> Catalog:
        raw = orjson.loads(data)
        batches = [Batch(**b) for b in raw.get("batches", [])]
        sources = {s for b in batches for s in b.sources}
        return cls(tenant=tenant, batches=batches, sources=sources)


class LakeStore:
    """Files and catalogs of a lake rooted at one directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def tenant_dir(self, tenant: str) -> Path:
        return self.root / f"tenant={check_tenant(tenant)}"

    def tenants(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(
            p.name.split("=", 1)[1]
            for p in self.root.iterdir()
            if p.name.startswith("tenant=") and (p / CATALOG).exists()
        )

    def catalog(self, tenant: str) -> Catalog:
        path = self.tenant_dir(tenant) / CATALOG
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return Catalog(tenant=tenant)
        try:
            return Catalog.from_json(tenant, data)
        except (orjson.JSONDecodeError, TypeError, KeyError) as exc:
            raise LakeError(f"lake catalog {path} is unreadable: {exc}") from exc

    def paths(self, tenant: str, table: str, after_seq: int = 0) -> list[str]:
        base = self.tenant_dir(tenant)
        return [str(base / rel) for rel in self.catalog(tenant).files(table, after_seq)]

    @contextlib.contextmanager
    def writer(self, tenant: str) -> Iterator[TenantWriter]:
        """Exclusive writer for one tenant (blocks other writers of that tenant, never readers)."""
        base = self.tenant_dir(tenant)
        base.mkdir(parents=True, exist_ok=True)
        with open(base / "_writer.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield TenantWriter(self, tenant, base)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def vacuum(self, tenant: str, older_than_s: float = 3600.0) -> int:
        """Delete Parquet files no catalog lists (left by interrupted writers); returns how many."""
        base = self.tenant_dir(tenant)
        with self.writer(tenant):
            listed = {rel for b in self.catalog(tenant).batches for fs in b.files.values() for rel in fs}
            removed = 0
            now = time.time()
            for path in base.glob("table=*/day=*/*.parquet*"):
                rel = str(path.relative_to(base))
                if rel not in listed and now - path.stat().st_mtime > older_than_s:
                    path.unlink()
                    removed += 1
            return removed


class TenantWriter:
    def __init__(self, store: LakeStore, tenant: str, base: Path) -> None:
        self.store = store
        self.tenant = tenant
        self.base = base

    @property
    def catalog(self) -> Catalog:
        return self.store.catalog(self.tenant)

    def commit(self, tables: Mapping[str, pa.Table], sources: list[str] | None = None) -> Batch | None:
        """Write one batch (table name → rows) and commit it atomically; empty tables are skipped."""
        catalog = self.catalog
        batch_id = f"b{catalog.last_seq + 1:08d}-{uuid.uuid4().hex[:8]}"
        files: dict[str, list[str]] = {}
        rows: dict[str, int] = {}
        known = {t.name for t in TABLES}
        for name, data in tables.items():
            if name not in known:
                raise LakeError(f"unknown table {name!r}")
            if data.num_rows == 0:
                continue
            data = data.cast(arrow_schema(name)) if data.schema != arrow_schema(name) else data
            rows[name] = data.num_rows
            files[name] = self._write_by_day(name, data, batch_id)
        if not files and not sources:
            return None
        batch = Batch(
            seq=catalog.last_seq + 1,
            id=batch_id,
            committed_at=time.time(),
            files=files,
            rows=rows,
            sources=list(sources or []),
            time_range=_time_range(tables),
            devices=_devices(tables),
        )
        catalog.batches.append(batch)
        self._publish(catalog)
        return batch

    def replace(self, old: list[Batch], tables: Mapping[str, pa.Table]) -> Batch:
        """Swap several batches for one rewritten batch in a single catalog commit (compaction)."""
        catalog = self.catalog
        old_ids = {b.id for b in old}
        batch_id = f"b{catalog.last_seq + 1:08d}-{uuid.uuid4().hex[:8]}"
        files = {name: self._write_by_day(name, data, batch_id) for name, data in tables.items() if data.num_rows}
        batch = Batch(
            seq=catalog.last_seq + 1,
            id=batch_id,
            committed_at=time.time(),
            files=files,
            rows={n: t.num_rows for n, t in tables.items() if t.num_rows},
            sources=[s for b in old for s in b.sources],
            time_range=_time_range(tables),
            devices=_devices(tables),
        )
        catalog.batches = [b for b in catalog.batches if b.id not in old_ids] + [batch]
        self._publish(catalog)
        return batch

    def _write_by_day(self, name: str, data: pa.Table, batch_id: str) -> list[str]:
        """One file per day, except that consecutive sparse days share a file (under the first day's folder)
        until it holds ``SPAN_FILE_ROWS`` rows: old recordings scatter a few events over hundreds of days, and
        a file per day would cost a write per handful of rows. Events arrive grouped by source, so a batch is
        long runs of one day: a file is taken from those runs with no sort or copy of the batch (a file is
        one row group, whose time bounds are the same in any row order)."""
        runs: dict[str, list[pa.Table]] = {}
        for day, start, stop in _day_runs(data["Timestamp"]):
            runs.setdefault(day, []).append(data.slice(start, stop - start))
        written: list[str] = []
        for day, parts in _spans(runs):
            rel = f"table={name}/day={day}/{batch_id}-{len(written)}.parquet"
            target = self.base / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".parquet.tmp")
            pq.write_table(pa.concat_tables(parts), tmp, compression="zstd", row_group_size=128 * 1024)
            os.replace(tmp, target)
            written.append(rel)
        return written

    def _publish(self, catalog: Catalog) -> None:
        path = self.base / CATALOG
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(catalog.to_json())
        _fsync(tmp)
        os.replace(tmp, path)
        dir_fd = os.open(self.base, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


_NO_DAY = -(2**31)


def _day_runs(times: pa.ChunkedArray) -> Iterator[tuple[str, int, int]]:
    """(day, start, stop) for each run of rows on one day (``unknown`` for rows without a time)."""
    if len(times) == 0:
        return
    days = pc.fill_null(pc.cast(pc.cast(times, pa.date32()), pa.int32()), _NO_DAY).combine_chunks()
    changes = pc.indices_nonzero(pc.not_equal(days[1:], days[:-1])).to_pylist()
    cuts = [0, *(i + 1 for i in changes), len(days)]
    epoch = dt.date(1970, 1, 1)
    for start, stop in itertools.pairwise(cuts):
        value = days[start].as_py()
        yield ("unknown" if value == _NO_DAY else (epoch + dt.timedelta(days=value)).isoformat()), start, stop


def _spans(runs: dict[str, list[pa.Table]]) -> Iterator[tuple[str, list[pa.Table]]]:
    """(folder day, parts) of each file: a day of ``SPAN_FILE_ROWS`` rows or more alone, sparse consecutive
    days together until they reach that many; rows without a time alone."""
    pending: list[pa.Table] = []
    pending_rows = 0
    first = ""
    for day in sorted(runs):
        parts = runs[day]
        rows = sum(map(len, parts))
        if day == "unknown" or rows >= SPAN_FILE_ROWS:
            yield day, parts
            continue
        if not pending:
            first = day
        pending.extend(parts)
        pending_rows += rows
        if pending_rows >= SPAN_FILE_ROWS:
            yield first, pending
            pending, pending_rows = [], 0
    if pending:
        yield first, pending


def _time_range(tables: Mapping[str, pa.Table]) -> list[str] | None:
    """First and last event time over all tables of a batch (None when some event has no time)."""
    lows, highs = [], []
    for data in tables.values():
        if data.num_rows == 0:
            continue
        if data["Timestamp"].null_count:
            return None
        bounds = pc.min_max(data["Timestamp"])
        lows.append(bounds["min"].as_py())
        highs.append(bounds["max"].as_py())
    return [min(lows).isoformat(), max(highs).isoformat()] if lows else None


def _devices(tables: Mapping[str, pa.Table]) -> list[str] | None:
    """Sorted device names of a batch's events, or None when there are too many to list."""
    names: set[str] = set()
    for data in tables.values():
        if data.num_rows and "DeviceName" in data.column_names:
            names.update(pc.unique(data["DeviceName"]).to_pylist())
            if len(names) > MAX_LISTED_DEVICES:
                return None
    return None if None in names else sorted(names)  # an unnamed device could be any


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
