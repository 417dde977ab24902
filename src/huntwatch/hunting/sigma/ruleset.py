"""Sigma rule sets: load folders, compile with our backend, evaluate many rules per scan, yield leads.

Rules are grouped by source filter (channel + event ids). RawEvents is read once (the parquet ``Fields``
maps are the cost of a scan) into a temporary table sorted by channel; each group's events then go into
a temporary table holding every field its rules reference, decoded from the map and lower-cased once;
the group's predicates run over that table in statements of ``RULES_PER_STATEMENT`` rules, each folding
its matches into one ``concat_ws`` of rule numbers so only events some rule matched come back. DuckDB's
planning time grows faster than the statement, so many moderate statements plan far quicker than one
giant one. Groups whose channels/event ids the tenant never sent are skipped without a scan.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
import yaml
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule

from huntwatch.hunting.attack import canonical_tactic
from huntwatch.hunting.leads import SEVERITIES, LeadCandidate
from huntwatch.hunting.sigma.backend import FieldRef, HuntwatchBackend, sql_string
from huntwatch.hunting.sigma.pipeline import Source
from huntwatch.lake import QueryError

WINDOW = dt.timedelta(minutes=60)
MAX_EVIDENCE = 1000  # EventKeys kept per lead; the full count is in details["events"]
# Predicates per statement: planning grows faster than the statement (SigmaHQ process_creation, 1183
# rules over a temp table: 2.8 s in chunks of 200, 1.6 s of 100, 1.1 s of 50).
RULES_PER_STATEMENT = 50
SLICE_ROWS = 500_000  # raw events the embedded engine holds at once while evaluating (bounded memory)
_RAW_TABLE = "hw_sigma_raw"  # per-connection temp table: the events some group reads, sorted by channel
_GROUP_TABLE = "hw_sigma_events"  # per-connection temp table of one group's decoded fields
_HITS_PER_COLUMN = 100  # rule predicates per concat_ws call
# Filter pushdown moves ``hits <> ''`` below the projection that computes each field once, inlining a
# map lookup into every predicate that reads the field: measured 7-40x slower on SigmaHQ groups.
# Common-subexpression elimination is most of the planning time of a chunk and saved no run time.
_DISABLED_OPTIMIZERS = "filter_pushdown,common_subexpressions"

_LEVEL_WEIGHT = {"informational": 0.1, "low": 0.25, "medium": 0.45, "high": 0.65, "critical": 0.8}
_STATUS_FACTOR = {"stable": 1.0, "test": 0.9, "experimental": 0.75, "deprecated": 0.5, "unsupported": 0.5}

# Who and what an event is about, read only from events some rule matched.
ACCOUNT_FIELDS = ("User", "TargetUserName", "SubjectUserName", "AccountName")
PROCESS_FIELDS = ("Image", "NewProcessName", "SourceImage", "ProcessName", "Application")


@dataclass(frozen=True)
class CompiledRule:
    """A Sigma rule as a predicate over one source filter, with what a lead needs to say about it."""

    id: str
    title: str
    path: str
    level: str
    status: str
    description: str
    tactics: tuple[str, ...]
    techniques: tuple[str, ...]
    predicate: str
    fields: dict[str, FieldRef] = field(hash=False, compare=False)
    sources: tuple[Source, ...] = ()

    @property
    def hunt_id(self) -> str:
        return f"sigma:{self.id}"

    @property
    def severity(self) -> str:
        return self.level if self.level in SEVERITIES else "medium"

    @property
    def confidence(self) -> float:
        """Level says how bad a true hit is; status says how well the rule has been proven."""
        base = _LEVEL_WEIGHT.get(self.level, 0.45)
        return round(base * _STATUS_FACTOR.get(self.status, 0.75), 3)

    def sql(self) -> str:
        """This rule alone as a DuckDB query over RawEvents (for `rules show` and tests)."""
        return _hits_statement([self], f"({_group_select(RuleGroup(self.sources, (self,)))}) AS src")

    def spark_sql(self) -> str:
        return sqlglot.transpile(self.sql(), read="duckdb", write="spark")[0]


@dataclass(frozen=True)
class RuleFailure:
    path: str
    reason: str
    rule_id: str | None = None
    title: str | None = None


@dataclass
class CheckReport:
    files: int
    compiled: int
    failed: list[RuleFailure]
    groups: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "compiled": self.compiled,
            "failed": [f.__dict__ for f in self.failed],
            "groups": self.groups,
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True)
class RuleGroup:
    """Rules that read the same events: evaluated together in one scan."""

    sources: tuple[Source, ...]
    rules: tuple[CompiledRule, ...]

    @property
    def name(self) -> str:
        return " + ".join(
            s.channel + (f":{','.join(map(str, s.event_ids))}" if s.event_ids else "") for s in self.sources
        )


class SigmaRuleSet:
    """Compiled Sigma rules and the files that failed, ready to run over a tenant's lake."""

    def __init__(self, rules: Sequence[CompiledRule], failures: Sequence[RuleFailure], files: int, seconds: float):
        self.rules = list(rules)
        self.failures = list(failures)
        self.files = files
        self.seconds = seconds

    # -- loading ------------------------------------------------------------------------------------
    @classmethod
    def load(cls, dirs: Path | str | Iterable[Path | str]) -> SigmaRuleSet:
        """Compile every ``*.yml``/``*.yaml`` under the given folders (or files); errors are kept per file."""
        started = time.perf_counter()
        roots = [Path(dirs)] if isinstance(dirs, str | Path) else [Path(d) for d in dirs]
        paths: list[Path] = []
        for root in roots:
            if root.is_file():
                paths.append(root)
            else:
                paths.extend(sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()))
        backend = HuntwatchBackend()
        rules: list[CompiledRule] = []
        failures: list[RuleFailure] = []
        seen: dict[str, str] = {}
        for path in paths:
            for item in _compile_file(backend, path):
                if isinstance(item, RuleFailure):
                    failures.append(item)
                elif item.id in seen:
                    failures.append(
                        RuleFailure(item.path, f"duplicate rule id (also in {seen[item.id]})", item.id, item.title)
                    )
                else:
                    seen[item.id] = item.path
                    rules.append(item)
        return cls(rules, failures, len(paths), time.perf_counter() - started)

    def check(self) -> CheckReport:
        return CheckReport(self.files, len(self.rules), self.failures, len(self.groups()), self.seconds)

    def groups(self) -> list[RuleGroup]:
        by_sources: dict[tuple[Source, ...], list[CompiledRule]] = defaultdict(list)
        for rule in self.rules:
            by_sources[rule.sources].append(rule)
        return [RuleGroup(sources, tuple(rules)) for sources, rules in sorted(by_sources.items())]

    # -- SQL ----------------------------------------------------------------------------------------
    def statements(self, groups: Sequence[RuleGroup] | None = None) -> list[tuple[tuple[CompiledRule, ...], str]]:
        """Self-contained statements over RawEvents for these groups (default: all), with the rules each numbers.

        One statement per group and ``RULES_PER_STATEMENT`` rules; engines without a session (and
        Spark) run these, while ``evaluate`` with a DuckDB session reads each group into a table once.
        """
        return [
            (chunk, _hits_statement(chunk, f"({_group_select(group)}) AS src"))
            for group in (self.groups() if groups is None else groups)
            for chunk in _chunks(group.rules)
        ]

    def sql_for_spark(self) -> list[str]:
        """The same statements in Spark SQL (sqlglot), for the scale-out engine."""
        return [sqlglot.transpile(sql, read="duckdb", write="spark")[0] for _, sql in self.statements()]

    # -- running ------------------------------------------------------------------------------------
    def run(
        self, engine: Any, tenant: str, *, after_seq: int = 0, timeout_s: float | None = None
    ) -> list[LeadCandidate]:
        """Evaluate every rule over the tenant's events (after ``after_seq``): one lead per rule, device, hour."""
        return self.evaluate(engine, tenant, after_seq=after_seq, timeout_s=timeout_s).leads

    def evaluate(self, engine: Any, tenant: str, *, after_seq: int = 0, timeout_s: float | None = None) -> Evaluation:
        """Like ``run``, and also says how many scans it took and how many groups it could skip."""
        started = time.perf_counter()
        hits: dict[tuple[int, str], list[tuple[Any, ...]]] = defaultdict(list)
        index = {rule.id: i for i, rule in enumerate(self.rules)}
        all_groups = self.groups()
        deadline = time.monotonic() + timeout_s if timeout_s else None
        scanned: set[int] = set()
        # A rule matches one event at a time, so the events can be read in slices of batches: the embedded
        # engine copies a slice's raw events into memory, and slices keep that bounded at any lake size.
        for batches in _slices(engine, tenant, after_seq):
            with _Session(engine, tenant, after_seq, deadline, batches) as session:
                channels: dict[str, set[int]] = defaultdict(set)
                for channel, event_id in session.rows("SELECT DISTINCT lower(Channel), EventID FROM RawEvents"):
                    channels[channel or ""].add(event_id)
                groups = [g for g in all_groups if _group_has_events(g.sources, channels)]
                scanned.update(id(g) for g in groups)
                for rules, rows in session.group_hits(groups, self.statements):
                    for key, timestamp, device, account, process, numbers in rows:
                        for number in numbers.split(","):
                            rule = rules[int(number)]
                            hits[(index[rule.id], device or "")].append((timestamp, key, account, process))
        leads = [lead for (i, device), events in hits.items() for lead in _leads(self.rules[i], device, events)]
        leads.sort(key=lambda lead: (lead.first_seen, lead.hunt_id))
        return Evaluation(leads, len(scanned), len(all_groups) - len(scanned), time.perf_counter() - started)


