"""The incremental hunt runner: every hunt, analytic and Sigma rule set of a tenant in few scans.

One DuckDB connection per tenant and run. The tables the due hunts read are materialised once into
memory (only the columns the hunts name, only the rows from the earliest time any hunt needs), so N
hunts do not re-read Parquet N times; analytics see the full history for their baselines. Each hunt
remembers the lake batch sequence it has seen (``HuntWatermark``); a rerun reads events from batches
after it plus ``window_minutes`` of earlier context, and leads are merged, never duplicated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import orjson
import sqlglot
import sqlglot.expressions as exp
from sqlalchemy import select

from huntwatch.hunting.analytics.base import Analytic, Query, connection_query, engine_query
from huntwatch.hunting.leads import LeadCandidate
from huntwatch.hunting.model import Hunt
from huntwatch.hunting.store import SaveResult, ensure_tenant, save_candidates
from huntwatch.lake import Catalog, DuckDBEngine, Engine, QueryError, run_with_timeout
from huntwatch.schema import RAW_TABLE, TABLES, table
from huntwatch.state import Database, HuntWatermark, utcnow

SIGMA_ID = "sigma"
_ROW_COLUMNS = ("Timestamp", "EventKey")
_AGG_COLUMNS = ("Timestamp", "LastSeen", "EventKeys")


class SigmaRunner(Protocol):
    """What the runner needs from ``huntwatch.hunting.sigma.SigmaRuleSet``."""

    def run(self, engine: DuckDBEngine, tenant: str, after_seq: int = 0) -> list[LeadCandidate]: ...


@dataclass
class Outcome:
    """What one hunt, analytic or rule set did in one run."""

    id: str
    source: str  # hunt | analytic | sigma
    candidates: int = 0
    added: int = 0
    extended: int = 0
    seconds: float = 0.0
    error: str | None = None
    skipped: bool = False  # nothing new since its watermark


@dataclass
class HuntReport:
    tenant: str
    last_seq: int
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    materialize_seconds: float = 0.0
    store_seconds: float = 0.0
    candidates: list[LeadCandidate] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(o.added for o in self.outcomes)

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error]


Progress = Callable[[str], None]


def run_hunts(
    engine: Engine,
    db: Database,
    tenant_slug: str,
    *,
    hunts: Sequence[Hunt] | None = None,
    analytics: Sequence[Analytic] | None = None,
    sigma: SigmaRunner | None = None,
    since: int | None = None,
    timeout_s: float | None = 300.0,
    materialize_rows: int = 5_000_000,
    progress: Progress | None = None,
) -> HuntReport:
    """Run hunts, analytics and Sigma rules on one tenant from their watermarks and store the leads.

    ``hunts=None`` means the built-in hunts, ``analytics=None`` the built-in analytics. ``since`` overrides
    every watermark (0: from the beginning). A failing hunt is reported and keeps its watermark.
    """
    from huntwatch.hunting.analytics import default_analytics
    from huntwatch.hunting.model import load_hunts

    started = time.perf_counter()
    hunts = list(load_hunts() if hunts is None else hunts)
    analytics = list(default_analytics() if analytics is None else analytics)
    catalog = engine.store.catalog(tenant_slug)
    last_seq = catalog.last_seq
    report = HuntReport(tenant=tenant_slug, last_seq=last_seq)

    with db.session() as s:
        tenant_id = ensure_tenant(s, tenant_slug).id
        marks = {
            w.hunt_id: w.last_seq for w in s.scalars(select(HuntWatermark).where(HuntWatermark.tenant_id == tenant_id))
        }

    def mark(unit_id: str) -> int:
        return since if since is not None else marks.get(unit_id, 0)

    starts = _NewDataStarts(engine, tenant_slug)
    filled = {name for b in catalog.batches for name, n in b.rows.items() if n}
    cycle = _Cycle(report, progress, filled)
    due_hunts = [h for h in hunts if mark(h.id) < last_seq]
    due_analytics = [a for a in analytics if mark(a.id) < last_seq]
    for h in hunts:
        if h not in due_hunts:
            report.outcomes.append(Outcome(h.id, "hunt", skipped=True))
    for a in analytics:
        if a not in due_analytics:
            report.outcomes.append(Outcome(a.id, "analytic", skipped=True))

    if (due_hunts or due_analytics) and not isinstance(engine, DuckDBEngine):
        # A scale-out engine (Spark): each hunt's SQL and each analytic's aggregation runs there; only
        # result rows come back, grouped into leads locally.
        _hunt_on_query_engine(engine, tenant_slug, due_hunts, timeout_s, cycle)
        query = engine_query(engine, tenant_slug, timeout_s)
        for analytic in due_analytics:
            cycle.analytic(analytic, query, starts.get(mark(analytic.id)))
    elif due_hunts or due_analytics:
        con = engine.connect(tenant_slug)
        con.execute("SET enable_progress_bar = false")  # stdout belongs to the caller (JSON output)
        try:
            t0 = time.perf_counter()
            cutoffs = {h.id: _minus(starts.get(mark(h.id)), h.window_minutes) for h in due_hunts}
            _materialize(con, catalog, [h for h in due_hunts if h.tables & filled], cutoffs, materialize_rows)
            report.materialize_seconds = time.perf_counter() - t0
            con.execute("SET search_path = 'recent,main'")

            def on_copies(hunt: Hunt) -> list[LeadCandidate]:
                return hunt_candidates(con, hunt, timeout_s=timeout_s)

            for hunt in due_hunts:
                cycle.hunt(hunt, on_copies)
            con.execute("SET search_path = 'main'")
            for analytic in due_analytics:
                cycle.analytic(analytic, connection_query(con), starts.get(mark(analytic.id)))
        finally:
            con.close()

    if sigma is not None:
        if mark(SIGMA_ID) >= last_seq:
            report.outcomes.append(Outcome(SIGMA_ID, "sigma", skipped=True))
        else:
            rules = sigma
            cycle.run(SIGMA_ID, "sigma", lambda: rules.run(engine, tenant_slug, after_seq=mark(SIGMA_ID)))
    t0 = time.perf_counter()
    _store(db, tenant_id, cycle.pending, last_seq, report)
    report.store_seconds = time.perf_counter() - t0
    report.seconds = time.perf_counter() - started
    return report


def _hunt_on_query_engine(
    engine: Engine, tenant: str, hunts: list[Hunt], timeout_s: float | None, cycle: _Cycle
) -> None:
    local = duckdb.connect(":memory:")

    def remote_rows_grouped_here(hunt: Hunt) -> list[LeadCandidate]:
        local.register("hunt_rows", engine.query(hunt.sql, tenant, timeout_s=timeout_s))
        try:
            return hunt_candidates(local, dataclasses.replace(hunt, query="SELECT * FROM hunt_rows"))
        finally:
            local.unregister("hunt_rows")

    try:
        for hunt in hunts:
            cycle.hunt(hunt, remote_rows_grouped_here)
    finally:
        local.close()


@dataclass
class _Cycle:
    """What one hunt cycle collects: each hunt's, analytic's and rule set's outcome and leads, saved together."""

    report: HuntReport
    progress: Progress | None
    filled: set[str]  # tables that hold rows
    pending: list[tuple[Outcome, list[LeadCandidate], dt.timedelta]] = field(default_factory=list)

    def hunt(self, hunt: Hunt, candidates: Callable[[Hunt], list[LeadCandidate]]) -> None:
        if hunt.tables & self.filled:
            self.run(hunt.id, "hunt", lambda: candidates(hunt), hunt.window_minutes)
        else:  # every table it reads is empty: no rows, nothing to run
            self.run(hunt.id, "hunt", list)

    def analytic(self, analytic: Analytic, query: Query, since: dt.datetime | None) -> None:
        self.run(analytic.id, "analytic", lambda: analytic.run(query, since), analytic.window_minutes)

    def run(
        self, unit_id: str, source: str, produce: Callable[[], Iterable[LeadCandidate]], window_minutes: int = 0
    ) -> None:
        """Run one unit: its candidates, or its error (the others still run), and its time."""
        if self.progress:
            self.progress(unit_id)
        outcome = Outcome(unit_id, source)
        t0 = time.perf_counter()
        try:
            cands = list(produce())
        except (QueryError, duckdb.Error, ValueError) as exc:
            outcome.error = str(exc).splitlines()[0][:500]
            cands = []
        self.pending.append((outcome, cands, dt.timedelta(minutes=window_minutes)))
        outcome.seconds = time.perf_counter() - t0
        self.report.outcomes.append(outcome)


