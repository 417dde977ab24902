"""``huntwatch hunts|hunt|leads|coverage|eval``: the hunting framework's commands (logic in huntwatch.hunting)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from huntwatch.cli._output import FORMATS, emit_json, emit_rows
from huntwatch.config import settings
from huntwatch.hunting.analytics import default_analytics
from huntwatch.hunting.coverage import coverage
from huntwatch.hunting.model import Hunt, HuntError, load_hunts
from huntwatch.hunting.runner import HuntReport, load_sigma, run_hunts
from huntwatch.hunting.store import list_leads
from huntwatch.lake import DuckDBEngine, LakeError
from huntwatch.state import Database

_err = Console(stderr=True)


def _env() -> tuple[DuckDBEngine, Database]:
    cfg = settings()
    db = Database(cfg.database_url)
    db.create_all()
    return DuckDBEngine(cfg.lake_path), db


def _hunts(dirs: Sequence[str], only: Sequence[str] = (), *, builtin: bool = True) -> list[Hunt]:
    try:
        hunts = load_hunts(dirs, builtin=builtin)
    except HuntError as exc:
        raise click.ClickException(str(exc)) from exc
    if only:
        unknown = set(only) - {h.id for h in hunts}
        if unknown:
            raise click.ClickException(f"unknown hunt id(s): {', '.join(sorted(unknown))}")
        hunts = [h for h in hunts if h.id in only]
    return hunts


def _sigma(dirs: Sequence[str]) -> Any:
    if not dirs:
        return None
    try:
        return load_sigma(dirs)
    except ImportError as exc:
        raise click.ClickException(f"Sigma support is not available: {exc}") from exc


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
    )


def _hunt_dirs(fn: Any) -> Any:
    fn = click.option("--no-builtin", is_flag=True, help="Leave out the built-in hunts.")(fn)
    return click.option(
        "--hunts", "hunt_dirs", multiple=True, type=click.Path(exists=True), help="Extra hunt files or folders."
    )(fn)


_sigma_dirs = click.option(
    "--sigma", "sigma_dirs", multiple=True, type=click.Path(exists=True), help="Sigma rule folder."
)


@click.group("hunts")
def hunts_group() -> None:
    """The hunt library: list, show and test hunts."""


@hunts_group.command("list")
@_hunt_dirs
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def hunts_list(hunt_dirs: tuple[str, ...], no_builtin: bool, fmt: str) -> None:
    """Every hunt with its tactics, severity and table."""
    rows = [
        {
            "id": h.id,
            "title": h.title,
            "severity": h.severity,
            "tactics": ", ".join(h.tactics),
            "techniques": ", ".join(h.techniques),
            "table": h.table,
        }
        for h in _hunts(hunt_dirs, builtin=not no_builtin)
    ]
    emit_rows(rows, ["id", "severity", "tactics", "techniques", "table", "title"], fmt, title=f"{len(rows)} hunts")


@hunts_group.command("show")
@click.argument("hunt_id")
@_hunt_dirs
def hunts_show(hunt_id: str, hunt_dirs: tuple[str, ...], no_builtin: bool) -> None:
    """One hunt in full (metadata, triage note and query)."""
    hunt = _hunts(hunt_dirs, [hunt_id], builtin=not no_builtin)[0]
    emit_json(
        {
            "id": hunt.id,
            "title": hunt.title,
            "description": hunt.description,
            "severity": hunt.severity,
            "confidence": hunt.confidence,
            "tactics": hunt.tactics,
            "techniques": hunt.techniques,
            "table": hunt.table,
            "requires": [{"channel": r.channel, "event_ids": r.event_ids} for r in hunt.requires],
            "entities": dict(hunt.entities),
            "group_by": hunt.group_by,
            "window_minutes": hunt.window_minutes,
            "false_positives": hunt.false_positives,
            "triage": hunt.triage,
            "proven_by": hunt.proven_by,
            "benign_slice": hunt.benign_slice,
            "file": str(hunt.path),
            "query": hunt.query,
        }
    )


@hunts_group.command("test")
@click.argument("hunt_ids", nargs=-1)
@_hunt_dirs
@click.option(
    "--datasets",
    type=click.Path(exists=True, file_okay=False),
    default="../shared/datasets",
    show_default=True,
    help="Folder the proven_by / benign_slice paths are relative to.",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def hunts_test(
    hunt_ids: tuple[str, ...], hunt_dirs: tuple[str, ...], no_builtin: bool, datasets: str, fmt: str
) -> None:
    """Run hunts on their proven_by files (must fire) and benign slices (must stay quiet)."""
    from huntwatch.hunting.selftest import prove_hunts
    from huntwatch.ingest import ingest_paths

    hunts = _hunts(hunt_dirs, hunt_ids, builtin=not no_builtin)
    with tempfile.TemporaryDirectory(prefix="huntwatch-hunts-test-") as tmp, _progress() as bar:
        task = bar.add_task("testing", total=None)
        results = prove_hunts(
            hunts,
            datasets,
            Path(tmp) / "lake",
            ingest_paths,
            progress=lambda msg: bar.update(task, description=msg[:60]),
        )
    rows = [
        {"hunt": r.hunt_id, "file": r.file, "expect": r.expect, "leads": r.leads, "ok": r.ok, "error": r.error}
        for r in results
    ]
    emit_rows(rows, ["hunt", "expect", "leads", "ok", "file", "error"], fmt, title="hunt tests")
    failed = [r for r in results if not r.ok]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(results)} hunt tests failed")


def _print_report(report: HuntReport, fmt: str) -> None:
    if fmt == "json":
        emit_json(
            {
                "tenant": report.tenant,
                "last_seq": report.last_seq,
                "added": report.added,
                "seconds": round(report.seconds, 3),
                "outcomes": [o.__dict__ for o in report.outcomes],
            }
        )
        return
    ran = [o for o in report.outcomes if not o.skipped]
    click.echo(
        f"{report.tenant}: {len(ran)} ran, {len(report.outcomes) - len(ran)} up to date, "
        f"{report.added} new leads, {sum(o.extended for o in ran)} extended, {len(report.errors)} errors "
        f"({report.seconds:.2f} s, lake seq {report.last_seq})"
    )
    for o in report.errors:
        click.echo(f"  ERROR {o.id}: {o.error}", err=True)


@click.command("hunt")
@click.option("--tenant", "tenants", multiple=True, help="Tenant slug (repeatable).")
@click.option("--all-tenants", is_flag=True, help="Every tenant in the lake.")
@click.option("--only", multiple=True, help="Run only these hunt ids (repeatable).")
@_hunt_dirs
@_sigma_dirs
@click.option("--no-analytics", is_flag=True, help="Skip the Python analytics.")
@click.option("--since", type=int, default=None, help="Ignore watermarks: consider batches after this lake seq.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--engine",
    "engine_name",
    type=click.Choice(["duckdb", "spark"]),
    default="duckdb",
    show_default=True,
    help="Where the hunts' SQL runs: the embedded DuckDB or Apache Spark.",
)
@click.option("--spark-master", default=None, help="Spark master, e.g. local[2] or spark://HOST:7077.")
@click.option("--lake", type=click.Path(), default=None, help="Lake root (default: the configured lake).")
def hunt_cmd(
    tenants: tuple[str, ...],
    all_tenants: bool,
    only: tuple[str, ...],
    hunt_dirs: tuple[str, ...],
    no_builtin: bool,
    sigma_dirs: tuple[str, ...],
    no_analytics: bool,
    since: int | None,
    fmt: str,
    engine_name: str,
    spark_master: str | None,
    lake: str | None,
) -> None:
    """Hunt new telemetry since each hunt's watermark and store the leads (rerunning adds nothing).

    With ``--engine spark`` the hunts, the analytics' aggregations and the Sigma rules run on Spark; only
    result rows come back to this process.
    """
    from huntwatch.lake.spark import engine_from_options

    _, db = _env()
    try:
        engine = engine_from_options(engine_name, spark_master, lake)
    except LakeError as exc:
        raise click.UsageError(str(exc)) from exc
    if all_tenants:
        tenants = tuple(engine.tenants())
    if not tenants:
        raise click.UsageError("give --tenant NAME or --all-tenants")
    hunts = _hunts(hunt_dirs, only, builtin=not no_builtin)
    analytics = [] if no_analytics or only else default_analytics()
    sigma = None if only else _sigma(sigma_dirs)
    failed = False
    for tenant in tenants:
        with _progress() as bar:
            task = bar.add_task(tenant, total=len(hunts) + len(analytics) + (sigma is not None))
            report = run_hunts(
                engine,
                db,
                tenant,
                hunts=hunts,
                analytics=analytics,
                sigma=sigma,
                since=since,
                progress=lambda unit, t=task: bar.update(t, advance=1, description=unit[:40]),
            )
        _print_report(report, fmt)
        failed |= bool(report.errors)
    if failed:
        raise SystemExit(1)


@click.group("leads")
def leads_group() -> None:
    """Leads found by hunts, Sigma rules and analytics."""


@leads_group.command("list")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--hunt", "hunt_id", default=None, help="Only leads of this hunt id.")
@click.option("--limit", type=int, default=None, help="At most this many (newest first).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def leads_list(tenant: str, hunt_id: str | None, limit: int | None, fmt: str) -> None:
    """The tenant's leads, newest activity first."""
    _, db = _env()
    leads = list_leads(db, tenant, hunt_id=hunt_id, limit=limit)
    if fmt == "json":
        emit_json(
            [
                {
                    "id": x.id,
                    "hunt_id": x.hunt_id,
                    "source": x.source,
                    "title": x.title,
                    "severity": x.severity,
                    "confidence": x.confidence,
                    "tactics": x.tactics,
                    "techniques": x.techniques,
                    "entities": x.entities,
                    "first_seen": x.first_seen,
                    "last_seen": x.last_seen,
                    "evidence": x.evidence,
                    "details": x.details,
                    "story_id": x.story_id,
                }
                for x in leads
            ]
        )
        return
    rows = [
        {
            "id": x.id,
            "first_seen": x.first_seen,
            "severity": x.severity,
            "hunt": x.hunt_id,
            "tactics": ", ".join(x.tactics),
            "device": ", ".join(x.entities.get("device", [])[:3]),
            "account": ", ".join(x.entities.get("account", [])[:3]),
            "events": len(x.evidence),
            "title": x.title,
        }
        for x in leads
    ]
    cols = ["id", "first_seen", "severity", "hunt", "tactics", "device", "account", "events", "title"]
    emit_rows(rows, cols, fmt, title=f"{len(rows)} leads of {tenant}")