def _slices(engine: Any, tenant: str, after_seq: int) -> list[list[int] | None]:
    """Batch seqs in slices of about ``SLICE_ROWS`` raw events (one slice, None, when the engine reads whole)."""
    if not hasattr(engine, "connect"):
        return [None]
    slices: list[list[int]] = [[]]
    rows = 0
    for batch in engine.store.catalog(tenant).batches:
        if batch.seq <= after_seq:
            continue
        if slices[-1] and rows + batch.rows.get("RawEvents", 0) > SLICE_ROWS:
            slices.append([])
            rows = 0
        slices[-1].append(batch.seq)
        rows += batch.rows.get("RawEvents", 0)
    return [s for s in slices if s] or [None]


class _Session:
    """One DuckDB connection for a whole evaluation when the engine offers one, else ``engine.query``.

    Statements go through ``execute`` (planned once; ``sql()`` relations plan twice, and planning
    hundreds of predicates is most of the cost on small data).
    """

    def __init__(
        self, engine: Any, tenant: str, after_seq: int, deadline: float | None, batches: list[int] | None = None
    ) -> None:
        self.engine, self.tenant, self.after_seq, self.batches = engine, tenant, after_seq, batches
        # ``deadline`` (monotonic) bounds the whole evaluation, however many statements and slices it takes.
        self.deadline = deadline
        self.con: Any = None

    def __enter__(self) -> _Session:
        if hasattr(self.engine, "connect"):
            self.con = self.engine.connect(
                self.tenant, after_seq=self.after_seq, batches=self.batches, sql="SELECT * FROM RawEvents"
            )
            self.con.execute(f"SET disabled_optimizers = '{_DISABLED_OPTIMIZERS}'")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.con is not None:
            self.con.close()

    def group_hits(
        self, groups: Sequence[RuleGroup], statements: Callable[[Sequence[RuleGroup]], list[tuple[Any, str]]]
    ) -> Iterator[tuple[tuple[CompiledRule, ...], list[tuple[Any, ...]]]]:
        """Each chunk of rules with the events it matched; each group's events are read once.

        With a connection, RawEvents is read once into a temp table sorted by channel and event id
        (reading the parquet ``Fields`` is the cost of a scan; sorted, a group's rows are contiguous and
        its filter skips the rest), each group's fields go into a temp table once, and every chunk reads
        that (no map decoding per chunk); else each self-contained statement scans on its own.
        """
        if self.con is None:
            for rules, sql in statements(groups):
                yield rules, self.rows(sql)
            return
        if not groups:
            return
        # Filters on the temp tables must reach the scan (a group reads only its rows); the chunks'
        # ``hits <> ''`` must not (see _DISABLED_OPTIMIZERS).
        self.con.execute("RESET disabled_optimizers")
        wanted = " OR ".join(f"({_source_filter(g.sources, 'ch')})" for g in groups)
        self.rows(
            f"CREATE OR REPLACE TEMP TABLE {_RAW_TABLE} AS SELECT * FROM "
            f"(SELECT EventKey, Timestamp, DeviceName, Channel, Provider, EventID, Fields, lower(Channel) AS ch "
            f"FROM RawEvents) AS raw WHERE {wanted} ORDER BY ch, EventID"
        )
        for group in groups:
            self.rows(f"CREATE OR REPLACE TEMP TABLE {_GROUP_TABLE} AS {_group_select(group, _RAW_TABLE, 'ch')}")
            self.con.execute(f"SET disabled_optimizers = '{_DISABLED_OPTIMIZERS}'")
            for chunk in _chunks(group.rules):
                yield chunk, self.rows(_hits_statement(chunk, _GROUP_TABLE))
            self.con.execute("RESET disabled_optimizers")
        self.rows(f"DROP TABLE {_GROUP_TABLE}; DROP TABLE {_RAW_TABLE}")

    def _remaining(self) -> float | None:
        if self.deadline is None:
            return None
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise QueryError("Sigma evaluation timed out")
        return remaining

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.con is None:
            table = self.engine.query(sql, self.tenant, after_seq=self.after_seq, timeout_s=self._remaining())
            return [tuple(row.values()) for row in table.to_pylist()]
        remaining = self._remaining()
        timer = threading.Timer(remaining, self.con.interrupt) if remaining is not None else None
        if timer:
            timer.start()
        try:
            return self.con.execute(sql).fetchall()
        except duckdb.Error as exc:
            raise QueryError(str(exc).strip().splitlines()[0]) from exc
        finally:
            if timer:
                timer.cancel()


