"""Self-evaluation: ingest each labelled recording into its own tenant, hunt, and score the leads.

``coverage_tactic`` is the share of labelled recordings with at least one lead tagged with one of the
recording's labelled tactics; ``coverage_any`` the share with any lead at all. Per tactic T, ``hit``
is the share of recordings labelled T that got a lead tagged T. Tactic names are compared in their
pre-v19 form (Sigma's v19 Stealth counts as Defense Evasion). Ingestion is passed in as a function so
this package does not import the ingest pipeline (same floor).
"""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from huntwatch.hunting.attack import TACTIC_ORDER, canonical_tactic

IngestFn = Callable[..., Any]  # (engine, tenant, [path]) -> report; huntwatch.ingest.ingest_paths fits


@dataclass(frozen=True)
class Recording:
    path: str  # relative to the dataset folder, as in labels.csv
    tactics: tuple[str, ...]
    techniques: tuple[str, ...] = ()


@dataclass
class RecordingResult:
    path: str
    tactics: list[str]
    leads: int = 0
    lead_tactics: list[str] = field(default_factory=list)
    hunts: list[str] = field(default_factory=list)
    events: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def hit_tactic(self) -> bool:
        return bool(set(self.tactics) & set(self.lead_tactics))


@dataclass
class EvalReport:
    recordings: list[RecordingResult]
    seconds: float
    skipped_unlabelled: int = 0

    @property
    def coverage_tactic(self) -> float:
        return _share([r.hit_tactic for r in self.recordings])

    @property
    def coverage_any(self) -> float:
        return _share([r.leads > 0 for r in self.recordings])

    @property
    def median_leads(self) -> float:
        return float(statistics.median(r.leads for r in self.recordings)) if self.recordings else 0.0

    def per_tactic(self) -> list[dict[str, Any]]:
        out = []
        for tactic in TACTIC_ORDER:
            mine = [r for r in self.recordings if tactic in r.tactics]
            if mine:
                out.append(
                    {
                        "tactic": tactic,
                        "recordings": len(mine),
                        "coverage_tactic": round(_share([tactic in r.lead_tactics for r in mine]), 3),
                        "coverage_any": round(_share([r.leads > 0 for r in mine]), 3),
                    }
                )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "recordings": len(self.recordings),
            "skipped_unlabelled": self.skipped_unlabelled,
            "coverage_tactic": round(self.coverage_tactic, 3),
            "coverage_any": round(self.coverage_any, 3),
            "median_leads": self.median_leads,
            "events": sum(r.events for r in self.recordings),
            "seconds": round(self.seconds, 1),
            "errors": [{"path": r.path, "error": r.error} for r in self.recordings if r.error],
            "per_tactic": self.per_tactic(),
            "missed": [r.path for r in self.recordings if not r.hit_tactic],
        }


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def read_labels(labels_csv: Path | str) -> tuple[list[Recording], int]:
    """Labelled recordings of a ``labels.csv`` (path, source, tactics, techniques, ...) and the unlabelled count."""
    recs: list[Recording] = []
    unlabelled = 0
    with open(labels_csv, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            tactics = []
            for name in (row.get("tactics") or "").split(";"):
                if name.strip():
                    try:
                        tactics.append(canonical_tactic(name))
                    except ValueError:
                        continue
            if not tactics:
                unlabelled += 1
                continue
            techniques = tuple(t.strip() for t in (row.get("techniques") or "").split(";") if t.strip())
            recs.append(Recording(row["path"], tuple(dict.fromkeys(tactics)), techniques))
    return recs, unlabelled


@dataclass(frozen=True)
class EvalSettings:
    """Everything a worker process needs to rebuild the hunting setup (picklable)."""

    home: str
    dataset_dir: str
    ingest: IngestFn
    hunt_dirs: tuple[str, ...] = ()
    builtin: bool = True
    sigma_dirs: tuple[str, ...] = ()
    analytics: bool = True


_LOADED: dict[EvalSettings, tuple[Any, Any, Any]] = {}


def _evaluate_chunk(settings: EvalSettings, chunk: int, items: list[tuple[int, Recording]]) -> list[RecordingResult]:
    from huntwatch.hunting.analytics import default_analytics
    from huntwatch.hunting.model import load_hunts
    from huntwatch.hunting.runner import load_sigma, run_hunts
    from huntwatch.lake import DuckDBEngine
    from huntwatch.state import Database

    home = Path(settings.home)
    engine = DuckDBEngine(home / "lake", threads=1)
    db = Database(f"sqlite:///{home / f'eval-{chunk:04d}.db'}")  # one per chunk: no writer contention
    db.create_all()
    if settings not in _LOADED:  # once per worker process: compiling thousands of Sigma rules takes seconds
        _LOADED.clear()
        _LOADED[settings] = (
            load_hunts(settings.hunt_dirs, builtin=settings.builtin),
            default_analytics() if settings.analytics else [],
            load_sigma(settings.sigma_dirs) if settings.sigma_dirs else None,
        )
    hunts, analytics, sigma = _LOADED[settings]
    out = []
    for index, rec in items:
        t0 = time.perf_counter()
        result = RecordingResult(rec.path, list(rec.tactics))
        tenant = f"eval-{index:05d}"
        path = Path(settings.dataset_dir) / rec.path
        try:
            if not path.exists():
                raise FileNotFoundError(f"{path} does not exist")
            ingested = settings.ingest(engine, tenant, [path])
            result.events = int(getattr(ingested, "events_written", 0))
            report = run_hunts(engine, db, tenant, hunts=hunts, analytics=analytics, sigma=sigma, since=0)
            result.leads = report.added
            result.lead_tactics = sorted({t for c in report.candidates for t in c.tactics})
            result.hunts = sorted({c.hunt_id for c in report.candidates})
            errors = [f"{o.id}: {o.error}" for o in report.errors]
            result.error = "; ".join(errors)[:1000] or None
        except Exception as exc:  # one broken recording must not stop the evaluation
            result.error = f"{type(exc).__name__}: {exc}"[:1000]
        result.seconds = time.perf_counter() - t0
        out.append(result)
    return out


def evaluate(
    labels_csv: Path | str,
    dataset_dir: Path | str,
    *,
    home: Path | str,
    ingest: IngestFn,
    hunt_dirs: Sequence[Path | str] = (),
    builtin: bool = True,
    sigma_dirs: Sequence[Path | str] = (),
    analytics: bool = True,
    workers: int = 2,
    limit: int | None = None,
    progress: Callable[[RecordingResult], None] | None = None,
) -> EvalReport:
    """Evaluate hunts (and Sigma rules) on every labelled recording, ``workers`` processes in parallel."""
    started = time.perf_counter()
    recordings, unlabelled = read_labels(labels_csv)
    if limit is not None:
        recordings = recordings[:limit]
    settings = EvalSettings(
        home=str(home),
        dataset_dir=str(dataset_dir),
        ingest=ingest,
        hunt_dirs=tuple(str(d) for d in hunt_dirs),
        builtin=builtin,
        sigma_dirs=tuple(str(d) for d in sigma_dirs),
        analytics=analytics,
    )
    items = list(enumerate(recordings))
    # Small chunks keep both workers busy to the end; each chunk reloads hunts once.
    size = max(1, min(25, len(items) // max(1, workers * 4)))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    results: list[RecordingResult] = []
    if workers <= 1:
        for n, chunk in enumerate(chunks):
            for r in _evaluate_chunk(settings, n, chunk):
                results.append(r)
                if progress:
                    progress(r)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_evaluate_chunk, settings, n, chunk) for n, chunk in enumerate(chunks)]
            for fut in as_completed(futures):
                for r in fut.result():
                    results.append(r)
                    if progress:
                        progress(r)
    order = {rec.path: i for i, rec in enumerate(recordings)}
    results.sort(key=lambda r: order[r.path])
    return EvalReport(results, time.perf_counter() - started, unlabelled)


def result_rows(report: EvalReport) -> list[dict[str, Any]]:
    return [asdict(r) | {"hit_tactic": r.hit_tactic} for r in report.recordings]
