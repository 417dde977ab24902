"""``huntwatch cases``: the experts-on-demand queue and SLA targets from the shell (logic in huntwatch.service)."""

from __future__ import annotations

import getpass

import click

from huntwatch.cli._output import FORMATS, emit_rows
from huntwatch.config import settings
from huntwatch.service import Actor, ServiceError, accounts, cases
from huntwatch.service.cases import CaseFilter
from huntwatch.state import Database


def _db() -> Database:
    db = Database(settings().database_url)
    db.upgrade()
    return db


def _actor() -> Actor:
    return Actor.system(f"cli:{getpass.getuser()}")


def register(group: click.Group) -> None:
    @group.group("cases")
    def cases_group() -> None:
        """Experts on demand: the case queue and the SLA targets per plan."""

    @cases_group.command("list")
    @click.option("--tenant", default=None, help="Tenant slug (default: every tenant).")
    @click.option("--status", "statuses", multiple=True, type=click.Choice(cases.STATUSES))
    @click.option("--sla", type=click.Choice(cases.SLA_FILTERS), default=None)
    @click.option("--queue", is_flag=True, help="Least SLA time left first, as the experts' queue.")
    @click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
    def list_cases(tenant: str | None, statuses: tuple[str, ...], sla: str | None, queue: bool, fmt: str) -> None:
        """Cases with their status and SLA clock (business hours left)."""
        try:
            with _db().session() as s:
                tid = accounts.tenant_by_slug(s, _actor(), tenant).id if tenant else None
                flt = CaseFilter(tenant_id=tid, statuses=statuses, sla=sla, sort="time_left" if queue else "newest")
                rows = [
                    {"id": v.case.id, "tenant": v.tenant_slug, "status": v.case.status, "category": v.case.category,
                     "topic": v.case.topic, "expert": v.case.assigned_to or "", "sla": v.sla_state,
                     "clock": v.clock.name, "hours_left": round(v.clock.remaining.total_seconds() / 3600, 1),
                     "asked": v.case.created_at}
                    for v in cases.list_cases(s, _actor(), flt)
                ]  # fmt: skip
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from exc
        columns = ["id", "tenant", "status", "category", "topic", "expert", "sla", "clock", "hours_left", "asked"]
        emit_rows(rows, columns, fmt, "Expert cases")

    @cases_group.command("set-sla")
    @click.argument("plan")
    @click.option("--first-response-days", type=float, default=2.0, show_default=True)
    @click.option("--resolution-days", type=float, default=10.0, show_default=True)
    @click.option("--reopen-days", type=int, default=14, show_default=True)
    @click.option("--weekend", default="6,7", show_default=True, help="ISO weekdays, Monday = 1.")
    @click.option("--holiday", "holidays", multiple=True, help="A holiday (ISO date); repeat for more.")
    def set_sla(
        plan: str, first_response_days: float, resolution_days: float, reopen_days: int, weekend: str,
        holidays: tuple[str, ...],
    ) -> None:  # fmt: skip
        """Set PLAN's case targets in business days and its business calendar."""
        try:
            days = [int(d) for d in weekend.split(",") if d.strip()]
        except ValueError as exc:
            raise click.UsageError("--weekend takes ISO weekday numbers such as 6,7") from exc
        try:
            with _db().session() as s:
                row = cases.set_sla_policy(
                    s, _actor(), plan, first_response_days=first_response_days, resolution_days=resolution_days,
                    reopen_days=reopen_days, weekend=days, holidays=list(holidays),
                )  # fmt: skip
                click.echo(
                    f"plan {row.plan}: first progress report within {row.first_response_days} business days, "
                    f"resolution within {row.resolution_days}, reopen within {row.reopen_days} days; "
                    f"weekend {row.weekend}, {len(row.holidays)} holidays"
                )
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from exc