@dataclass
class Evaluation:
    leads: list[LeadCandidate]
    scans: int  # scans of RawEvents (one per rule group with events)
    skipped_groups: int  # groups whose events the tenant never sent
    seconds: float


# -- compiling ------------------------------------------------------------------------------------
def _compile_file(backend: HuntwatchBackend, path: Path) -> Iterator[CompiledRule | RuleFailure]:
    where = str(path)
    try:
        docs = [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) if d]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        yield RuleFailure(where, f"not readable YAML: {exc}")
        return
    try:
        collection = SigmaCollection.from_dicts(docs, collect_errors=True, source=SigmaRuleLocation(path))
    except SigmaError as exc:
        yield RuleFailure(where, f"not a Sigma rule: {exc}")
        return
    for rule in collection.rules:
        rule_id = str(rule.id) if getattr(rule, "id", None) else None
        title = getattr(rule, "title", None)
        if not isinstance(rule, SigmaRule):
            yield RuleFailure(where, "correlation rules are not supported", rule_id, title)
            continue
        if rule.errors:
            yield RuleFailure(where, "; ".join(str(e) for e in rule.errors), rule_id, title)
            continue
        try:
            conversions = backend.convert_rule(rule)
        except (SigmaError, NotImplementedError, TypeError, ValueError) as exc:
            yield RuleFailure(where, str(exc).split("\n")[0], rule_id, title)
            continue
        if not conversions:
            yield RuleFailure(where, "the rule converted to no query", rule_id, title)
            continue
        fields: dict[str, FieldRef] = {}
        for conversion in conversions:
            fields.update(conversion.fields)
        predicate = (
            " OR ".join(f"({c.predicate})" for c in conversions) if len(conversions) > 1 else conversions[0].predicate
        )
        tactics, techniques = _attack(rule)
        yield CompiledRule(
            id=rule_id or f"file:{path.stem}",
            title=title or path.stem,
            path=where,
            level=rule.level.name.lower() if rule.level else "medium",
            status=rule.status.name.lower() if rule.status else "experimental",
            description=(rule.description or "").strip(),
            tactics=tactics,
            techniques=techniques,
            predicate=predicate,
            fields=fields,
            sources=conversions[0].sources,
        )


