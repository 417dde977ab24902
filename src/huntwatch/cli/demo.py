"""``huntwatch demo``: seed a demo provider in HUNTWATCH_HOME and serve the portal on 127.0.0.1."""

from __future__ import annotations

import click

from huntwatch.config import settings


def register(group: click.Group) -> None:
    @group.command("demo")
    @click.option("--serve/--no-serve", default=True, show_default=True, help="Serve the portal afterwards.")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8000, show_default=True, type=int)
    @click.option("--devices", default=12, show_default=True, help="Devices in the lab organisation (min 10).")
    @click.option("--days", default=1, show_default=True, help="Days of lab activity.")
    @click.option("--seed", default=7, show_default=True, help="Lab seed: same seed, same telemetry.")
    def demo(serve: bool, host: str, port: int, devices: int, days: int, seed: int) -> None:
        """Build a lab organisation, ingest, hunt, correlate, rank, publish a notification, create users, serve."""
        from huntwatch.demo import build_demo

        conf = settings()
        report = build_demo(conf, devices=devices, days=days, seed=seed, say=click.echo)
        url = f"http://{host}:{port}/"
        click.echo("")
        click.echo(f"Tenant {report.tenant}: {report.events_ingested:,} new events, {report.leads_added} new leads, "
                   f"{report.stories} stories (ranked by {report.ranked_by}).")  # fmt: skip
        if report.published_alert_id is not None:
            click.echo(f"Endpoint Attack Notification: {url}alerts/{report.published_alert_id}")
        for note in report.notes:
            click.echo(f"Note: {note}")
        click.echo("")
        click.echo("Demo users (passwords are new on every run):")
        for email, role, password in report.users:
            click.echo(f"  {role:<15} {email:<26} {password}")
        click.echo(f"Home: {conf.home}")
        click.echo(f"Portal: {url}")
        if serve:
            import uvicorn

            from huntwatch.web.app import create_app

            uvicorn.run(create_app(conf), host=host, port=port, log_level="warning")
