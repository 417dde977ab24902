"""Sigma rule sets: load folders, compile with our backend, evaluate many rules per scan, yield leads.

Rules are grouped by source filter (channel + event ids). One SQL statement per group reads the group's
events once, defines every referenced field once (lower-cased), and evaluates all the group's
predicates into one ``concat_ws`` of matching rule numbers; only events some rule matched come back.
Groups whose channels/event ids the tenant never sent are skipped without a scan.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
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
RULES_PER_STATEMENT = 3000  # groups are packed into one scan up to this many rules (a big group alone may exceed it)
_HITS_PER_COLUMN = 100  # rule predicates per concat_ws call
# Filter pushdown moves ``hits <> ''`` below the projection that computes each field once, inlining a
# map lookup into every predicate that reads the field: measured 7-40x slower on SigmaHQ groups.
_DISABLED_OPTIMIZERS = "filter_pushdown"

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
        return _statement([(self.sources, [self])])

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
        """The DuckDB statements that evaluate these groups (default: all), with the rules each numbers.

        Groups are packed into as few statements as ``RULES_PER_STATEMENT`` allows: every statement is
        one scan of RawEvents, and reading the ``Fields`` maps is the fixed cost of a scan.
        """
        packs: list[list[RuleGroup]] = [[]]
        for group in self.groups() if groups is None else groups:
            if packs[-1] and sum(len(g.rules) for g in packs[-1]) + len(group.rules) > RULES_PER_STATEMENT:
                packs.append([])
            packs[-1].append(group)
        return [
            (tuple(r for g in pack for r in g.rules), _statement([(g.sources, g.rules) for g in pack]))
            for pack in packs
            if pack
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
        with _Session(engine, tenant, after_seq, timeout_s) as session:
            channels: dict[str, set[int]] = defaultdict(set)
            for channel, event_id in session.rows("SELECT DISTINCT lower(Channel), EventID FROM RawEvents"):
                channels[channel or ""].add(event_id)
            hits: dict[tuple[int, str], list[tuple[Any, ...]]] = defaultdict(list)
            index = {rule.id: i for i, rule in enumerate(self.rules)}
            groups = [g for g in self.groups() if _group_has_events(g.sources, channels)]
            skipped = len(self.groups()) - len(groups)
            statements = self.statements(groups) if groups else []
            for rules, sql in statements:
                for key, timestamp, device, account, process, numbers in session.rows(sql):
                    for number in numbers.split(","):
                        rule = rules[int(number)]
                        hits[(index[rule.id], device or "")].append((timestamp, key, account, process))
        leads = [lead for (i, device), events in hits.items() for lead in _leads(self.rules[i], device, events)]
        leads.sort(key=lambda lead: (lead.first_seen, lead.hunt_id))
        return Evaluation(leads, len(statements), skipped, time.perf_counter() - started)


class _Session:
    """One DuckDB connection for a whole evaluation when the engine offers one, else ``engine.query``.

    Statements go through ``execute`` (planned once; ``sql()`` relations plan twice, and planning
    hundreds of predicates is most of the cost on small data).
    """

    def __init__(self, engine: Any, tenant: str, after_seq: int, timeout_s: float | None) -> None:
        self.engine, self.tenant, self.after_seq, self.timeout_s = engine, tenant, after_seq, timeout_s
        self.con: Any = None

    def __enter__(self) -> _Session:
        if hasattr(self.engine, "connect"):
            self.con = self.engine.connect(self.tenant, after_seq=self.after_seq)
            self.con.execute(f"SET disabled_optimizers = '{_DISABLED_OPTIMIZERS}'")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.con is not None:
            self.con.close()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.con is None:
            table = self.engine.query(sql, self.tenant, after_seq=self.after_seq, timeout_s=self.timeout_s)
            return [tuple(row.values()) for row in table.to_pylist()]
        timer = threading.Timer(self.timeout_s, self.con.interrupt) if self.timeout_s else None
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
    scans: int  # SQL statements run
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


def _field_definitions(groups: Sequence[Sequence[CompiledRule]]) -> list[str]:
    """Each identifier defined once, read only on rows of the groups that use it.

    Names differing only in case are one identifier (SQL identifiers are case-blind).
    """
    merged: dict[str, tuple[str, list[str], bool, set[int]]] = {}
    for number, rules in enumerate(groups):
        for rule in rules:
            for ident, ref in rule.fields.items():
                entry = merged.setdefault(ident.lower(), (ident, [], ref.lowered, set()))
                entry[1].extend(n for n in ref.names if n not in entry[1])
                entry[3].add(number)
    definitions = []
    for ident, names, lowered, users in merged.values():
        expr = FieldRef(tuple(names), lowered).expression()
        if len(groups) > 1:
            expr = f"CASE WHEN {' OR '.join(f'g{n}' for n in sorted(users))} THEN {expr} END"
        definitions.append(f"{expr} AS {ident}")
    return definitions


def _coalesce_fields(names: Sequence[str]) -> str:
    return f"coalesce({', '.join(f'Fields[{sql_string(n)}]' for n in names)})"


def _concat(parts: Sequence[str]) -> str:
    """Comma-joined non-empty parts, in chunks so no function call takes thousands of arguments."""
    columns = [
        f"concat_ws(',', {', '.join(parts[i : i + _HITS_PER_COLUMN])})" for i in range(0, len(parts), _HITS_PER_COLUMN)
    ]
    if len(columns) == 1:
        return columns[0]
    return "concat_ws(',', " + ", ".join(f"nullif({c}, '')" for c in columns) + ")"


def _statement(groups: Sequence[tuple[tuple[Source, ...], Sequence[CompiledRule]]]) -> str:
    """One scan of RawEvents evaluating every rule of the groups on its group's events.

    ``g<n>`` flags say which group's events a row is; a field is read only where a group needs it; a
    group's predicates only run on its rows (CASE evaluates its branch on the selected rows only).
    Hits come back as the comma-joined numbers of the matching rules, in the order of ``groups``.
    """
    single = len(groups) == 1
    numbered = 0
    parts = []
    for number, (_, rules) in enumerate(groups):
        cases = [f"CASE WHEN {rule.predicate} THEN '{numbered + k}' END" for k, rule in enumerate(rules)]
        numbered += len(rules)
        parts.append(_concat(cases) if single else f"nullif(CASE WHEN g{number} THEN {_concat(cases)} END, '')")
    hits = parts[0] if single else _concat(parts)
    flags = [] if single else [f"coalesce({_source_filter(s, 'ch')}, false) AS g{n}" for n, (s, _) in enumerate(groups)]
    where = " OR ".join(f"({_source_filter(s, 'ch')})" for s, _ in groups)
    base = [
        "EventKey",
        "Timestamp",
        "DeviceName",
        "Fields",
        "Channel",
        "Provider",
        "EventID",
    ]  # rules may read the last 3
    definitions = ",\n    ".join(
        [*base, *(f"g{n}" for n in range(len(flags))), *_field_definitions([r for _, r in groups])]
    )
    return (
        f"SELECT EventKey, Timestamp, DeviceName, {_coalesce_fields(ACCOUNT_FIELDS)} AS Account,\n"
        f"  {_coalesce_fields(PROCESS_FIELDS)} AS Process, hits\n"
        f"FROM (\n  SELECT EventKey, Timestamp, DeviceName, Fields,\n  {hits} AS hits\n"
        f"  FROM (\n    SELECT {definitions}\n"
        f"    FROM (\n      SELECT {', '.join([*base, *flags])}\n"
        f"      FROM (SELECT {', '.join(base)}, lower(Channel) AS ch FROM RawEvents) AS raw\n"
        f"      WHERE {where}\n    ) AS src\n  ) AS ev\n) AS matched\n"
        "WHERE hits <> ''"
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
