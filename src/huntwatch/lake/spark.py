"""The scale-out engine: the same lake and the same DuckDB-dialect SQL, run on Apache Spark.

Hunts are written once, in DuckDB SQL. ``to_spark_sql`` transpiles them with sqlglot and repairs what a
plain transpilation gets wrong or makes dangerous on Spark: DuckDB regex flags (dropped by sqlglot),
``regexp_full_match``, ``$n`` placeholders, and unanchored ``.*(a|b).*`` patterns, which make Java's
backtracking regex quadratic on long fields (they hung workers beyond cancellation in a trial) and are
turned into substring tests or unpadded regexes, which mean the same under Spark's find semantics.

``SparkEngine`` reads exactly the files the tenant catalogs list (so a reader never sees half a batch,
as with DuckDB), runs every query under its own job group with a timer that cancels it, and returns
Arrow tables, so callers cannot tell the engines apart except by speed.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from huntwatch.lake.engine import DuckDBEngine, Engine, QueryError
from huntwatch.lake.store import Batch, LakeError, LakeStore, check_tenant
from huntwatch.schema import TABLES, arrow_schema

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Characters that make a regex more than a literal string.
_REGEX_META = set(".^$*+?()[]{}|\\")
# Escapes that stand for the character itself.
_LITERAL_ESCAPES = set(".^$*+?()[]{}|\\/-")


@dataclass(frozen=True)
class SparkSQL:
    """A transpiled query: Spark SQL text and, for ``$n`` placeholders, which parameter each ``?`` takes."""

    sql: str
    param_order: tuple[int, ...] | None = None

    def bind(self, params: Sequence[object] | None) -> list[object]:
        values = list(params or [])
        if self.param_order is None:
            return values
        try:
            return [values[i] for i in self.param_order]
        except IndexError:
            raise QueryError(f"query needs {max(self.param_order) + 1} parameters, got {len(values)}") from None


@functools.lru_cache(maxsize=2048)
def to_spark_sql(sql: str) -> SparkSQL:
    """Transpile one DuckDB-dialect statement to Spark SQL (cached: hunts run the same SQL every cycle)."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise QueryError(f"cannot parse query: {exc}") from exc
    if len(statements) != 1:
        raise QueryError(f"expected one SQL statement, got {len(statements)}")
    tree = statements[0]
    order: list[int] = []
    numbered = False
    for node in list(tree.walk()):
        if isinstance(node, exp.Like | exp.ILike) and not isinstance(node.parent, exp.Escape):
            # DuckDB's LIKE has no escape character unless one is named; Spark's default is '\'.
            pattern = node.expression
            if isinstance(pattern, exp.Literal) and pattern.is_string and "\\" in str(pattern.this):
                pattern.replace(exp.Literal.string(str(pattern.this).replace("\\", "\\\\")))
    for node in list(tree.walk()):
        if isinstance(node, exp.Chr) and _literal_codepoints(node) is not None:
            # Spark's chr() takes the code modulo 256 (chr(8238) would be '.'); spell the character instead.
            node.replace(exp.Literal.string("".join(map(chr, _literal_codepoints(node) or []))))
        elif isinstance(node, exp.DateBin):
            node.replace(_time_bucket(node))
        elif isinstance(node, exp.Placeholder):
            if node.this is not None:
                numbered = True
                order.append(int(str(node.this)) - 1)
                node.replace(exp.Placeholder())
        elif isinstance(node, exp.RegexpFullMatch):
            node.replace(_regex_test(node.this, node.expression, None, full=True))
        elif isinstance(node, exp.RegexpLike | exp.RegexpILike):
            flag = node.args.get("flag")
            if isinstance(node, exp.RegexpILike):
                flag = exp.Literal.string("i")
            node.replace(_regex_test(node.this, node.expression, flag, full=False))
    for node in list(tree.find_all(exp.Cast)):
        if _may_be_hex(node):
            node.replace(_integer_cast(node))
    if numbered and len(order) != sum(1 for n in tree.walk() if isinstance(n, exp.Placeholder)):
        raise QueryError("do not mix '?' and '$n' parameters in one query")
    try:
        text = tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as exc:
        raise QueryError(f"cannot express the query in Spark SQL: {exc}") from exc
    return SparkSQL(text, tuple(order) if numbered else None)