def _attack(rule: SigmaRule) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Tactics (pre-v19 names; Stealth and Defense Impairment read as Defense Evasion) and technique ids."""
    tactics: list[str] = []
    techniques: list[str] = []
    for tag in rule.tags:
        if tag.namespace != "attack":
            continue
        name = tag.name
        if name[:1] in ("t", "T") and name[1:2].isdigit():
            technique = name.upper()
            if technique not in techniques:
                techniques.append(technique)
            continue
        try:
            tactic = canonical_tactic(name)
        except ValueError:
            continue  # groups (g0001), software (s0002), data sources: not tactics
        if tactic not in tactics:
            tactics.append(tactic)
    return tuple(tactics), tuple(techniques)


# -- SQL building -----------------------------------------------------------------------------------
def _source_filter(sources: tuple[Source, ...], channel: str = "lower(Channel)") -> str:
    terms = []
    for source in sources:
        if not source.channel:
            return "true"
        term = f"{channel} = {sql_string(source.channel.lower())}"
        if source.event_ids:
            term += f" AND EventID IN ({', '.join(str(i) for i in source.event_ids)})"
        terms.append(f"({term})")
    return " OR ".join(terms)


def _group_has_events(sources: tuple[Source, ...], present: dict[str, set[int]]) -> bool:
    for source in sources:
        if not source.channel:
            return bool(present)
        ids = present.get(source.channel.lower())
        if ids and (not source.event_ids or ids.intersection(source.event_ids)):
            return True
    return False


def _field_definitions(rules: Sequence[CompiledRule]) -> list[str]:
    """Each identifier defined once; names differing only in case are one (SQL identifiers are case-blind)."""
    merged: dict[str, tuple[str, list[str], bool]] = {}
    for rule in rules:
        for ident, ref in rule.fields.items():
            entry = merged.setdefault(ident.lower(), (ident, [], ref.lowered))
            entry[1].extend(n for n in ref.names if n not in entry[1])
    return [f"{FieldRef(tuple(names), lowered).expression()} AS {ident}" for ident, names, lowered in merged.values()]


def _coalesce_fields(names: Sequence[str]) -> str:
    return f"coalesce({', '.join(f'Fields[{sql_string(n)}]' for n in names)})"


def _chunks(rules: Sequence[CompiledRule]) -> list[tuple[CompiledRule, ...]]:
    return [tuple(rules[i : i + RULES_PER_STATEMENT]) for i in range(0, len(rules), RULES_PER_STATEMENT)]


def _concat(parts: Sequence[str]) -> str:
    """Comma-joined non-empty parts, in chunks so no function call takes thousands of arguments."""
    columns = [
        f"concat_ws(',', {', '.join(parts[i : i + _HITS_PER_COLUMN])})" for i in range(0, len(parts), _HITS_PER_COLUMN)
    ]
    if len(columns) == 1:
        return columns[0]
    return "concat_ws(',', " + ", ".join(f"nullif({c}, '')" for c in columns) + ")"


def _group_select(group: RuleGroup, table: str = "RawEvents", channel: str = "lower(Channel)") -> str:
    """A group's events with every field its rules read, decoded and lower-cased once per event."""
    columns = [
        "EventKey",
        "Timestamp",
        "DeviceName",
        f"{_coalesce_fields(ACCOUNT_FIELDS)} AS Account",
        f"{_coalesce_fields(PROCESS_FIELDS)} AS Process",
        "Channel",  # rules may read these three columns
        "Provider",
        "EventID",
        *_field_definitions(group.rules),
    ]
    return f"SELECT {', '.join(columns)}\nFROM {table}\nWHERE {_source_filter(group.sources, channel)}"


