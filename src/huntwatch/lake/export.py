"""Lake maintenance: a compacted export for scale-out, in-place compaction, and a summary of what is stored.

Ingest writes one small file per batch, table and day; Spark (and DuckDB) read a few large files much
faster than thousands of small ones. ``export_lake`` writes a copy with one file per tenant, table and
day (sparse days share one, as in any batch), sorted by time, in the same layout with its own catalogs,
so the copy is a lake every engine opens.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from huntwatch.lake.store import Batch, Catalog, LakeError, LakeStore
from huntwatch.schema import TABLES, arrow_schema


@dataclass
class ExportReport:
    tenants: list[str] = field(default_factory=list)
    files: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows over all tenants
    bytes: int = 0


def day_of(rel: str) -> str:
    """The day partition of a catalog path ``table=X/day=D/file``."""
    for part in Path(rel).parts:
        if part.startswith("day="):
            return part[4:]
    raise LakeError(f"catalog path {rel!r} has no day partition")


def _read(paths: list[str], table: str) -> pa.Table:
    """All rows of these files in the schema's column order, sorted by time so row groups prune well."""
    names = ", ".join(f'"{f.name}"' for f in arrow_schema(table))
    listing = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET threads=2")
        data = con.sql(
            f"SELECT {names} FROM read_parquet([{listing}], union_by_name=true, hive_partitioning=false) "
            "ORDER BY Timestamp, EventKey"
        ).to_arrow_table()
    finally:
        con.close()
    return data.cast(arrow_schema(table))


def _group_by_day(store: LakeStore, tenant: str, catalog: Catalog) -> dict[str, dict[str, list[str]]]:
    base = store.tenant_dir(tenant)
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for table in TABLES:
        for rel in catalog.files(table.name):
            grouped[table.name][day_of(rel)].append(str(base / rel))
    return grouped


def export_lake(
    source: Path | str,
    target: Path | str,
    tenants: Iterable[str] | None = None,
    progress: Callable[[str, str, str, int], None] | None = None,
) -> ExportReport:
    """Copy the tenants' committed data into a compacted lake at ``target`` (one file per tenant/table/day).

    Each (table, day) is read and written on its own so memory stays bounded by one day of one table.
    The ingested-source fingerprints travel with the data, so ingesting the same files into the copy is
    still a no-op. A tenant that already has data at the target is refused rather than duplicated.
    """
    src, dst = LakeStore(source), LakeStore(target)
    if src.root.resolve() == dst.root.resolve():
        raise LakeError("export target is the source lake; use compact to rewrite a lake in place")
    report = ExportReport()
    for tenant in list(tenants) if tenants is not None else src.tenants():
        catalog = src.catalog(tenant)  # one snapshot: later commits are not half-exported
        if not catalog.batches:
            raise LakeError(f"tenant {tenant!r} has no data in {src.root}")
        with dst.writer(tenant) as writer:
            if writer.catalog.batches:
                raise LakeError(f"tenant {tenant!r} already has data in {dst.root}")
            grouped = _group_by_day(src, tenant, catalog)
            units = [(t, d) for t in grouped for d in sorted(grouped[t])]
            sources = sorted(catalog.sources)
            if not units:
                writer.commit({}, sources)
            for i, (table, day) in enumerate(units):
                data = _read(grouped[table][day], table)
                last = i == len(units) - 1
                batch = writer.commit({table: data}, sources if last else None)
                if batch is not None:
                    report.files += sum(len(v) for v in batch.files.values())
                    report.bytes += sum(
                        (dst.tenant_dir(tenant) / rel).stat().st_size for v in batch.files.values() for rel in v
                    )
                report.rows[table] = report.rows.get(table, 0) + data.num_rows
                if progress:
                    progress(tenant, table, day, data.num_rows)
        report.tenants.append(tenant)
    return report


def compact_tenant(root: Path | str, tenant: str) -> Batch | None:
    """Rewrite all of a tenant's batches as one batch with one file per table and day.

    Readers keep reading the old files until they reopen the catalog; ``vacuum`` removes them later.
    Returns None when there is nothing to gain (one batch or none).
    """
    store = LakeStore(root)
    with store.writer(tenant) as writer:
        catalog = writer.catalog
        if len(catalog.batches) < 2:
            return None
        base = store.tenant_dir(tenant)
        tables = {}
        for table in TABLES:
            paths = [str(base / rel) for rel in catalog.files(table.name)]
            if paths:
                tables[table.name] = _read(paths, table.name)
        return writer.replace(list(catalog.batches), tables)


@dataclass
class TenantInfo:
    tenant: str
    batches: int
    last_seq: int
    files: int
    bytes: int
    rows: dict[str, int]
    days: int  # day folders; sparse days that share a file under an earlier day's folder are not counted


def lake_info(root: Path | str, tenants: Iterable[str] | None = None) -> list[TenantInfo]:
    """What the catalogs say each tenant holds, with the bytes on disk of the listed files."""
    store = LakeStore(root)
    out = []
    for tenant in list(tenants) if tenants is not None else store.tenants():
        catalog = store.catalog(tenant)
        base = store.tenant_dir(tenant)
        rows: dict[str, int] = defaultdict(int)
        files = [rel for b in catalog.batches for fs in b.files.values() for rel in fs]
        for batch in catalog.batches:
            for table, n in batch.rows.items():
                rows[table] += n
        size = 0
        for rel in files:
            try:
                size += (base / rel).stat().st_size
            except FileNotFoundError as exc:
                raise LakeError(f"catalog of {tenant!r} lists a missing file {rel}") from exc
        out.append(
            TenantInfo(
                tenant=tenant,
                batches=len(catalog.batches),
                last_seq=catalog.last_seq,
                files=len(files),
                bytes=size,
                rows=dict(rows),
                days=len({day_of(rel) for rel in files}),
            )
        )
    return out
