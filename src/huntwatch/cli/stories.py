"""``huntwatch stories``: correlate leads into stories, list them, show one, merge and split."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from huntwatch.cli._output import emit_json, emit_rows
from huntwatch.config import settings
from huntwatch.lake import DuckDBEngine
from huntwatch.state import Database
from huntwatch.stories.service import StoryError, correlate, list_stories, merge, split, story_document


def _env() -> tuple[DuckDBEngine, Database]:
    cfg = settings()
    db = Database(cfg.database_url)
    db.create_all()
    return DuckDBEngine(cfg.lake_path), db


@click.group("stories")
def stories_group() -> None:
    """Attack stories: correlated leads with scope of compromise, timeline and process trees."""


@stories_group.command("correlate")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--window-hours", default=24.0, show_default=True, help="Leads further apart never join.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def correlate_cmd(tenant: str, window_hours: float, fmt: str) -> None:
    """Put the tenant's new leads into new or open stories (rerunning adds nothing)."""
    engine, db = _env()
    try:
        report = correlate(engine, db, tenant, window=dt.timedelta(hours=window_hours))
    except StoryError as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        emit_json(report.as_dict())
        return
    click.echo(
        f"{report.new_leads} new of {report.leads_considered} leads: {len(report.stories_created)} stories created "
        f"{report.stories_created}, {len(report.stories_extended)} extended {report.stories_extended}, "
        f"{report.lateral_edges} lateral-movement edges used, {len(report.bridges)} merge suggestions "
        f"({report.seconds:.2f} s)"
    )


@stories_group.command("list")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def list_cmd(tenant: str, fmt: str) -> None:
    """The tenant's stories: ranked by significance first, then unranked ones, then merged ones."""
    _, db = _env()
    try:
        rows = list_stories(db, tenant)
    except StoryError as exc:
        raise click.ClickException(str(exc)) from exc
    columns = ["id", "significance", "ranked", "status", "leads", "devices", "accounts", "first_seen", "title"]
    emit_rows(rows, columns, fmt, title=f"Stories of {tenant}")


@stories_group.command("show")
@click.argument("story_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show_cmd(story_id: int, fmt: str) -> None:
    """One story: summary, scope, timeline, process trees, queries, leads and history."""
    _, db = _env()
    try:
        doc = story_document(db, story_id)
    except StoryError as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        emit_json(doc)
    else:
        click.echo(render_text(doc))


@stories_group.command("merge")
@click.argument("story_ids", type=int, nargs=-1, required=True)
@click.option("--actor", required=True, help="Who merges (kept in the story's history).")
def merge_cmd(story_ids: tuple[int, ...], actor: str) -> None:
    """Merge stories into the oldest of them."""
    engine, db = _env()
    try:
        target = merge(engine, db, list(story_ids), actor)
    except StoryError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"merged into story {target}")


@stories_group.command("split")
@click.argument("story_id", type=int)
@click.option("--lead", "lead_ids", type=int, multiple=True, required=True, help="Lead to move (repeatable).")
@click.option("--actor", required=True, help="Who splits (kept in the story's history).")
def split_cmd(story_id: int, lead_ids: tuple[int, ...], actor: str) -> None:
    """Move some leads of a story into a new story."""
    engine, db = _env()
    try:
        new = split(engine, db, story_id, list(lead_ids), actor)
    except StoryError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"new story {new}")


def _tree_lines(node: dict[str, Any], prefix: str, last: bool, out: list[str]) -> None:
    mark = "*" if node["in_story"] else " "
    seen = "" if node["observed"] else " (not observed, from its child)"
    cmd = f"  {node['command_line']}" if node["command_line"] else ""
    out.append(f"{prefix}{'`-- ' if last else '|-- '}{mark}{node['process'] or '?'} [{node['pid']}]{seen}{cmd}")
    children = node["children"]
    for i, child in enumerate(children):
        _tree_lines(child, prefix + ("    " if last else "|   "), i == len(children) - 1, out)


def render_text(doc: dict[str, Any]) -> str:
    """A story for a terminal: plain ASCII, most important first."""
    scope = doc["scope"]
    sig = scope.get("significance", {})
    out = [
        f"Story {doc['id']} [{doc['status']}] {doc['title']}",
        f"Significance {doc['significance']:.0f}/100 ({'ranked' if sig.get('ranked') else 'below threshold'}): "
        + ", ".join(f"{k} {v:g}" for k, v in sig.get("components", {}).items()),
        "",
        doc["summary"],
        "",
        "SCOPE",
        f"  Activity: {scope.get('first_activity')} .. {scope.get('last_activity')} "
        f"(dwell {scope.get('dwell_seconds', 0) / 3600:.1f} h)",
    ]
    root = scope.get("root")
    if root:
        out.append(f"  Root: {root['kind']} on {root['device']} at {root['time']}: {root['description']}")
        out.append(f"  Method of entry: {root['method_of_entry']}")
    for d in scope.get("devices", []):
        roles = f" ({', '.join(d['roles'])})" if d["roles"] else ""
        out.append(f"  Device  {d['name']}{roles}: {d['leads']} leads, {d['first_seen']} .. {d['last_seen']}")
    for a in scope.get("accounts", []):
        privs = f" [{', '.join(a['privileges'])}]" if a["privileges"] else ""
        name = "\\".join(x for x in (a["domain"], a["name"]) if x)
        out.append(f"  Account {name}{privs} on {', '.join(a['devices'])}")
    for f in scope.get("files", []):
        out.append(f"  File    {f['path'] or ''} {f['sha256'] or ''} (on {f['prevalence']} device(s) of the tenant)")
    for r in scope.get("remote_addresses", []):
        out.append(f"  Remote  {r['address']} ({r['kind']}{', internal' if r['internal'] else ''})")
    for m in scope.get("lateral_movement", []):
        out.append(f"  Moved   {m['source']} -> {m['target']} as {m['account']} by {m['method']} at {m['time']}")
    for t in scope.get("tactics", []):
        techniques = ", ".join(f"{x['id']} {x['name']}" for x in t["techniques"])
        out.append(f"  Tactic  {t['tactic']}: {techniques}")
    out += ["", "TIMELINE (* = evidence of a lead)"]
    for e in doc["timeline"]:
        out.append(f"  {e['time']}  {'*' if e['key'] else ' '} {e['device']}  {e['summary']}")
    out += ["", "PROCESS TREES (* = process of the story)"]
    for t in doc["process_trees"]:
        out.append(f"  {t['device']}")
        for i, r in enumerate(t["roots"]):
            _tree_lines(r, "  ", i == len(t["roots"]) - 1, out)
    out += ["", "LEADS"]
    for lead in doc["leads"]:
        r = lead["reason"]
        why = r["value"] if r["entity"] in ("seed", "merge", "split") else f"shares {r['entity']} {r['value']}"
        linked = f" with lead {r['linked_lead']}" if r.get("linked_lead") else ""
        out.append(f"  {lead['id']} [{lead['severity']}] {lead['title']} - {why}{linked}")
    out += ["", "QUERIES"]
    for q in doc["queries"]:
        out += [f"  -- {q['title']}", *("  " + line for line in q["sql"].splitlines())]
    out += ["", "HISTORY"]
    out += [f"  {h['at']} {h['actor']} {h['action']} {h['detail']}" for h in doc["history"]]
    return "\n".join(out)


def register(group: click.Group) -> None:
    group.add_command(stories_group)
