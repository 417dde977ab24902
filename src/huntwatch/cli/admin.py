"""``huntwatch admin``: bootstrap tenants, users and API tokens from the shell (logic in huntwatch.service)."""

from __future__ import annotations

import getpass

import click

from huntwatch.cli._output import FORMATS, emit_rows
from huntwatch.config import settings
from huntwatch.service import Actor, ServiceError, accounts
from huntwatch.state import PROVIDER_ROLES, ROLES, TOKEN_ROLES, Database, Tenant


def _db() -> Database:
    db = Database(settings().database_url)
    db.upgrade()
    return db


def _actor() -> Actor:
    """The shell user as the audit log's actor: whoever can run this command owns the installation."""
    return Actor.system(f"cli:{getpass.getuser()}")


def _tenant_id(s, slug: str | None) -> int | None:  # type: ignore[no-untyped-def]
    return None if slug is None else accounts.tenant_by_slug(s, _actor(), slug).id


def register(group: click.Group) -> None:
    @group.group("admin")
    def admin() -> None:
        """Tenants, users and API tokens."""

    @admin.command("create-tenant")
    @click.argument("slug")
    @click.option("--name", default="", help="Display name (default: the slug).")
    @click.option("--region", default="eu", show_default=True)
    @click.option("--plan", default="standard", show_default=True)
    def create_tenant(slug: str, name: str, region: str, plan: str) -> None:
        """Create a tenant; SLUG is also its name in the lake."""
        try:
            with _db().session() as s:
                tenant = accounts.create_tenant(s, _actor(), slug, name, region, plan)
                click.echo(f"created tenant {tenant.slug} (id {tenant.id})")
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from exc

    @admin.command("create-user")
    @click.argument("email")
    @click.option("--role", type=click.Choice(ROLES), required=True)
    @click.option("--tenant", "tenant", default=None, help="Tenant slug (tenant roles only).")
    @click.option("--name", default="", help="Display name.")
    @click.password_option(help="Asked for when not given.")
    def create_user(email: str, role: str, tenant: str | None, name: str, password: str) -> None:
        """Create a user. Provider staff (expert, provider_admin) have no tenant."""
        if (role in PROVIDER_ROLES) == (tenant is not None):
            raise click.UsageError("tenant roles need --tenant; provider roles must not have one")
        try:
            with _db().session() as s:
                user = accounts.create_user(s, _actor(), email, password, role, _tenant_id(s, tenant), name)
                click.echo(f"created user {user.email} ({user.role}, id {user.id})")
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from exc

    @admin.command("create-token")
    @click.option("--tenant", "tenant", default=None, help="Tenant slug (required for tenant roles and sensor).")
    @click.option("--role", type=click.Choice(TOKEN_ROLES), required=True)
    @click.option("--name", default="", help="What the token is for, e.g. the sensor's host.")
    def create_token(tenant: str | None, role: str, name: str) -> None:
        """Create an API token; it is printed once, on the last line, and stored only as a hash."""
        try:
            with _db().session() as s:
                plain, token = accounts.create_token(s, _actor(), role, _tenant_id(s, tenant), name)
                click.echo(f"created {role} token {token.prefix}… (id {token.id}); send it as 'Authorization: Bearer'")
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(plain)

    @admin.command("set-password")
    @click.argument("email")
    @click.password_option(help="Asked for when not given.")
    def set_password(email: str, password: str) -> None:
        """Set a user's password and lift any lockout."""
        try:
            with _db().session() as s:
                user = next((u for u in accounts.list_users(s, _actor()) if u.email == email.strip().lower()), None)
                if user is None:
                    raise click.ClickException(f"no user {email}")
                accounts.update_user(s, _actor(), user.id, password=password)
                click.echo(f"password of {user.email} changed")
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from exc

    @admin.command("revoke-token")
    @click.argument("token_id", type=int)
    def revoke_token(token_id: int) -> None:
        """Revoke an API token by id (see list-tokens); clients using it are refused at once."""
        try:
            with _db().session() as s:
                token = accounts.revoke_token(s, _actor(), token_id)
                click.echo(f"revoked token {token.prefix}… (id {token.id})")
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from exc

    @admin.command("list-tenants")
    @click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
    def list_tenants(fmt: str) -> None:
        with _db().session() as s:
            rows = [
                {"id": t.id, "slug": t.slug, "name": t.name, "region": t.region, "plan": t.plan,
                 "created_at": t.created_at}
                for t in accounts.list_tenants(s, _actor())
            ]  # fmt: skip
        emit_rows(rows, ["id", "slug", "name", "region", "plan", "created_at"], fmt, "Tenants")

    @admin.command("list-users")
    @click.option("--tenant", "tenant", default=None, help="Only this tenant's users.")
    @click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
    def list_users(tenant: str | None, fmt: str) -> None:
        with _db().session() as s:
            slugs = {t.id: t.slug for t in s.query(Tenant)}
            rows = [
                {"id": u.id, "email": u.email, "role": u.role, "tenant": slugs.get(u.tenant_id or -1, ""),
                 "disabled": u.disabled, "last_login_at": u.last_login_at}
                for u in accounts.list_users(s, _actor(), _tenant_id(s, tenant))
            ]  # fmt: skip
        emit_rows(rows, ["id", "email", "role", "tenant", "disabled", "last_login_at"], fmt, "Users")

    @admin.command("list-tokens")
    @click.option("--tenant", "tenant", default=None, help="Only this tenant's tokens.")
    @click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
    def list_tokens(tenant: str | None, fmt: str) -> None:
        """Tokens by prefix and role; the tokens themselves are not stored and cannot be shown."""
        with _db().session() as s:
            slugs = {t.id: t.slug for t in s.query(Tenant)}
            rows = [
                {"id": t.id, "prefix": t.prefix, "role": t.role, "tenant": slugs.get(t.tenant_id or -1, ""),
                 "name": t.name, "last_used_at": t.last_used_at, "revoked": t.revoked_at is not None}
                for t in accounts.list_tokens(s, _actor(), _tenant_id(s, tenant))
            ]  # fmt: skip
        emit_rows(rows, ["id", "prefix", "role", "tenant", "name", "last_used_at", "revoked"], fmt, "Tokens")
