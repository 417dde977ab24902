"""``huntwatch model train|evaluate|list|activate|score|noise|anomalies``: the hunter-trained AI."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import click
from rich.console import Console

from huntwatch.ai import (
    activate,
    evaluate,
    find_anomalies,
    lab_corpus,
    lab_specs,
    list_versions,
    load_active,
    noise_budget,
    score_stories,
    train,
)
from huntwatch.ai.evaluate import dataset_examples
from huntwatch.ai.ranking import TrainingError
from huntwatch.ai.registry import RegistryError
from huntwatch.ai.training import EVAL_SEEDS, TRAIN_SEEDS
from huntwatch.cli._output import FORMATS, emit_json, emit_rows
from huntwatch.config import settings
from huntwatch.lake import DuckDBEngine
from huntwatch.state import Database

_err = Console(stderr=True)


def _env() -> tuple[DuckDBEngine, Database]:
    cfg = settings()
    db = Database(cfg.database_url)
    db.create_all()
    return DuckDBEngine(cfg.lake_path), db


def _progress(name: str) -> None:
    _err.print(f"[dim]lab tenant {name}[/]")


def _shared() -> Path:
    return Path(__file__).resolve().parents[3] / ".." / "shared"


def register(group: click.Group) -> None:
    @group.group("model")
    def model() -> None:
        """The ranking model trained on expert verdicts, anomaly leads and the noise budget."""

    @model.command("train")
    @click.option(
        "--lab-tenants", default=len(TRAIN_SEEDS), show_default=True, help="Cold-start lab tenants (0: none)."
    )
    @click.option("--lab-devices", default=16, show_default=True)
    @click.option("--lab-days", default=2, show_default=True)
    @click.option("--seed", default=0, show_default=True, help="Same seed and data, same model.")
    @click.option("--activate/--no-activate", "make_active", default=True, show_default=True)
    @click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
    def train_cmd(lab_tenants: int, lab_devices: int, lab_days: int, seed: int, make_active: bool, fmt: str) -> None:
        """Train on every expert verdict plus lab ground truth; save a version with its metrics."""
        _, db = _env()
        specs = lab_specs(list(TRAIN_SEEDS)[:lab_tenants], devices=lab_devices, days=lab_days) if lab_tenants else []
        lab = lab_corpus(specs, progress=_progress) if specs else []
        try:
            row, _ = train(db, lab=lab, seed=seed, activate=make_active, params={"lab_tenants": lab_tenants})
        except TrainingError as exc:
            raise click.ClickException(str(exc)) from exc
        out = {"version": row.version, "active": row.active, "path": row.path, "metrics": row.metrics}
        if fmt == "json":
            emit_json(out)
            return
        emit_rows(
            [{"metric": k, "value": v} for k, v in row.metrics.items()], ["metric", "value"], fmt, title=row.version
        )

    @model.command("list")
    @click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
    def list_cmd(fmt: str) -> None:
        """Every model version, newest first; the active one is marked."""
        _, db = _env()
        rows = [
            {
                "version": v.version,
                "kind": v.kind,
                "active": v.active,
                "created_at": v.created_at.isoformat(timespec="seconds"),
                "examples": v.metrics.get("examples"),
                "cv_auroc": v.metrics.get("cv_auroc"),
            }
            for v in list_versions(db)
        ]
        emit_rows(rows, ["version", "kind", "active", "created_at", "examples", "cv_auroc"], fmt, title="Models")

    @model.command("activate")
    @click.argument("version")
    def activate_cmd(version: str) -> None:
        """Make VERSION the active model (rollback: activate an older version)."""
        _, db = _env()
        try:
            row = activate(db, version)
        except RegistryError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"active {row.kind} model: {row.version}")

    @model.command("score")
    @click.option("--tenant", required=True)
    @click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
    def score_cmd(tenant: str, fmt: str) -> None:
        """Write Story.score and its explanation for every story of a tenant; show the budgeted queue."""
        engine, db = _env()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                report = score_stories(db, tenant, engine=engine)
            except ValueError as exc:
                raise click.ClickException(str(exc)) from exc
        for w in caught:
            _err.print(f"[yellow]warning:[/] {w.message}")
        if fmt == "json":
            emit_json(report.as_dict())
            return
        rows = [
            {"story": k, "score": v, "queued": k in report.queued, "why_waiting": report.suppressed.get(k, "")}
            for k, v in sorted(report.scores.items(), key=lambda kv: -kv[1])
        ]
        title = f"{tenant}: {report.model_version or 'prior'}, queue threshold {report.queue_threshold}"
        emit_rows(rows, ["story", "score", "queued", "why_waiting"], fmt, title=title)

    @model.command("noise")
    @click.option("--tenant", required=True)
    @click.option("--budget", default=3.0, show_default=True, help="Stories per 100 devices per week.")
    @click.option("--devices", type=int, default=None, help="Device count (default: from the lake).")
    @click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
    def noise_cmd(tenant: str, budget: float, devices: int | None, fmt: str) -> None:
        """The tenant's noise budget: published rate, the queue threshold, what was suppressed and why."""
        engine, db = _env()
        try:
            report = noise_budget(db, tenant, engine=engine, devices=devices, budget=budget)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        if fmt == "json":
            emit_json(report.as_dict())
            return
        Console().print(
            f"{tenant}: {report.devices} devices, {report.weeks} weeks, "
            f"budget {report.budget_per_100_per_week}/100/week"
            f" → {report.allowed} stories; published {report.published} "
            f"({report.published_rate_per_100_per_week}/100/week); threshold {report.threshold}"
        )
        rows = [{**r, "queued": True} for r in report.queued] + [{**r, "queued": False} for r in report.suppressed]
        emit_rows(rows, ["story_id", "score", "queued", "reason", "title"], fmt, title="Queue")

    @model.command("anomalies")
    @click.option("--tenant", required=True)
    @click.option("--baseline-days", default=1.0, show_default=True)
    @click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
    def anomalies_cmd(tenant: str, baseline_days: float, fmt: str) -> None:
        """Raise anomaly leads for device-hours no hunt matched (isolation forest over hourly behaviour)."""
        engine, db = _env()
        report, cands = find_anomalies(engine, db, tenant, baseline_days=baseline_days)
        if fmt == "json":
            emit_json({**report.as_dict(), "leads": [c.title for c in cands]})
            return
        Console().print(
            f"{report.device_hours} device-hours, {report.baseline_hours} in the baseline (until {report.cutoff}); "
            f"{len(report.flagged)} unusual, {report.skipped_covered} already covered by leads, "
            f"{report.added} new leads" + (f" ({report.note})" if report.note else "")
        )
        emit_rows([{"lead": c.title, "severity": c.severity} for c in cands], ["lead", "severity"], fmt)

    @model.command("evaluate")
    @click.option("--lab-tenants", default=len(TRAIN_SEEDS), show_default=True, help="Training pool for the curve.")
    @click.option("--heldout-tenants", default=len(EVAL_SEEDS), show_default=True)
    @click.option("--lab-devices", default=16, show_default=True)
    @click.option("--lab-days", default=2, show_default=True)
    @click.option("--datasets/--no-datasets", default=True, show_default=True, help="Also ../shared/datasets.")
    @click.option("--per-class", default=12, show_default=True, help="Recordings per class from the datasets.")
    @click.option("--curve", default="0,50,200,1000", show_default=True, help="Verdict counts of the learning curve.")
    @click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
    def evaluate_cmd(
        lab_tenants: int,
        heldout_tenants: int,
        lab_devices: int,
        lab_days: int,
        datasets: bool,
        per_class: int,
        curve: str,
        fmt: str,
    ) -> None:
        """Precision@k, recall, AUROC and the p95 target on held-out lab tenants and datasets; learning curve."""
        _, db = _env()
        loaded = load_active(db)
        if loaded.warning:
            _err.print(f"[yellow]warning:[/] {loaded.warning}")
        heldout = lab_corpus(
            lab_specs(list(EVAL_SEEDS)[:heldout_tenants], devices=lab_devices, days=lab_days), progress=_progress
        )
        pool_specs = lab_specs(list(TRAIN_SEEDS)[:lab_tenants], devices=lab_devices, days=lab_days)
        pool = lab_corpus(pool_specs, progress=_progress) if pool_specs else []
        data = []
        if datasets and _shared().exists():
            with tempfile.TemporaryDirectory() as tmp:
                data = dataset_examples(_shared(), Path(tmp), per_class=per_class)
        sizes = [int(x) for x in curve.split(",") if x.strip()]
        report = evaluate(heldout, model=loaded.model, pool=pool, datasets=data, sizes=sizes)
        report["model_version"] = loaded.version if loaded.model else None
        if fmt == "json":
            emit_json(report)
            return
        rows = []
        for where in ("heldout_lab", "datasets"):
            for scorer, units in report.get(where, {}).items():
                for unit, m in units.items():
                    rows.append({"set": where, "scorer": scorer, "unit": unit, **m})
        cols = ["set", "scorer", "unit", "n", "attacks", "auroc", "precision_at_10", "recall_at_0.5"]
        emit_rows(rows, [*cols, "attacks_above_benign_p95", "target_met"], fmt, title="Ranking quality")
        curve_rows = [
            {
                "verdicts": p["verdicts"],
                "used": p["used"],
                "story_auroc": p["story"].get("auroc"),
                "lead_auroc": p["lead"].get("auroc"),
                "story_p95": p["story"].get("attacks_above_benign_p95"),
                "lead_p95": p["lead"].get("attacks_above_benign_p95"),
            }
            for p in report.get("learning_curve", [])
        ]
        emit_rows(
            curve_rows,
            ["verdicts", "used", "story_auroc", "lead_auroc", "story_p95", "lead_p95"],
            fmt,
            title="Learning curve",
        )