def _store(
    db: Database,
    tenant_id: int,
    pending: list[tuple[Outcome, list[LeadCandidate], dt.timedelta]],
    last_seq: int,
    report: HuntReport,
) -> None:
    """Save every unit's leads and move the watermarks of those that did not fail, in one transaction."""
    with db.session() as s:
        for outcome, cands, gap in pending:
            saved = save_candidates(s, tenant_id, cands, gap=gap) if cands else SaveResult()
            wm = s.get(HuntWatermark, (tenant_id, outcome.id))
            if wm is None:
                wm = HuntWatermark(tenant_id=tenant_id, hunt_id=outcome.id, last_seq=0)
                s.add(wm)
            wm.last_run_at = utcnow()
            wm.last_error = outcome.error
            if outcome.error is None:
                wm.last_seq = last_seq
            outcome.candidates = len(cands)
            outcome.added = saved.added
            outcome.extended = saved.extended
            report.candidates.extend(cands)


class _NewDataStarts:
    """Earliest event time in the batches after a watermark (cached per watermark)."""

    def __init__(self, engine: DuckDBEngine, tenant: str) -> None:
        self.engine = engine
        self.tenant = tenant
        self.cache: dict[int, dt.datetime | None] = {0: None}

    def get(self, after_seq: int) -> dt.datetime | None:
        if after_seq not in self.cache:
            parts = " UNION ALL ".join(f'SELECT min("Timestamp") AS m FROM "{t.name}"' for t in TABLES)
            got = self.engine.query(f"SELECT min(m) AS m FROM ({parts})", self.tenant, after_seq=after_seq)
            self.cache[after_seq] = got.column("m")[0].as_py()
        return self.cache[after_seq]


