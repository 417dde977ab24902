"""``huntwatch schema``: the hunting schema as a table or as the generated Markdown document."""

from __future__ import annotations

import click

from huntwatch.cli._output import FORMATS, emit_rows
from huntwatch.schema import TABLES
from huntwatch.telemetry.docs import schema_markdown


@click.group()
def schema() -> None:
    """The hunting schema (tables and columns)."""


@schema.command("show")
@click.argument("table", required=False)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def show(table: str | None, fmt: str) -> None:
    """List the tables, or the columns of one table."""
    if table is None:
        emit_rows(
            [{"table": t.name, "columns": len(t.columns), "description": t.doc} for t in TABLES],
            ["table", "columns", "description"],
            fmt,
        )
        return
    match = [t for t in TABLES if t.name.lower() == table.lower()]
    if not match:
        raise click.ClickException(f"no table {table!r}; tables: {', '.join(t.name for t in TABLES)}")
    emit_rows(
        [{"column": c.name, "type": c.type, "description": c.doc} for c in match[0].columns],
        ["column", "type", "description"],
        fmt,
    )


@schema.command("docs")
def docs() -> None:
    """Print docs/schema.md."""
    click.echo(schema_markdown(), nl=False)


def register(group: click.Group) -> None:
    group.add_command(schema)
