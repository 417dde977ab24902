"""``huntwatch rules check DIR`` and ``huntwatch rules show RULE_ID --sigma DIR``: Sigma rule folders."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from huntwatch.cli._output import emit_json, emit_rows
from huntwatch.hunting.sigma import SigmaRuleSet

_PATHS = click.Path(exists=True, path_type=Path)


@click.group("rules")
def rules_group() -> None:
    """Sigma rule folders: which rules compile to Huntwatch SQL, and what they become."""


@rules_group.command("check")
@click.argument("dirs", nargs=-1, required=True, type=_PATHS)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def check(dirs: tuple[Path, ...], fmt: str) -> None:
    """Compile every rule under DIRS; report how many compiled and which failed, and why."""
    report = SigmaRuleSet.load(dirs).check()
    if fmt == "json":
        emit_json(report.as_dict())
    else:
        rows = [{"file": f.path, "rule": f.rule_id or "", "reason": f.reason} for f in report.failed]
        if rows:
            emit_rows(rows, ["file", "rule", "reason"], "table", title="Rules that did not compile")
        click.echo(
            f"{report.compiled} rules compiled from {report.files} files into {report.groups} scan groups; "
            f"{len(report.failed)} failed ({report.seconds:.1f} s)"
        )
    if report.compiled == 0:
        sys.exit(1)


@rules_group.command("show")
@click.argument("rule_id")
@click.option("--sigma", "dirs", multiple=True, required=True, type=_PATHS, help="Sigma rule folder(s)")
@click.option("--spark", is_flag=True, help="Show the Spark SQL instead of DuckDB SQL")
def show(rule_id: str, dirs: tuple[Path, ...], spark: bool) -> None:
    """Print the SQL a rule compiles to, with its ATT&CK mapping."""
    ruleset = SigmaRuleSet.load(dirs)
    rule = next((r for r in ruleset.rules if r.id == rule_id.removeprefix("sigma:")), None)
    if rule is None:
        failure = next((f for f in ruleset.failures if f.rule_id == rule_id), None)
        raise click.ClickException(
            f"rule {rule_id} did not compile: {failure.reason}" if failure else f"no rule {rule_id}"
        )
    click.echo(f"# {rule.title} [{rule.severity}, confidence {rule.confidence}]")
    click.echo(f"# tactics: {', '.join(rule.tactics) or '-'}; techniques: {', '.join(rule.techniques) or '-'}")
    click.echo(rule.spark_sql() if spark else rule.sql())


def register(group: click.Group) -> None:
    group.add_command(rules_group)