def _may_be_hex(node: exp.Cast) -> bool:
    """A cast to an integer of something that may be text (not a number literal; no parameter, which the
    rewrite would repeat)."""
    value = node.this
    if not node.to.is_type(*exp.DataType.INTEGER_TYPES) or value.find(exp.Placeholder):
        return False
    return not (isinstance(value, exp.Literal) and not value.is_string)


def _integer_cast(node: exp.Cast) -> exp.Expression:
    """DuckDB casts ``'0x1F'`` to an integer (Windows writes access masks and ids in hex); Spark's cast gives
    NULL. On Spark, text that is ``0x`` and hex digits (after leading blanks, as DuckDB allows) goes through
    ``conv`` instead."""
    text = exp.cast(node.this.copy(), exp.DataType.build("string"))
    is_hex = exp.RegexpLike(this=text, expression=exp.Literal.string("^ *0[xX][0-9a-fA-F]+$"))
    digits = exp.Anonymous(
        this="CONV",
        expressions=[
            exp.RegexpExtract(
                this=text.copy(), expression=exp.Literal.string("0[xX]([0-9a-fA-F]+)$"), group=exp.Literal.number(1)
            ),
            exp.Literal.number(16),
            exp.Literal.number(10),
        ],
    )
    from_hex = node.copy()  # keeps TRY_CAST's safety and the target type
    from_hex.set("this", digits)
    return exp.Case(ifs=[exp.If(this=is_hex, true=from_hex)], default=node.copy())


def _literal_codepoints(node: exp.Chr) -> list[int] | None:
    args = node.expressions
    if args and all(isinstance(a, exp.Literal) and not a.is_string for a in args):
        return [int(str(a.this)) for a in args]
    return None


# DuckDB's time_bucket origin for sub-month widths: Monday 2000-01-03 00:00:00 UTC, in microseconds.
_BUCKET_ORIGIN_US = 946_857_600 * 1_000_000
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}


def _interval_seconds(interval: exp.Expression) -> int:
    if isinstance(interval, exp.Interval):
        amount, unit = (
            str(interval.this.this if interval.this else ""),
            str(interval.unit.this if interval.unit else ""),
        )
        if not unit:  # INTERVAL '15 minutes'
            amount, _, unit = amount.strip().partition(" ")
        unit = unit.strip().lower().rstrip("s")
        if unit in _UNIT_SECONDS:
            try:
                return int(float(amount) * _UNIT_SECONDS[unit])
            except ValueError:
                pass
    raise QueryError(f"time_bucket needs a literal interval in seconds to weeks, not {interval.sql('duckdb')}")


def _time_bucket(node: exp.DateBin) -> exp.Expression:
    """DuckDB ``time_bucket(width, ts)`` (no Spark equivalent) as arithmetic on microseconds since the epoch."""
    if node.args.get("zone") or len([a for a in node.args.values() if a is not None]) > 2:
        raise QueryError("time_bucket with an origin, offset or zone is not supported on Spark")
    width = _interval_seconds(node.this) * 1_000_000
    ts = node.expression.sql("spark")
    return sqlglot.parse_one(
        f"CAST(TIMESTAMP_MICROS({_BUCKET_ORIGIN_US} + FLOOR((UNIX_MICROS(CAST({ts} AS TIMESTAMP)) - "
        f"{_BUCKET_ORIGIN_US}) / {width}) * {width}) AS TIMESTAMP_NTZ)",
        read="spark",
    )