@click.command("coverage")
@click.option("--tenant", required=True, help="Tenant slug.")
@_hunt_dirs
@_sigma_dirs
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def coverage_cmd(
    tenant: str, hunt_dirs: tuple[str, ...], no_builtin: bool, sigma_dirs: tuple[str, ...], fmt: str
) -> None:
    """Which hunts and Sigma log sources cannot fire on what this tenant sends; which tactics are blind."""
    engine, _ = _env()
    report = coverage(engine, tenant, _hunts(hunt_dirs, builtin=not no_builtin), sigma=_sigma(sigma_dirs))
    if fmt == "json":
        emit_json(report.as_dict())
        return
    rows = [
        {"tactic": t.tactic, "status": t.status, "detectors": t.detectors, "can_fire": t.can_fire}
        for t in report.tactics
    ]
    emit_rows(rows, ["tactic", "status", "detectors", "can_fire"], fmt, title=f"ATT&CK coverage of {tenant}")
    blind = [
        {
            "id": d.detector.id,
            "kind": d.detector.kind,
            "tactics": ", ".join(d.detector.tactics),
            "needs one of": " | ".join(d.missing),
        }
        for d in report.blind
    ]
    emit_rows(blind, ["id", "kind", "tactics", "needs one of"], fmt, title=f"{len(blind)} detectors cannot fire")


