"""The server's background worker: each cycle hunts, correlates and ranks every tenant with new telemetry,
then auto-publishes what tenant policies allow and delivers it.

The pipelines belong to lower floors and are called through their public functions when importable
(``hunting.run_hunts``, ``stories.service.correlate``, ``ai.scoring.score_stories``); each is incremental
(watermarks, stories that only grow), so a cycle with no new data is cheap. A failing step is recorded and
does not stop the others: one broken hunt never silences delivery.
"""

from __future__ import annotations

import importlib
import logging
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from huntwatch.config import settings
from huntwatch.lake import DuckDBEngine
from huntwatch.service.accounts import purge_expired_sessions
from huntwatch.service.delivering import deliver_alert
from huntwatch.service.publishing import auto_publish
from huntwatch.state import Database

log = logging.getLogger("huntwatch.worker")

# A step runs for one tenant: step(db, engine, tenant_slug).
Step = Callable[[Database, DuckDBEngine, str], object]

# (step name, module, function, how to call it)
PIPELINE: tuple[tuple[str, str, str, Callable[[Callable[..., object], Database, DuckDBEngine, str], object]], ...] = (
    ("hunt", "huntwatch.hunting", "run_hunts", lambda f, db, engine, tenant: f(engine, db, tenant)),
    ("correlate", "huntwatch.stories.service", "correlate", lambda f, db, engine, tenant: f(engine, db, tenant)),
    ("rank", "huntwatch.ai.scoring", "score_stories", lambda f, db, engine, tenant: f(db, tenant)),
)


@dataclass
class CycleReport:
    steps: list[str] = field(default_factory=list)  # "step:tenant" that ran
    errors: dict[str, str] = field(default_factory=dict)  # "step:tenant" -> error
    published: list[int] = field(default_factory=list)


def _bind(function: Callable[..., object], call: Callable[..., object]) -> Step:
    return lambda db, engine, tenant: call(function, db, engine, tenant)


def default_steps() -> list[tuple[str, Step]]:
    """The pipeline steps whose packages are installed, in data-flow order."""
    steps = []
    for name, module_name, attr, call in PIPELINE:
        try:
            function = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            log.info("worker step %s unavailable (%s.%s)", name, module_name, attr)
            continue
        steps.append((name, _bind(function, call)))
    return steps


def run_cycle(
    db: Database | None = None,
    engine: DuckDBEngine | None = None,
    steps: Sequence[tuple[str, Step]] | None = None,
) -> CycleReport:
    """One cycle over every tenant in the lake; ``db``/``engine`` default to the configured ones."""
    cfg = settings() if db is None or engine is None else None
    db = db or Database(cfg.database_url)  # type: ignore[union-attr]
    engine = engine or DuckDBEngine(cfg.lake_path)  # type: ignore[union-attr]
    report = CycleReport()
    for tenant in engine.tenants():
        for name, step in default_steps() if steps is None else steps:
            key = f"{name}:{tenant}"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # e.g. ranking by the prior until a model is trained
                    step(db, engine, tenant)
                report.steps.append(key)
            except Exception as exc:
                log.exception("worker step %s failed", key)
                report.errors[key] = f"{type(exc).__name__}: {exc}"
                break  # the later steps of this tenant depend on this one
    try:
        with db.session() as s:
            purge_expired_sessions(s)
            report.published = [a.id for a in auto_publish(s)]
        for alert_id in report.published:
            deliver_alert(db, alert_id)
    except Exception as exc:
        log.exception("auto-publish failed")
        report.errors["auto_publish"] = f"{type(exc).__name__}: {exc}"
    return report


class Worker:
    """Runs ``run_cycle`` every ``interval_s`` seconds on a daemon thread until ``stop()``."""

    def __init__(self, db: Database, engine: DuckDBEngine, interval_s: float = 60.0) -> None:
        self.db, self.engine, self.interval_s = db, engine, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.cycles = 0
        self.last: CycleReport | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="huntwatch-worker", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.last = run_cycle(self.db, self.engine)
            self.cycles += 1
            self._stop.wait(self.interval_s)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