def _regex_test(subject: exp.Expression, pattern: exp.Expression, flag: exp.Expression | None, *, full: bool):
    """A Spark expression testing ``subject`` against a regex, with DuckDB's flags kept and traps defused."""
    if not isinstance(pattern, exp.Literal) or not pattern.is_string:
        return exp.RegexpLike(this=subject, expression=pattern)
    flags = ""
    if flag is not None:
        if not isinstance(flag, exp.Literal):
            raise QueryError("regex options must be a literal string")
        flags = str(flag.this)
        unknown = set(flags) - {"i", "c", "s", "m", "n", "p", "l", "g"}
        if unknown:
            raise QueryError(f"unsupported regex options {''.join(sorted(unknown))!r}")
    text = str(pattern.this)
    inline = ""
    m = re.match(r"^\(\?([a-z]+)\)", text)
    if m:
        inline, text = m.group(1), text[m.end() :]
    # DuckDB: the last of 'i' (insensitive) / 'c' (sensitive) wins; 'l' means the pattern is a literal.
    case_flags = [f for f in flags if f in "ic"]
    insensitive = "i" in inline if not case_flags else case_flags[-1] == "i"
    if "l" in flags:
        return _substring_test(subject, [text], insensitive) if not full else exp.EQ(this=subject, expression=pattern)
    if full:
        text = f"^(?:{text})$"
    else:
        text = _strip_padding(text)
        literals = _literal_alternatives(text)
        if literals is not None:
            return _substring_test(subject, literals, insensitive)
    kept = ("i" if insensitive else "") + inline.replace("i", "")
    return exp.RegexpLike(this=subject, expression=exp.Literal.string((f"(?{kept})" if kept else "") + text))


def _strip_padding(text: str) -> str:
    """Drop an unanchored leading/trailing ``.*``: under find semantics it changes nothing but the cost."""
    while text.startswith(".*") and not text.startswith(".*?"):
        text = text[2:]
    while text.endswith(".*") and not _escaped(text, len(text) - 2):
        text = text[:-2]
    return text


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    i = index - 1
    while i >= 0 and text[i] == "\\":
        backslashes += 1
        i -= 1
    return backslashes % 2 == 1


def _literal_alternatives(text: str) -> list[str] | None:
    """``(a|b|c)``, ``(?:a|b)`` or ``a|b`` of plain literals → the literals; anything else → None."""
    for opener in ("(?:", "("):
        if text.startswith(opener) and text.endswith(")") and not _escaped(text, len(text) - 1):
            inner = text[len(opener) : -1]
            if _balanced_free(inner):
                text = inner
            break
    out: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in _LITERAL_ESCAPES:
                return None
            current.append(text[i + 1])
            i += 2
            continue
        if ch == "|":
            out.append("".join(current))
            current = []
        elif ch in _REGEX_META:
            return None
        else:
            current.append(ch)
        i += 1
    out.append("".join(current))
    if any(not s for s in out):
        return None
    return out


def _balanced_free(inner: str) -> bool:
    """True when ``inner`` holds no unescaped parenthesis, so stripping the outer pair keeps its meaning."""
    return not any(ch in "()" and not _escaped(inner, i) for i, ch in enumerate(inner))


def _substring_test(subject: exp.Expression, literals: list[str], insensitive: bool) -> exp.Expression:
    tests: list[exp.Expression] = []
    for lit in literals:
        like = "%" + lit.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        cls = exp.ILike if insensitive else exp.Like
        tests.append(cls(this=subject.copy(), expression=exp.Literal.string(like)))
    return exp.paren(exp.or_(*tests)) if len(tests) > 1 else tests[0]


@dataclass
class _Scope:
    """A Spark session whose views show one set of tenants at one catalog state; queries take its lock."""

    session: SparkSession
    lock: threading.Lock = field(default_factory=threading.Lock)