@contextmanager
def _eval_home(home: str | None) -> Iterator[Path]:
    """The evaluation's lake and state: under the given home when set, else a temporary folder."""
    if home:
        path = Path(home) / "eval"
        path.mkdir(parents=True, exist_ok=True)
        yield path
    else:
        with tempfile.TemporaryDirectory(prefix="huntwatch-eval-") as tmp:
            yield Path(tmp)


@click.command("eval")
@click.argument("labels", type=click.Path(exists=True, dir_okay=False))
@click.argument("dataset_dir", type=click.Path(exists=True, file_okay=False))
@_hunt_dirs
@_sigma_dirs
@click.option("--no-analytics", is_flag=True, help="Built-in hunts (and Sigma) only.")
@click.option("--workers", type=int, default=2, show_default=True)
@click.option("--limit", type=int, default=None, help="Only the first N labelled recordings.")
@click.option("--home", envvar="HUNTWATCH_HOME", default=None, help="Keep the lake and state under HOME/eval.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def eval_cmd(
    labels: str,
    dataset_dir: str,
    hunt_dirs: tuple[str, ...],
    no_builtin: bool,
    sigma_dirs: tuple[str, ...],
    no_analytics: bool,
    workers: int,
    limit: int | None,
    home: str | None,
    fmt: str,
) -> None:
    """Ingest each labelled recording into its own tenant, hunt, and score tactic coverage."""
    from huntwatch.hunting.evaluation import evaluate, read_labels
    from huntwatch.ingest import ingest_paths

    _hunts(hunt_dirs, builtin=not no_builtin)  # fail early on bad hunt files
    total = len(read_labels(labels)[0]) if limit is None else limit
    with _eval_home(home) as where, _progress() as bar:
        task = bar.add_task("evaluating", total=total)
        report = evaluate(
            labels,
            dataset_dir,
            home=where,
            ingest=ingest_paths,
            hunt_dirs=hunt_dirs,
            builtin=not no_builtin,
            sigma_dirs=sigma_dirs,
            analytics=not no_analytics,
            workers=workers,
            limit=limit,
            progress=lambda r: bar.update(task, advance=1),
        )
    data = report.as_dict()
    if fmt == "json":
        emit_json(data)
        return
    summary = [
        {
            k: data[k]
            for k in (
                "recordings",
                "coverage_tactic",
                "coverage_any",
                "median_leads",
                "events",
                "seconds",
                "skipped_unlabelled",
            )
        }
    ]
    emit_rows(summary, list(summary[0]), "table", title="evaluation")
    emit_rows(
        data["per_tactic"], ["tactic", "recordings", "coverage_tactic", "coverage_any"], "table", title="per tactic"
    )
    if data["errors"]:
        click.echo(f"{len(data['errors'])} recordings had errors, e.g. {data['errors'][0]}", err=True)


def register(group: click.Group) -> None:
    for command in (hunts_group, hunt_cmd, leads_group, coverage_cmd, eval_cmd):
        group.add_command(command)