def _hits_statement(rules: Sequence[CompiledRule], source: str) -> str:
    """The rules' predicates over a group's events: matching rule numbers (in ``rules``), comma-joined."""
    hits = _concat([f"CASE WHEN {rule.predicate} THEN '{k}' END" for k, rule in enumerate(rules)])
    return (
        "SELECT EventKey, Timestamp, DeviceName, Account, Process, hits\n"
        f"FROM (\n  SELECT EventKey, Timestamp, DeviceName, Account, Process,\n  {hits} AS hits\n  FROM {source}\n"
        ") AS matched\nWHERE hits <> ''"
    )


# -- leads --------------------------------------------------------------------------------------------
def _clean(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text if text and text != "-" else None


def _leads(rule: CompiledRule, device: str, events: list[tuple[Any, ...]]) -> Iterator[LeadCandidate]:
    """One lead per run of events within WINDOW of the run's first event."""
    events = sorted(events, key=lambda e: (e[0] is None, e[0] or dt.datetime.min, e[1]))
    window: list[tuple[Any, ...]] = []
    for event in events:
        if window and event[0] is not None and window[0][0] is not None and event[0] - window[0][0] > WINDOW:
            yield _lead(rule, device, window)
            window = []
        window.append(event)
    if window:
        yield _lead(rule, device, window)


def _lead(rule: CompiledRule, device: str, events: list[tuple[Any, ...]]) -> LeadCandidate:
    times = [e[0] for e in events if e[0] is not None]
    first = min(times) if times else dt.datetime(1970, 1, 1)
    keys = list(dict.fromkeys(e[1] for e in events))
    accounts = sorted({a for e in events if (a := _clean(e[2]))})
    processes = sorted({p.replace("/", "\\").rsplit("\\", 1)[-1].lower() for e in events if (p := _clean(e[3]))})
    entities = {"device": [device]} if device else {}
    if accounts:
        entities["account"] = accounts
    if processes:
        entities["process"] = processes
    return LeadCandidate(
        hunt_id=rule.hunt_id,
        source="sigma",
        title=rule.title,
        severity=rule.severity,
        confidence=rule.confidence,
        tactics=list(rule.tactics),
        techniques=list(rule.techniques),
        first_seen=first,
        last_seen=max(times) if times else first,
        evidence=keys[:MAX_EVIDENCE],
        entities=entities,
        description=rule.description,
        details={"events": len(keys), "rule_path": rule.path, "status": rule.status, "level": rule.level},
        group=(device,),
    )
