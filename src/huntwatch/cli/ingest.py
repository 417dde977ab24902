"""``huntwatch ingest`` and ``huntwatch query``."""

from __future__ import annotations

import sys
import time

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from huntwatch import config
from huntwatch.cli._output import FORMATS, emit_json, emit_rows
from huntwatch.ingest import IngestReport, ingest_paths
from huntwatch.ingest import Progress as IngestProgress
from huntwatch.lake import DuckDBEngine, LakeError, QueryError


class RichProgress(IngestProgress):
    """Files done, events read and events/s, on stderr so stdout stays clean for scripts."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar = Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files · {task.fields[events]:,} events · {task.fields[rate]:,.0f} events/s"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.events = 0
        self.started = time.perf_counter()

    def start(self, files: int) -> None:
        self.started = time.perf_counter()
        self.bar.start()
        self.task = self.bar.add_task("ingest", total=files, events=0, rate=0.0)

    def advance(self, source: str, events: int) -> None:
        self.events += events
        rate = self.events / max(time.perf_counter() - self.started, 1e-6)
        self.bar.update(self.task, advance=1, events=self.events, rate=rate)

    def finish(self) -> None:
        self.bar.stop()


def _summary(report: IngestReport, console: Console) -> None:
    rate = report.events_read / report.seconds if report.seconds else 0.0
    skipped = sum(f.skipped for f in report.files)
    console.print(
        f"[bold]{report.tenant}[/]: {len(report.files)} files ({skipped} already ingested), "
        f"{report.events_read:,} events read, {report.events_written:,} written, {report.duplicates:,} duplicates "
        f"skipped, {report.batches} batches, {report.seconds:.1f} s ({rate:,.0f} events/s)"
    )
    if report.per_table:
        table = Table("table", "events", title="Events per table")
        for name, count in report.per_table.most_common():
            table.add_row(name, f"{count:,}")
        console.print(table)
    if report.per_channel:
        table = Table("channel", "events", title="Events per channel")
        for name, count in report.per_channel.most_common(15):
            table.add_row(name, f"{count:,}")
        console.print(table)
    if report.unknown:
        total = sum(report.unknown.values())
        top = ", ".join(f"{k} ({v:,})" for k, v in report.unknown.most_common(8))
        console.print(f"{total:,} events with no typed mapping kept in RawEvents only; most common: {top}")
    for f in report.failed_files:
        console.print(f"[red]failed[/] {f.source}: {f.failed}")
    if report.error_count:
        console.print(f"[yellow]{report.error_count:,} records or lines could not be read[/]; first ones:")
        for line in report.errors[:20]:
            console.print(f"  {line}", markup=False)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--tenant", required=True, help="Tenant (organisation) the events belong to.")
@click.option("--workers", type=int, default=0, help="Parser processes (default: one per core).")
@click.option("--batch-rows", type=int, default=50_000, show_default=True, help="Events per committed batch.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def ingest(paths: tuple[str, ...], tenant: str, workers: int, batch_rows: int, as_json: bool) -> None:
    """Ingest EVTX, JSON/NDJSON and zip/tar.gz archives (files or folders) into the lake.

    Exits with status 1 when any file or line could not be read; everything readable is kept.
    """
    import os

    console = Console(stderr=True)
    engine = DuckDBEngine(config.settings().lake_path)
    try:
        report = ingest_paths(
            engine,
            tenant,
            paths,
            progress=None if as_json else RichProgress(console),
            batch_rows=batch_rows,
            workers=workers or (os.cpu_count() or 1),
        )
    except LakeError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        emit_json(report.as_dict())
    else:
        _summary(report, console)
    if not report.ok:
        sys.exit(1)


@click.command()
@click.argument("sql")
@click.option("--tenant", required=True, help="Only this tenant's rows are visible.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds before the query is stopped.")
def query(sql: str, tenant: str, fmt: str, timeout: float) -> None:
    """Run SQL over the hunting schema for one tenant (sandboxed: that tenant's tables only)."""
    engine = DuckDBEngine(config.settings().lake_path)
    try:
        result = engine.query(sql, tenant, timeout_s=timeout, sandboxed=True)
    except (QueryError, LakeError) as exc:
        raise click.ClickException(str(exc)) from exc
    emit_rows(result.to_pylist(), result.column_names, fmt)


def register(group: click.Group) -> None:
    group.add_command(ingest)
    group.add_command(query)
