"""The ``Engine`` interface and the embedded DuckDB engine over the Parquet lake."""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import duckdb
import pyarrow as pa

from huntwatch.lake.store import Batch, LakeError, LakeStore, check_tenant
from huntwatch.schema import TABLES, Table, duckdb_empty_select


class QueryError(LakeError):
    """A query that failed: bad SQL, a timeout, or access outside the tenant's data."""


@runtime_checkable
class Engine(Protocol):
    """What the rest of Huntwatch needs from an event store."""

    def append(self, tenant: str, tables: Mapping[str, pa.Table], sources: Sequence[str] = ()) -> Batch | None: ...

    def query(
        self,
        sql: str,
        tenant: str | Sequence[str],
        *,
        params: Sequence[object] | None = None,
        inputs: Mapping[str, pa.Table] | None = None,
        after_seq: int = 0,
        timeout_s: float | None = None,
    ) -> pa.Table: ...

    def tenants(self) -> list[str]: ...


class DuckDBEngine:
    """Queries the lake with an in-memory DuckDB per call, so any number of processes read at once."""

    def __init__(self, root: Path | str, *, threads: int | None = None, memory_limit: str = "1GB") -> None:
        self.store = LakeStore(root)
        self.threads = threads
        self.memory_limit = memory_limit

    def tenants(self) -> list[str]:
        return self.store.tenants()

    def append(self, tenant: str, tables: Mapping[str, pa.Table], sources: Sequence[str] = ()) -> Batch | None:
        with self.store.writer(tenant) as writer:
            return writer.commit(tables, list(sources))

    def connect(
        self,
        tenant: str | Sequence[str],
        *,
        after_seq: int = 0,
        batches: Collection[int] | None = None,
        sandboxed: bool = False,
        sql: str | None = None,
    ) -> duckdb.DuckDBPyConnection:
        """A connection whose schema tables are views over the given tenant(s) only.

        Binding a view reads the footers of its files, so when the ``sql`` to be run is known, only the
        tables it names get views; ``batches`` (seqs) narrows them to those batches' files.

        ``sandboxed`` is for SQL a person wrote: only the tenant's own lake directory is readable, no
        other file or extension can be touched, and the settings are locked.
        """
        tenants = [tenant] if isinstance(tenant, str) else list(tenant)
        for t in tenants:
            check_tenant(t)
        con = duckdb.connect(":memory:")
        con.execute("SET enable_progress_bar=false")  # never write progress into a command's stdout
        con.execute(f"SET temp_directory={_quote(str(Path(tempfile.gettempdir()) / 'huntwatch-duckdb'))}")
        con.execute(f"SET memory_limit='{self.memory_limit}'")
        if self.threads:
            con.execute(f"SET threads={int(self.threads)}")
        catalogs = {t: self.store.catalog(t) for t in tenants}
        wanted = _referenced_tables(sql) if sql is not None else TABLES
        for table in wanted:
            paths = [
                str(self.store.tenant_dir(t) / rel)
                for t, cat in catalogs.items()
                for rel in cat.files(table.name, after_seq, batches)
            ]
            if paths:
                listing = ", ".join(_quote(p) for p in paths)
                body = f"SELECT * FROM read_parquet([{listing}], hive_partitioning=false)"
            else:
                body = duckdb_empty_select(table.name)
            con.execute(f'CREATE VIEW "{table.name}" AS {body}')
        if sandboxed:
            dirs = ", ".join(_quote(str(self.store.tenant_dir(t)) + "/") for t in tenants)
            con.execute(f"SET allowed_directories=[{dirs}]")
            con.execute("SET enable_external_access=false")
            con.execute("SET autoinstall_known_extensions=false")
            con.execute("SET autoload_known_extensions=false")
            con.execute("SET lock_configuration=true")
        return con

    def query(
        self,
        sql: str,
        tenant: str | Sequence[str],
        *,
        params: Sequence[object] | None = None,
        inputs: Mapping[str, pa.Table] | None = None,
        after_seq: int = 0,
        batches: Collection[int] | None = None,
        timeout_s: float | None = None,
        sandboxed: bool = False,
    ) -> pa.Table:
        con = self.connect(tenant, after_seq=after_seq, batches=batches, sandboxed=sandboxed, sql=sql)
        try:
            for name, data in (inputs or {}).items():
                con.register(name, data)
            return run_with_timeout(con, sql, params, timeout_s)
        finally:
            con.close()


def run_with_timeout(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[object] | None,
    timeout_s: float | None,
) -> pa.Table:
    """Run SQL, interrupting it after ``timeout_s`` seconds."""
    timer = None
    timed_out = threading.Event()
    if timeout_s:

        def _stop() -> None:
            timed_out.set()
            con.interrupt()

        timer = threading.Timer(timeout_s, _stop)
        timer.start()
    try:
        relation = con.sql(sql, params=list(params)) if params else con.sql(sql)
        return relation.to_arrow_table() if relation is not None else pa.table({})
    except duckdb.Error as exc:
        if timed_out.is_set():
            raise QueryError(f"query stopped after the {timeout_s:g} s time limit") from exc
        raise QueryError(str(exc).strip()) from exc
    finally:
        if timer:
            timer.cancel()


def _referenced_tables(sql: str) -> list[Table]:
    """Schema tables whose name appears as a word in the SQL (a name that does not appear cannot be read)."""
    words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql)}
    return [t for t in TABLES if t.name.lower() in words]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
