"""The ``innoshare`` command: serve, migrate, create-user, create-api-key, prune."""

import asyncio
import os
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, TypeVar

import typer
from alembic import command as alembic_command
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import get_settings
from app.core.db import Database, create_engine, utcnow
from app.core.errors import AppError
from app.core.migrations import alembic_config
from app.core.security import Role, Scope
from app.services import auth as auth_service
from app.services import ratelimit as ratelimit_service

cli = typer.Typer(help="InnoShare API server and administration.", no_args_is_help=True)
T = TypeVar("T")


def _run_in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        settings = get_settings()
        db = Database(create_engine(settings.database_url))
        try:
            async with db.unit_of_work(write=True) as session:
                return await work(session)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except AppError as error:
        typer.secho(f"error: {error.detail}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from error


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(envvar="INNOSHARE_WORKERS", help="Worker processes.", min=1)
    ] = 1,
) -> None:
    """Serve the API with uvicorn."""
    import uvicorn

    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker counts for itself; /metrics adds them up from this directory.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="innoshare-metrics-")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=get_settings().trust_forwarded_for,
        log_config=None,
        access_log=False,
        server_header=False,
    )


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Upgrade the database schema (to the newest revision by default)."""
    alembic_command.upgrade(alembic_config(get_settings().database_url), revision)
    typer.echo(f"database migrated to {revision}")


@cli.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="12+ characters."
        ),
    ],
    role: Annotated[Role, typer.Option(help="admin, operator, member or auditor.")] = Role.member,
    org: Annotated[
        uuid.UUID | None, typer.Option(help="Organization id (members need one).")
    ] = None,
) -> None:
    """Create an account, e.g. the first admin."""
    if len(password) < 12:
        typer.secho(
            "error: the password needs at least 12 characters", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(code=1)

    async def work(session: AsyncSession) -> uuid.UUID:
        user = await auth_service.register_user(
            session, email=email, password=password, role=role, organization_id=org
        )
        return user.id

    user_id = _run_in_transaction(work)
    typer.echo(f"created {role.value} {email.lower()} ({user_id})")


@cli.command("create-api-key")
def create_api_key(
    org: Annotated[uuid.UUID, typer.Option(help="Organization id the key acts for.")],
    name: Annotated[str, typer.Option(help="What the key is for.")],
    scopes: Annotated[
        str, typer.Option(help="Comma-separated, e.g. catalog:write,demands:write.")
    ] = Scope.catalog_write.value,
) -> None:
    """Issue an API key for an organization and print it (it is not shown again)."""
    try:
        chosen = [Scope(s.strip()) for s in scopes.split(",") if s.strip()]
    except ValueError as exc:
        known = ", ".join(s.value for s in Scope)
        typer.secho(f"error: unknown scope; known: {known}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc

    async def work(session: AsyncSession) -> str:
        await auth_service.check_organization_exists(session, org)
        issued = await auth_service.issue_api_key(
            session, organization_id=org, name=name, scopes=chosen
        )
        return issued.key

    typer.echo(_run_in_transaction(work))


@cli.command()
def prune() -> None:
    """Delete rate-limit windows older than a day (run it daily from cron or a timer)."""

    async def work(session: AsyncSession) -> int:
        return await ratelimit_service.prune(session, before=utcnow() - timedelta(days=1))

    typer.echo(f"pruned {_run_in_transaction(work)} rate-limit windows")


def main() -> None:
    cli()