def _minus(start: dt.datetime | None, minutes: int) -> dt.datetime | None:
    return None if start is None else start - dt.timedelta(minutes=minutes)


@functools.lru_cache(maxsize=4096)
def _columns_used(sql: str) -> frozenset[str] | None:
    """Column names a query mentions, or None when it selects ``*`` (needs every column)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    if any(isinstance(s, exp.Star) for s in tree.find_all(exp.Star)):
        return None
    return frozenset(c.name for c in tree.find_all(exp.Column))


def _materialize(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    hunts: Sequence[Hunt],
    cutoffs: dict[str, dt.datetime | None],
    max_rows: int,
) -> None:
    """Copy each table the hunts read into schema ``recent``: needed columns, rows from the earliest cutoff."""
    needs: dict[str, dict[str, Any]] = {}
    for hunt in hunts:
        used = _columns_used(hunt.query)
        for name in hunt.tables:
            need = needs.setdefault(name, {"cols": set(), "all": False, "cutoffs": []})
            need["all"] |= used is None
            need["cols"] |= used or set()
            need["cutoffs"].append(cutoffs[hunt.id])
    # RawEvents: decoding its field maps is the cost of every scan, so its copy holds only the event ids
    # the raw hunts declare (and none when one of them may read any event).
    raw_ids = [h.raw_event_ids for h in hunts if RAW_TABLE.name in h.tables]
    con.execute("CREATE SCHEMA IF NOT EXISTS recent")
    for name, need in needs.items():
        rows = sum(b.rows.get(name, 0) for b in catalog.batches)
        conditions: list[str] = []
        params: list[Any] = []
        if name == RAW_TABLE.name:
            if any(ids is None for ids in raw_ids):
                continue
            wanted = sorted({e for ids in raw_ids if ids is not None for e in ids})
            conditions.append(f'"EventID" IN ({", ".join(map(str, wanted))})')
            counted = con.execute(f'SELECT count(*) FROM main."{name}" WHERE {conditions[0]}').fetchone()
            rows = counted[0] if counted else 0
        if rows == 0 or rows > max_rows:
            continue  # empty or too big for memory: hunts read the view over Parquet directly
        names = table(name).names
        cols = names if need["all"] else [c for c in names if c in need["cols"] or c in ("Timestamp", "EventKey")]
        select_list = ", ".join(f'"{c}"' for c in cols)
        if all(c is not None for c in need["cutoffs"]):
            conditions.append('"Timestamp" >= ?')
            params.append(min(need["cutoffs"]))
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        con.execute(f'CREATE TABLE recent."{name}" AS SELECT {select_list} FROM main."{name}"{where}', params)


def hunt_candidates(
    con: duckdb.DuckDBPyConnection, hunt: Hunt, *, timeout_s: float | None = None
) -> list[LeadCandidate]:
    """Run one hunt's query and group its rows into leads (session gap ``window_minutes`` per group).

    Entity values are lower-cased: Windows names are case-insensitive and stories join leads on them.
    """
    columns = set(con.sql(hunt.sql).columns)
    aggregate = "EventKeys" in columns
    required = _AGG_COLUMNS if aggregate else _ROW_COLUMNS
    missing = [c for c in (*required, *hunt.output_columns) if c not in columns]
    if missing:
        raise ValueError(f"hunt {hunt.id}: result lacks column(s) {', '.join(missing)}")
    last = '"LastSeen"' if aggregate else '"Timestamp"'
    keys = 'CAST("EventKeys" AS VARCHAR[])' if aggregate else '[CAST("EventKey" AS VARCHAR)]'
    part = ", ".join(f'"{c}"' for c in hunt.group_by)
    group_sel = ", ".join(f'CAST("{c}" AS VARCHAR) AS "g_{i}"' for i, c in enumerate(hunt.group_by))
    group_cols = ", ".join(f'"g_{i}"' for i in range(len(hunt.group_by)))
    entity_cols = dict(hunt.entities)
    entity_cols.setdefault("device", "DeviceName")
    entity_sel = ", ".join(
        f'list(DISTINCT lower(CAST("{col}" AS VARCHAR))) FILTER (WHERE "{col}" IS NOT NULL) AS "e_{kind}"'
        for kind, col in entity_cols.items()
    )
    details_sel = ', list(to_json("Details"))[1:20] AS details' if "Details" in columns else ""
    sql = f"""
        WITH __r AS ({hunt.sql}),
        __n AS (
            SELECT *, "Timestamp" AS __first, {last} AS __last, {keys} AS __keys, {group_sel}
            FROM __r WHERE "Timestamp" IS NOT NULL
        ),
        __s AS (
            SELECT *, CASE WHEN max(__last) OVER (PARTITION BY {part} ORDER BY __first
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= __first - INTERVAL {hunt.window_minutes} MINUTE
                THEN 0 ELSE 1 END AS __new
            FROM __n
        ),
        __t AS (SELECT *, sum(__new) OVER (PARTITION BY {part} ORDER BY __first ROWS UNBOUNDED PRECEDING) AS __sid
                FROM __s)
        SELECT {group_cols}, min(__first) AS first_seen, max(__last) AS last_seen, count(*) AS hits,
               list_sort(list_distinct(flatten(list(__keys)))) AS keys, {entity_sel}{details_sel}
        FROM __t GROUP BY {group_cols}, __sid ORDER BY first_seen
    """
    result = run_with_timeout(con, sql, None, timeout_s).to_pylist()
    out = []
    for row in result:
        group = tuple("" if row[f"g_{i}"] is None else row[f"g_{i}"] for i in range(len(hunt.group_by)))
        details: dict[str, Any] = {"hits": row["hits"]}
        if row.get("details"):
            details["rows"] = [orjson.loads(d) for d in row["details"] if d is not None]
        out.append(
            LeadCandidate(
                hunt_id=hunt.id,
                source="hunt",
                title=hunt.title,
                severity=hunt.severity,
                confidence=hunt.confidence,
                tactics=list(hunt.tactics),
                techniques=list(hunt.techniques),
                first_seen=row["first_seen"],
                last_seen=row["last_seen"],
                evidence=[k for k in row["keys"] if k],
                entities={kind: row[f"e_{kind}"] or [] for kind in entity_cols},
                description=hunt.description,
                details=details,
                group=group,
                evidence_table=hunt.table,
            )
        )
    return out


def load_sigma(dirs: Sequence[Path | str]) -> SigmaRunner:
    """Compile the Sigma rules of these folders (``huntwatch.hunting.sigma.SigmaRuleSet``)."""
    try:
        from huntwatch.hunting.sigma import SigmaRuleSet  # type: ignore[attr-defined]
    except ImportError:  # the subpackage exports it from its ruleset module
        from huntwatch.hunting.sigma.ruleset import SigmaRuleSet
    return SigmaRuleSet.load([Path(d) for d in dirs])
