"""Shared rendering of rows for every command's ``--format table|csv|json``."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

FORMATS = click.Choice(["table", "csv", "json"])


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def emit_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str, title: str = "") -> None:
    """Print rows as a readable table, CSV or JSON; JSON and CSV go to stdout unadorned for scripts."""
    if fmt == "json":
        sys.stdout.write(
            orjson.dumps([{c: _plain(r.get(c)) for c in columns} for r in rows], default=str).decode() + "\n"
        )
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for r in rows:
            writer.writerow(["" if r.get(c) is None else _plain(r.get(c)) for c in columns])
        return
    table = Table(title=title or None, show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*("" if r.get(c) is None else str(_plain(r.get(c))) for c in columns))
    Console().print(table)


def emit_json(obj: Any) -> None:
    sys.stdout.write(orjson.dumps(obj, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


def records(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]
