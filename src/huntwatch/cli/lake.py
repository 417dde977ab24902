"""``huntwatch lake ...``: export, compact, vacuum and inspect the Parquet lake."""

from __future__ import annotations

from pathlib import Path

import click

from huntwatch.cli._output import FORMATS, emit_rows
from huntwatch.config import settings
from huntwatch.lake import LakeError, LakeStore
from huntwatch.lake.export import compact_tenant, export_lake, lake_info

_LAKE = click.option(
    "--lake",
    "lake",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Lake root (default: HUNTWATCH_LAKE or the lake under HUNTWATCH_HOME).",
)


def _root(lake: Path | None) -> Path:
    return lake or settings().lake_path


@click.group("lake")
def lake_group() -> None:
    """Maintain the Parquet lake the engines read."""


@lake_group.command("export")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--tenant", "tenants", multiple=True, help="Tenant to export (repeatable; default: all).")
@_LAKE
def export_cmd(path: Path, tenants: tuple[str, ...], lake: Path | None) -> None:
    """Write a compacted copy of the lake to PATH: one file per tenant, table and day.

    The copy has the same layout and catalogs, so it serves as `--lake PATH` for Spark and as
    HUNTWATCH_LAKE=parquet:PATH for everything else.
    """
    try:
        report = export_lake(_root(lake), path, tenants or None)
    except LakeError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = sum(report.rows.values())
    click.echo(
        f"exported {len(report.tenants)} tenant(s), {rows:,} rows in {report.files} files "
        f"({report.bytes / 1e6:.1f} MB) to {path}"
    )


@lake_group.command("compact")
@click.option("--tenant", "tenants", multiple=True, help="Tenant to compact (repeatable; default: all).")
@_LAKE
def compact_cmd(tenants: tuple[str, ...], lake: Path | None) -> None:
    """Rewrite each tenant's batches as one file per table and day (run `lake vacuum` later)."""
    root = _root(lake)
    try:
        for tenant in tenants or LakeStore(root).tenants():
            batch = compact_tenant(root, tenant)
            if batch is None:
                click.echo(f"{tenant}: nothing to compact")
            else:
                files = sum(len(v) for v in batch.files.values())
                click.echo(f"{tenant}: {sum(batch.rows.values()):,} rows now in {files} files (batch {batch.seq})")
    except LakeError as exc:
        raise click.ClickException(str(exc)) from exc


@lake_group.command("vacuum")
@click.option("--tenant", "tenants", multiple=True, help="Tenant to vacuum (repeatable; default: all).")
@click.option(
    "--older-than",
    type=float,
    default=3600.0,
    show_default=True,
    help="Only delete unlisted files at least this many seconds old (readers may still hold newer ones).",
)
@_LAKE
def vacuum_cmd(tenants: tuple[str, ...], older_than: float, lake: Path | None) -> None:
    """Delete Parquet files no catalog lists (compacted away or left by interrupted writers)."""
    store = LakeStore(_root(lake))
    try:
        for tenant in tenants or store.tenants():
            click.echo(f"{tenant}: removed {store.vacuum(tenant, older_than_s=older_than)} file(s)")
    except LakeError as exc:
        raise click.ClickException(str(exc)) from exc


@lake_group.command("info")
@click.option("--tenant", "tenants", multiple=True, help="Tenant to show (repeatable; default: all).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@_LAKE
def info_cmd(tenants: tuple[str, ...], fmt: str, lake: Path | None) -> None:
    """Tenants, batches, files, bytes and rows per table, as the catalogs record them."""
    try:
        infos = lake_info(_root(lake), tenants or None)
    except LakeError as exc:
        raise click.ClickException(str(exc)) from exc
    tables = sorted({t for i in infos for t in i.rows})
    columns = ["tenant", "batches", "last_seq", "files", "bytes", "days", "rows", *tables]
    rows = [
        {
            "tenant": i.tenant,
            "batches": i.batches,
            "last_seq": i.last_seq,
            "files": i.files,
            "bytes": i.bytes,
            "days": i.days,
            "rows": sum(i.rows.values()),
            **{t: i.rows.get(t, 0) for t in tables},
        }
        for i in infos
    ]
    emit_rows(rows, columns, fmt, title="Lake")


def register(group: click.Group) -> None:
    group.add_command(lake_group)