class SparkEngine:
    """Runs hunting SQL on Apache Spark over the Parquet lake; ``master`` is ``local[N]`` or ``spark://H:P``."""

    def __init__(
        self,
        root: Path | str,
        master: str = "local[2]",
        *,
        app_name: str = "huntwatch",
        conf: Mapping[str, str] | None = None,
        default_timeout_s: float = 600.0,
        shuffle_partitions: int | None = None,
        log_level: str = "FATAL",
        scope_cache: int = 8,
    ) -> None:
        self.store = LakeStore(root)
        self.master = master
        self.app_name = app_name
        self.conf = dict(conf or {})
        self.default_timeout_s = default_timeout_s
        self.shuffle_partitions = shuffle_partitions
        self.log_level = log_level
        self._scope_cache = scope_cache
        self._spark: SparkSession | None = None
        self._scopes: OrderedDict[tuple[Any, ...], _Scope] = OrderedDict()
        self._lock = threading.Lock()

    # -- session ---------------------------------------------------------------------------------------

    @property
    def spark(self) -> SparkSession:
        """The Spark session, started on first use (a start costs 10-20 s)."""
        with self._lock:
            if self._spark is None or self._spark.sparkContext._jsc is None:
                self._spark = self._start()
                self._scopes.clear()
            return self._spark

    def _start(self) -> SparkSession:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession

        active = SparkContext._active_spark_context
        if active is not None and active.master != self.master:
            raise LakeError(
                f"a Spark session with master {active.master} already runs in this process; "
                f"close it before starting one for {self.master}"
            )
        local = self.master.startswith("local")
        partitions = self.shuffle_partitions or (4 if local else 64)
        builder = (
            SparkSession.builder.master(self.master)
            .appName(self.app_name)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(partitions))
            .config("spark.ui.enabled", "false")
            # Compiled Sigma statements carry hundreds of predicates; planning them needs more than 1 GB.
            .config("spark.driver.memory", "2g")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            # Views list exact catalog files: stat them on the driver rather than in a Spark job per view.
            .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
            .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
            .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        )
        if not local:
            # A cancelled task stuck in a regex ignores interrupts: the reaper kills its executor instead.
            builder = (
                builder.config("spark.task.reaper.enabled", "true")
                .config("spark.task.reaper.killTimeout", "60s")
                .config("spark.network.timeout", "120s")
            )
        for key, value in self.conf.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel(self.log_level)
        # PySpark logs each failed query as an ERROR with its JVM stack; callers get a QueryError instead.
        logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
        return session

    def close(self) -> None:
        """Stop the Spark session (and its executors); the engine starts a new one if used again."""
        with self._lock:
            if self._spark is not None:
                self._spark.stop()
            self._spark = None
            self._scopes.clear()

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- Engine ----------------------------------------------------------------------------------------

    def tenants(self) -> list[str]:
        return self.store.tenants()

    def append(self, tenant: str, tables: Mapping[str, pa.Table], sources: Sequence[str] = ()) -> Batch | None:
        with self.store.writer(tenant) as writer:
            return writer.commit(tables, list(sources))

    def query(
        self,
        sql: str,
        tenant: str | Sequence[str],
        *,
        params: Sequence[object] | None = None,
        inputs: Mapping[str, pa.Table] | None = None,
        after_seq: int = 0,
        timeout_s: float | None = None,
    ) -> pa.Table:
        """Run DuckDB-dialect SQL over the tenant(s)' schema tables on Spark; the result comes back as Arrow."""
        tenants = [tenant] if isinstance(tenant, str) else list(tenant)
        for t in tenants:
            check_tenant(t)
        for name in inputs or {}:
            if not _IDENT_RE.match(name) or name in {t.name for t in TABLES}:
                raise QueryError(f"invalid input name {name!r}")
        compiled = to_spark_sql(sql)
        args = compiled.bind(params)
        scope = self._scope(tenants, after_seq)
        with scope.lock:
            session = scope.session
            for name, data in (inputs or {}).items():
                session.createDataFrame(data).createOrReplaceTempView(name)
            try:
                return self._collect(session, compiled.sql, args, timeout_s or self.default_timeout_s)
            finally:
                for name in inputs or {}:
                    session.catalog.dropTempView(name)

    # -- internals -------------------------------------------------------------------------------------

    def _scope(self, tenants: list[str], after_seq: int) -> _Scope:
        """A session with the schema views for these tenants, reused while their catalogs do not change."""
        catalogs = {t: self.store.catalog(t) for t in tenants}
        key = (tuple(tenants), after_seq, tuple(tuple(b.id for b in c.batches) for c in catalogs.values()))
        spark = self.spark
        with self._lock:
            scope = self._scopes.get(key)
            if scope is not None:
                self._scopes.move_to_end(key)
                return scope
        session = spark.newSession()
        for table in TABLES:
            paths = [
                str(self.store.tenant_dir(t) / rel)
                for t, c in catalogs.items()
                for rel in c.files(table.name, after_seq)
            ]
            _frame(session, table.name, paths).createOrReplaceTempView(table.name)
        scope = _Scope(session)
        with self._lock:
            self._scopes[key] = scope
            while len(self._scopes) > self._scope_cache:
                self._scopes.popitem(last=False)
        return scope

    def _collect(self, session: SparkSession, sql: str, args: list[object], timeout_s: float) -> pa.Table:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        sc = session.sparkContext
        group = f"huntwatch-{uuid.uuid4().hex}"
        timed_out = threading.Event()

        def _cancel() -> None:
            timed_out.set()
            sc.cancelJobGroup(group)

        sc.setJobGroup(group, "huntwatch query", interruptOnCancel=True)
        timer = threading.Timer(timeout_s, _cancel)
        timer.daemon = True
        timer.start()
        try:
            frame = session.sql(sql, args=args) if args else session.sql(sql)
            return _normalise(frame.toArrow())
        except (PySparkException, Py4JError) as exc:
            if timed_out.is_set():
                raise QueryError(f"query stopped after the {timeout_s:g} s time limit") from exc
            raise QueryError(_short(exc)) from exc
        finally:
            timer.cancel()
            sc.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]


