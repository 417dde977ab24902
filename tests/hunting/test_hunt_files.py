"""The one test every hunt file must pass: schema, ids, file names, ATT&CK consistency, query binds."""

from __future__ import annotations

import duckdb

from huntwatch.hunting.attack import tactic_folder
from huntwatch.hunting.model import BUILTIN_DIR, hunt_files, load_hunts
from huntwatch.lake import DuckDBEngine

from .conftest import FIXTURES

_AGG = {"Timestamp", "LastSeen", "EventKeys"}
_ROW = {"Timestamp", "EventKey"}


def test_every_hunt_file(tmp_path):
    # load_hunts checks fields, unique ids, file name = id, techniques exist and belong to the tactics
    hunts = load_hunts([FIXTURES / "hunts"])
    assert len(hunts) == len(hunt_files([FIXTURES / "hunts"]))
    con = DuckDBEngine(tmp_path / "lake").connect("empty")  # typed empty views: queries must bind
    problems = []
    for hunt in hunts:
        folder = hunt.path.parent.name
        if hunt.path.is_relative_to(BUILTIN_DIR) and folder not in {tactic_folder(t) for t in hunt.tactics}:
            problems.append(f"{hunt.path}: folder {folder!r} is not one of the hunt's tactics")
        try:
            rel = con.sql(hunt.query)
            columns = dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))
        except duckdb.Error as exc:
            problems.append(f"{hunt.path}: query: {str(exc).splitlines()[0]}")
            continue
        shape = _AGG if "EventKeys" in columns else _ROW
        for col in (*shape, *hunt.output_columns):
            if col not in columns:
                problems.append(f"{hunt.path}: query: result lacks column {col}")
        if columns.get("Timestamp") not in (None, "TIMESTAMP"):
            problems.append(f"{hunt.path}: query: Timestamp is {columns['Timestamp']}, not TIMESTAMP")
        if "EventKeys" in columns and columns["EventKeys"] != "VARCHAR[]":
            problems.append(f"{hunt.path}: query: EventKeys is {columns['EventKeys']}, not VARCHAR[]")
    con.close()
    assert not problems, "\n".join(problems)
