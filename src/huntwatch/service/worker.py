"""The server's background worker: one cycle hunts, correlates, ranks, auto-publishes and delivers.

The pipelines belong to other packages; each may expose ``run_cycle(db: Database, engine: DuckDBEngine)``
at package level and is called here, in floor order, when it is importable. A failing step is logged and
does not stop the others, so one broken hunt never silences delivery.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from huntwatch.lake import DuckDBEngine
from huntwatch.service.delivering import deliver_alert
from huntwatch.service.publishing import auto_publish
from huntwatch.state import Database

log = logging.getLogger("huntwatch.worker")

PIPELINES = ("huntwatch.hunting", "huntwatch.stories", "huntwatch.ai")
Step = Callable[[Database, DuckDBEngine], object]


@dataclass
class CycleReport:
    steps: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    published: list[int] = field(default_factory=list)


def pipeline_steps(modules: Sequence[str] = PIPELINES) -> list[tuple[str, Step]]:
    steps = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        step = getattr(module, "run_cycle", None)
        if callable(step):
            steps.append((name, step))
    return steps


def run_cycle(db: Database, engine: DuckDBEngine, steps: Sequence[tuple[str, Step]] | None = None) -> CycleReport:
    report = CycleReport()
    for name, step in pipeline_steps() if steps is None else steps:
        try:
            step(db, engine)
            report.steps.append(name)
        except Exception as exc:
            log.exception("worker step %s failed", name)
            report.errors[name] = f"{type(exc).__name__}: {exc}"
    try:
        with db.session() as s:
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