def _frame(session: SparkSession, table: str, paths: list[str]) -> DataFrame:
    """The table's rows from exactly these files, typed by the schema (older files lacking a column give NULL)."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = from_arrow_schema(arrow_schema(table))
    if paths:
        return session.read.schema(schema).parquet(*paths).select(*schema.names)
    return session.range(0).select(*(F.lit(None).cast(f.dataType).alias(f.name) for f in schema.fields))


def _normalise(result: pa.Table) -> pa.Table:
    """Present results as DuckDB does: nullable columns, and timestamps as zone-less UTC like the schema's.

    Spark returns some expressions (``date_trunc``, ``now()``) as session-zone timestamps; the session
    zone is UTC, so dropping the zone keeps the instant.
    """
    fields = []
    for f in result.schema:
        kind = f.type
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            kind = pa.timestamp(kind.unit)
        fields.append(pa.field(f.name, kind, nullable=True))
    schema = pa.schema(fields)
    return result if schema == result.schema else result.cast(schema)


def _short(exc: BaseException) -> str:
    text = getattr(exc, "getMessage", None)
    message = text() if callable(text) else str(exc)
    return message.strip().split("\n\tat ", 1)[0].split("\nJVM stacktrace:", 1)[0][:2000]


def engine_from_options(engine: str = "duckdb", master: str | None = None, lake: Path | str | None = None) -> Engine:
    """The engine a command line asked for: ``duckdb`` (embedded) or ``spark`` (``--spark-master``)."""
    from huntwatch.config import settings

    root = Path(lake) if lake else settings().lake_path
    if engine == "duckdb":
        if master:
            raise LakeError("--spark-master only applies to --engine spark")
        return DuckDBEngine(root)
    if engine == "spark":
        return SparkEngine(root, master=master or "local[2]")
    raise LakeError(f"unknown engine {engine!r}; use duckdb or spark")
