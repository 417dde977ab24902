"""The ``Hunt`` model and the loader of hunt files (YAML metadata + SQL, see notes/HUNT_FORMAT.md).

A hunt file is reviewed data: the loader checks every field and names the file and field in each
problem, and collects all problems of all files at once so an author fixes them in one pass.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
import sqlglot.expressions as exp
import yaml

from huntwatch.hunting.attack import AttackCatalog, canonical_tactic, default_catalog
from huntwatch.hunting.leads import ENTITY_KINDS, SEVERITIES
from huntwatch.hunting.sqlfast import fold_substring_tests
from huntwatch.schema import TABLES

BUILTIN_DIR = Path(__file__).resolve().parent / "hunts"
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TABLE_NAMES = {t.name for t in TABLES}
_REQUIRED = ("id", "title", "description", "severity", "confidence", "tactics", "techniques", "table", "query")
_KNOWN = {
    *_REQUIRED,
    "requires",
    "entities",
    "group_by",
    "window_minutes",
    "false_positives",
    "triage",
    "proven_by",
    "benign_slice",
}


class HuntError(ValueError):
    """One or more hunt files are invalid; ``problems`` lists ``path: field: message`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid hunt files:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Requirement:
    """A log source a hunt can run on: a channel and, optionally, the event ids it reads there."""

    channel: str
    event_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Hunt:
    id: str
    title: str
    description: str
    severity: str
    confidence: float
    tactics: tuple[str, ...]
    techniques: tuple[str, ...]
    table: str
    query: str
    requires: tuple[Requirement, ...] = ()
    entities: Mapping[str, str] = field(default_factory=dict, hash=False)
    group_by: tuple[str, ...] = ("DeviceName",)
    window_minutes: int = 60
    false_positives: tuple[str, ...] = ()
    triage: str = ""
    proven_by: tuple[str, ...] = ()
    benign_slice: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)

    @property
    def sql(self) -> str:
        """The query as it runs: ``query`` with substring-test chains folded into regex scans."""
        return fold_substring_tests(self.query)

    @property
    def tables(self) -> frozenset[str]:
        """Schema tables the query reads (the runner materialises these once per run)."""
        return query_tables(self.query)

    @property
    def raw_event_ids(self) -> frozenset[int] | None:
        """The event ids this hunt reads from ``RawEvents`` (what its ``requires`` declare), or None when it
        may read any: the runner then copies only those events out of the raw table once for all hunts."""
        return declared_event_ids(self.requires)

    @property
    def output_columns(self) -> tuple[str, ...]:
        """Columns every result row must have, besides the time/evidence columns."""
        return tuple(dict.fromkeys(("DeviceName", *self.entities.values(), *self.group_by)))


@functools.lru_cache(maxsize=4096)
def query_tables(sql: str) -> frozenset[str]:
    """Schema table names a query mentions (CTE names excluded); cached, parsing is not free."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return frozenset(t.name for t in tree.find_all(exp.Table) if t.name in _TABLE_NAMES and t.name not in ctes)


def declared_event_ids(requires: Iterable[Requirement]) -> frozenset[int] | None:
    """Every event id the requirements list, or None when one of them (or their absence) allows any."""
    requires = list(requires)
    if not requires or any(not r.event_ids for r in requires):
        return None
    return frozenset(e for r in requires for e in r.event_ids)


def query_event_ids(sql: str) -> frozenset[int]:
    """Event ids a query compares ``EventID`` with (``EventID = n``, ``EventID IN (...)``)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    ids: set[int] = set()
    for node in tree.find_all(exp.EQ, exp.In):
        if isinstance(node.this, exp.Column) and node.this.name == "EventID":
            values = node.expressions if isinstance(node, exp.In) else [node.expression]
            ids.update(int(v.this) for v in values if isinstance(v, exp.Literal) and not v.is_string)
    return frozenset(ids)


def parse_hunt(data: Any, path: Path | None = None, catalog: AttackCatalog | None = None) -> Hunt:
    """Build a ``Hunt`` from parsed YAML, raising ``HuntError`` with every problem found."""
    where = str(path) if path else "<hunt>"
    problems: list[str] = []

    def bad(field_name: str, message: str) -> None:
        problems.append(f"{where}: {field_name}: {message}")

    if not isinstance(data, dict):
        raise HuntError([f"{where}: the file must hold one YAML mapping"])
    for name in _REQUIRED:
        if data.get(name) in (None, "", []) and name != "techniques":
            bad(name, "is required")
    for name in sorted(set(data) - _KNOWN):
        bad(name, "unknown field")
    if problems:
        raise HuntError(problems)

    hunt_id = str(data["id"])
    if not ID_RE.match(hunt_id):
        bad("id", f"{hunt_id!r} must be lowercase letters/digits separated by single dashes")
    if path is not None and path.stem != hunt_id.replace("-", "_"):
        bad("id", f"file name must be {hunt_id.replace('-', '_')}.yml")
    severity = str(data["severity"])
    if severity not in SEVERITIES:
        bad("severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
    confidence = data["confidence"]
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
        bad("confidence", f"{confidence!r} must be a number from 0 to 1")
        confidence = 0.0

    tactics: list[str] = []
    for t in _str_list(data["tactics"], "tactics", bad):
        try:
            tactics.append(canonical_tactic(t))
        except ValueError as exc:
            bad("tactics", str(exc))
    techniques = [t.upper() for t in _str_list(data.get("techniques") or [], "techniques", bad)]
    catalog = catalog or default_catalog()
    if tactics:
        for tech in techniques:
            reason = catalog.check(tech, tactics)
            if reason:
                bad("techniques", reason)

    table = str(data["table"])
    if table not in _TABLE_NAMES:
        bad("table", f"unknown table {table!r}")

    requires: list[Requirement] = []
    for i, req in enumerate(data.get("requires") or []):
        if not isinstance(req, dict) or not isinstance(req.get("channel"), str):
            bad(f"requires[{i}]", "must be a mapping with a 'channel' and optional 'event_ids'")
            continue
        ids = req.get("event_ids") or []
        if not isinstance(ids, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in ids):
            bad(f"requires[{i}].event_ids", "must be a list of integers")
            ids = []
        requires.append(Requirement(req["channel"], tuple(ids)))

    entities = data.get("entities") or {}
    if not isinstance(entities, dict) or not all(isinstance(v, str) for v in entities.values()):
        bad("entities", "must map entity kinds to result column names")
        entities = {}
    for kind in sorted(set(entities) - set(ENTITY_KINDS)):
        bad("entities", f"unknown entity kind {kind!r}; use {', '.join(ENTITY_KINDS)}")
    group_by = _str_list(data.get("group_by") or ["DeviceName"], "group_by", bad)
    window = data.get("window_minutes", 60)
    if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
        bad("window_minutes", f"{window!r} must be a positive whole number")
        window = 60

    query = str(data["query"])
    try:
        tree = sqlglot.parse_one(query, read="duckdb")
        if tree.find(exp.Limit):
            bad("query", "must not use LIMIT (the runner decides how much to read)")
        if not query_tables(query):
            bad("query", "reads no schema table")
        elif table not in query_tables(query):
            bad("table", f"the query does not read {table}")
        declared = declared_event_ids(requires)
        if "RawEvents" in query_tables(query) and declared is not None:
            unlisted = sorted(query_event_ids(query) - declared)
            if unlisted:
                bad("requires", f"the query reads RawEvents event id(s) {unlisted} that requires does not list")
    except sqlglot.errors.ParseError as exc:
        bad("query", f"does not parse: {str(exc).splitlines()[0]}")

    if problems:
        raise HuntError(problems)
    return Hunt(
        id=hunt_id,
        title=str(data["title"]).strip(),
        description=str(data["description"]).strip(),
        severity=severity,
        confidence=float(confidence),
        tactics=tuple(dict.fromkeys(tactics)),
        techniques=tuple(dict.fromkeys(techniques)),
        table=table,
        query=query.strip().rstrip(";"),
        requires=tuple(requires),
        entities=dict(entities),
        group_by=tuple(group_by),
        window_minutes=window,
        false_positives=tuple(_str_list(data.get("false_positives") or [], "false_positives", bad)),
        triage=str(data.get("triage") or "").strip(),
        proven_by=tuple(_str_list(data.get("proven_by") or [], "proven_by", bad)),
        benign_slice=tuple(_str_list(data.get("benign_slice") or [], "benign_slice", bad)),
        path=path,
    )


def _str_list(value: Any, name: str, bad: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        bad(name, "must be a list of strings")
        return []
    return list(value)


def load_hunt_file(path: Path, catalog: AttackCatalog | None = None) -> Hunt:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise HuntError([f"{path}: not valid YAML: {exc}"]) from exc
    except OSError as exc:
        raise HuntError([f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    return parse_hunt(data, path, catalog)


def hunt_files(dirs: Iterable[Path | str] | None = None, *, builtin: bool = True) -> list[Path]:
    roots = ([BUILTIN_DIR] if builtin else []) + [Path(d) for d in dirs or ()]
    files: list[Path] = []
    for root in roots:
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files.extend(sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml")))
        elif root != BUILTIN_DIR:
            raise HuntError([f"{root}: no such hunt file or folder"])
    return files


def load_hunts(
    dirs: Iterable[Path | str] | None = None,
    *,
    builtin: bool = True,
    catalog: AttackCatalog | None = None,
) -> list[Hunt]:
    """Built-in hunts plus those in ``dirs``; raises ``HuntError`` listing every problem (ids are unique)."""
    hunts: list[Hunt] = []
    problems: list[str] = []
    seen: dict[str, Path | None] = {}
    for path in hunt_files(dirs, builtin=builtin):
        try:
            hunt = load_hunt_file(path, catalog)
        except HuntError as exc:
            problems.extend(exc.problems)
            continue
        if hunt.id in seen:
            problems.append(f"{path}: id: {hunt.id!r} is already used by {seen[hunt.id]}")
            continue
        seen[hunt.id] = path
        hunts.append(hunt)
    if problems:
        raise HuntError(problems)
    return hunts
