"""``huntwatch lab generate|scenarios``: build a simulated organisation's telemetry with ground truth."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from huntwatch.cli._output import FORMATS, emit_json, emit_rows
from huntwatch.lab import ATTACK_SCENARIOS, SCENARIOS, LabManifest, generate


def _scenario_list(value: str) -> list[str]:
    if value in ("", "none"):
        return []
    if value == "all":
        return list(SCENARIOS)
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise click.BadParameter(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    return names


def _summary(manifest: LabManifest, console: Console) -> None:
    rate = manifest.events / manifest.seconds if manifest.seconds else 0.0
    console.print(
        f"[bold]{manifest.domain}: {manifest.devices} devices × {manifest.days} days[/] from {manifest.start} "
        f"(seed {manifest.seed}): "
        f"{manifest.events:,} events in {len(manifest.files)} files, {manifest.bytes / 1e6:,.1f} MB, "
        f"{manifest.seconds:.1f} s ({rate:,.0f} events/s)"
    )
    channels = Table("channel", "events", title="Events per channel")
    for channel, count in sorted(manifest.events_by_channel.items()):
        channels.add_row(channel, f"{count:,}")
    console.print(channels)
    if manifest.scenario_events:
        scenarios = Table("scenario", "kind", "ground-truth events", title="Scenarios")
        for name, count in manifest.scenario_events.items():
            scenarios.add_row(name, SCENARIOS[name].kind, f"{count:,}")
        console.print(scenarios)
    console.print(
        f"Telemetry: {manifest.telemetry_dir}  (ingest it with: huntwatch ingest {manifest.telemetry_dir} --tenant T)"
    )
    console.print(f"Ground truth: {Path(manifest.out_dir) / manifest.ground_truth}")


def register(group: click.Group) -> None:
    @group.group("lab")
    def lab() -> None:
        """A simulated organisation: realistic Windows telemetry with scripted intrusions and ground truth."""

    @lab.command("generate")
    @click.argument("out", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--devices", default=25, show_default=True, help="Devices, servers and DC included (min 10).")
    @click.option("--days", default=2, show_default=True, help="Days of activity.")
    @click.option(
        "--scenarios",
        default=",".join(ATTACK_SCENARIOS),
        show_default=True,
        help="Comma-separated scenario names, 'all' (adds behaviour_change) or 'none'.",
    )
    @click.option("--seed", default=7, show_default=True, help="Same seed, same bytes.")
    @click.option(
        "--start",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default="2026-11-02",
        show_default=True,
        help="First day (UTC).",
    )
    @click.option(
        "--org",
        "organisation",
        default="corp",
        show_default=True,
        help="Organisation name: the AD domain (corp → CORP, corp.example).",
    )
    @click.option("--gzip", "compress", is_flag=True, help="Write .jsonl.gz instead of .jsonl.")
    @click.option(
        "--format",
        "fmt",
        type=FORMATS,
        default="table",
        show_default=True,
        help="json prints the manifest for scripts.",
    )
    def generate_cmd(
        out: Path,
        devices: int,
        days: int,
        scenarios: str,
        seed: int,
        start: dt.datetime,
        organisation: str,
        compress: bool,
        fmt: str,
    ) -> None:
        """Write OUT/telemetry/<day>/<device>.jsonl and OUT/ground_truth.json."""
        names = _scenario_list(scenarios)
        console = Console(stderr=True)
        bar = Progress(
            TextColumn("[bold]lab"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("device-days"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        with bar:
            task = bar.add_task("lab", total=devices * days)
            try:
                manifest = generate(
                    out,
                    devices=devices,
                    days=days,
                    scenarios=names,
                    seed=seed,
                    start=start.date(),
                    organisation=organisation,
                    compress=compress,
                    progress=lambda done, total: bar.update(task, completed=done),
                )
            except ValueError as exc:
                raise click.UsageError(str(exc)) from exc
        if fmt == "json":
            emit_json(manifest.to_dict())
            return
        _summary(manifest, Console())

    @lab.command("scenarios")
    @click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
    def scenarios_cmd(fmt: str) -> None:
        """The scripted intrusions (and behaviour changes) the lab can play."""
        rows = [
            {"name": s.name, "kind": s.kind, "title": s.title, "techniques": " ".join(s.techniques)}
            for s in SCENARIOS.values()
        ]
        emit_rows(rows, ["name", "kind", "title", "techniques"], fmt, title="Lab scenarios")
