"""The one interface every non-SQL analytic implements.

An analytic reads a tenant's whole history (baselines need the past) through a ``Query``: SQL in the lake's
DuckDB dialect, run by whichever engine holds the lake (the embedded DuckDB, or Spark, which transpiles
it). Counting and aggregation happen there; only the few aggregate rows come back, never raw events. It
yields ``LeadCandidate`` s only for findings that involve events at or after ``since`` (None: the whole
history is new), and never writes.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb

from huntwatch.hunting.leads import LeadCandidate
from huntwatch.hunting.model import Requirement

if TYPE_CHECKING:
    from huntwatch.lake import Engine

Rows = list[tuple[Any, ...]]
Query = Callable[[str, Sequence[Any]], Rows]  # (DuckDB-dialect SQL, parameters) -> result rows

SYSMON = "Microsoft-Windows-Sysmon/Operational"
SECURITY = "Security"


class Analytic(ABC):
    """A hunt written in Python: metadata like a hunt file, and a ``run`` that yields candidates."""

    id: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    severity: ClassVar[str] = "low"
    confidence: ClassVar[float] = 0.3
    tactics: ClassVar[tuple[str, ...]]
    techniques: ClassVar[tuple[str, ...]] = ()
    table: ClassVar[str]
    requires: ClassVar[tuple[Requirement, ...]] = ()
    window_minutes: ClassVar[int] = 60

    @abstractmethod
    def run(self, query: Query, since: dt.datetime | None) -> Iterator[LeadCandidate]:
        """Yield findings that involve events at or after ``since``."""

    def candidate(
        self,
        *,
        first_seen: dt.datetime,
        last_seen: dt.datetime,
        evidence: list[str],
        entities: dict[str, list[str]],
        group: tuple[str, ...],
        details: dict[str, Any],
        title: str | None = None,
    ) -> LeadCandidate:
        return LeadCandidate(
            hunt_id=self.id,
            source="analytic",
            title=title or self.title,
            severity=self.severity,
            confidence=self.confidence,
            tactics=list(self.tactics),
            techniques=list(self.techniques),
            first_seen=first_seen,
            last_seen=last_seen,
            evidence=evidence,
            entities={k: [str(x) for x in v if x is not None] for k, v in entities.items()},
            description=self.description,
            details=details,
            group=group,
            evidence_table=self.table,
        )


def since_clause(since: dt.datetime | None, column: str = "Timestamp") -> tuple[str, list[Any]]:
    """A ``AND col >= ?`` fragment and its parameter, empty when everything is new."""
    if since is None:
        return "", []
    return f' AND "{column}" >= ?', [since]


def connection_query(con: duckdb.DuckDBPyConnection) -> Query:
    """Run analytics on an open DuckDB connection (the embedded runner's, with its views)."""
    return lambda sql, params: con.execute(sql, list(params)).fetchall()


def engine_query(engine: Engine, tenant: str, timeout_s: float | None = None) -> Query:
    """Run analytics through any ``Engine`` (Spark): the aggregation runs there, rows come back as Arrow."""

    def run(sql: str, params: Sequence[Any]) -> Rows:
        table = engine.query(sql, tenant, params=list(params), timeout_s=timeout_s)
        return list(zip(*(column.to_pylist() for column in table.columns), strict=True))

    return run
