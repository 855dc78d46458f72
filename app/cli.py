"""The ``innoshare`` command: serve, worker, migrate, seed, demo-accounts, create-user,
create-api-key, reindex, rebuild-totals, prune, payouts plan."""

import asyncio
import csv
import logging
import os
import signal
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import typer
from alembic import command as alembic_command
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.config import Settings, get_settings
from app.core.db import Database, create_engine
from app.core.errors import AppError
from app.core.migrations import alembic_config
from app.core.preflight import (
    ConfigurationProblem,
    DatabaseProblem,
    check_database,
    parse_database_url,
    settings_problem,
)
from app.core.security import Role, Scope
from app.demo.accounts import DemoAccounts, accounts_file, shell_assignments
from app.demo.accounts import listing as demo_listing
from app.demo.load import DatabaseNotEmpty, SeedReport, seed_database
from app.demo.plan import SCALES, ScaleName
from app.demo.rows import ProgressCallback
from app.schemas.base import fen_to_yuan
from app.services import auth as auth_service
from app.services import idempotency as idempotency_service
from app.services import payouts as payouts_service
from app.services import ratelimit as ratelimit_service
from app.services.ledger import rollup as ledger_rollup

cli = typer.Typer(help="InnoShare API server and administration.", no_args_is_help=True)
payouts_cli = typer.Typer(help="Payouts of organizations' payable balances.", no_args_is_help=True)
cli.add_typer(payouts_cli, name="payouts")
T = TypeVar("T")
_debug = False
MIN_PASSWORD_LENGTH = 12  # as the API's (app/schemas/auth.py)


@cli.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback behind a one-line error.")
    ] = False,
) -> None:
    global _debug
    _debug = debug


def _refuse(problem: ConfigurationProblem) -> typer.Exit:
    """One line on stderr (the whole traceback with --debug) and exit status 1."""
    if _debug:
        raise problem
    typer.secho(f"error: {problem}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def _require_database(*, migrated: bool = True, create: bool = False) -> None:
    """Refuse in one line unless the configured database answers (and is at head)."""
    try:
        asyncio.run(check_database(get_settings().database_url, migrated=migrated, create=create))
    except DatabaseProblem as problem:
        raise _refuse(problem) from problem


def _run_in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    _require_database()

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
        int | None,
        typer.Option(help="Worker processes (default INNOSHARE_WORKERS, or 1).", min=1),
    ] = None,
) -> None:
    """Serve the API with uvicorn, once the database answers and is migrated (a server on an
    older schema would answer 500 on every route)."""
    import uvicorn

    from app.core.logging import configure_logging
    from app.core.server import BoundedHttpToolsProtocol

    settings = get_settings()
    workers = workers or settings.workers
    _require_database()
    configure_logging(settings.log_level)  # uvicorn's own lines, before any worker starts

    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker counts for itself; /metrics adds them up from this directory.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="innoshare-metrics-")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=settings.trust_forwarded_for,
        log_config=None,
        access_log=False,
        server_header=False,
        http=BoundedHttpToolsProtocol,  # request heads bounded, refusals as problem documents
    )


@cli.command()
def worker(
    batch: Annotated[int, typer.Option(help="Events claimed at a time.", min=1, max=500)] = 50,
    concurrency: Annotated[
        int, typer.Option(help="Deliveries in flight at a time.", min=1, max=200)
    ] = 10,
) -> None:
    """Deliver the subscriptions' due webhook events until stopped (SIGTERM or Ctrl-C). Any
    number may run beside each other and beside the servers' own (INNOSHARE_WEBHOOK_WORKER)."""
    from app.core.config import Environment
    from app.core.logging import configure_logging
    from app.core.webhooks import Sender
    from app.services.deliveries import run_worker

    _require_database()
    settings = get_settings()
    configure_logging(settings.log_level)

    async def run() -> None:
        db = Database(create_engine(settings.database_url))
        sender = Sender(
            production=settings.env is Environment.production,
            timeout=settings.webhook_timeout_seconds,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, stop.set)
        logging.getLogger(__name__).info("webhook worker started")
        try:
            await run_worker(
                db,
                sender,
                stop,
                poll_seconds=settings.webhook_poll_seconds,
                lease=timedelta(seconds=settings.webhook_lease_seconds),
                batch=batch,
                concurrency=concurrency,
            )
        finally:
            await sender.close()
            await db.dispose()

    asyncio.run(run())


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Upgrade the database schema (to the newest revision by default); on SQLite, create the
    database file (and its directory) first if missing. Processes migrating at once take
    turns. With INNOSHARE_BOOTSTRAP_ADMIN_EMAIL and _PASSWORD_FILE set, then create that
    admin if the database has none."""
    from app.core.logging import configure_logging

    settings = get_settings()
    password = _bootstrap_password(settings.bootstrap_admin_password_file)  # before any change
    _require_database(migrated=False, create=True)
    configure_logging(settings.log_level)
    alembic_command.upgrade(alembic_config(settings.database_url), revision)
    typer.echo(f"database migrated to {revision}")
    if settings.bootstrap_admin_email is None or password is None or revision != "head":
        return  # the admin's table is the newest schema's
    email = settings.bootstrap_admin_email

    async def work(session: AsyncSession) -> auth_service.Bootstrap:
        return await auth_service.bootstrap_admin(session, email=email, password=password)

    if _run_in_transaction(work).created:
        typer.echo(f"created the admin {email} (INNOSHARE_BOOTSTRAP_ADMIN_EMAIL)")
    else:
        typer.echo("an admin exists: INNOSHARE_BOOTSTRAP_ADMIN_EMAIL left unused")


def _bootstrap_password(path: Path | None) -> str | None:
    """The bootstrap admin's password from its file (a trailing newline dropped), or a
    one-line refusal naming the file, never the password."""
    if path is None:
        return None
    try:
        password = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise _refuse(
            ConfigurationProblem(
                f"INNOSHARE_BOOTSTRAP_ADMIN_PASSWORD_FILE {path} cannot be read ({reason})"
            )
        ) from error
    if len(password) < MIN_PASSWORD_LENGTH or not password.strip():
        raise _refuse(
            ConfigurationProblem(
                f"INNOSHARE_BOOTSTRAP_ADMIN_PASSWORD_FILE {path} holds too weak a password:"
                f" the admin's needs at least {MIN_PASSWORD_LENGTH} characters"
            )
        )
    return password


@cli.command()
def seed(
    scale: Annotated[
        ScaleName,
        typer.Option(help="seed: the platform's published figures; small: about a hundredth."),
    ] = ScaleName.seed,
    random_seed: Annotated[int, typer.Option(help="The same number writes the same data.")] = 2019,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when organizations exist (exit 0).")
    ] = False,
) -> None:
    """Load the generated demo dataset and demo accounts into an empty, migrated database."""

    async def work(session: AsyncSession) -> SeedReport | None:
        try:
            with _progress_bars() as progress:
                return await seed_database(
                    session, scale=SCALES[scale], random_seed=random_seed, progress=progress
                )
        except DatabaseNotEmpty:
            if if_empty:
                return None  # nothing was written
            raise

    report = _run_in_transaction(work)
    if report is None:
        typer.echo("the database already holds organizations: nothing seeded")
        return
    typer.echo(_seed_summary(report))
    if report.accounts is not None:
        listing = _demo_accounts(report.accounts)
        typer.echo(listing)
        path = accounts_file(get_settings().database_url)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(listing + "\n")
        typer.echo(f"(also written to {path}, readable by you only; innoshare demo-accounts)")


@cli.command("demo-accounts")
def demo_accounts(
    shell: Annotated[
        bool,
        typer.Option(
            "--shell",
            help="Print them as shell assignments (DEMO_PASSWORD, ADMIN_EMAIL, OPERATOR_EMAIL,"
            ' AUDITOR_EMAIL, PROVIDER_EMAIL, BUYER_EMAIL, PROVIDER_KEY): eval "$(innoshare'
            ' demo-accounts --shell)".',
        ),
    ] = False,
) -> None:
    """Print the demo accounts and keys that seed wrote for the configured database."""
    url = get_settings().database_url
    try:
        parse_database_url(url)
    except DatabaseProblem as problem:
        raise _refuse(problem) from problem
    path = accounts_file(url)
    if not path.exists():
        typer.secho(
            f"error: no demo accounts kept for this database ({path} is missing); run"
            " 'innoshare seed' on an empty database to create them",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=1)
    kept = path.read_text(encoding="utf-8")
    if shell:
        typer.echo(shell_assignments(kept))
    else:
        typer.echo(kept, nl=False)


@contextmanager
def _progress_bars() -> Iterator[ProgressCallback]:
    """A progress bar per task the seed reports, drawn on stderr."""
    columns = (
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    bars = Progress(*columns, console=Console(stderr=True))
    tasks: dict[str, TaskID] = {}

    def report(task: str, total: int, done: int) -> None:
        if not tasks:
            bars.start()  # on the first task: a seed refused at once draws nothing
        if task not in tasks:
            tasks[task] = bars.add_task(task, total=total)
        if done:
            bars.advance(tasks[task], done)

    try:
        yield report
    finally:
        if tasks:
            bars.stop()


_KIND_NAMES = {
    "university": "universities",
    "research_institute": "research institutes",
    "financial_institution": "financial institutions",
    "enterprise": "enterprises",
}


def _seed_summary(report: SeedReport) -> str:
    kinds = {kind.value: n for kind, n in report.organizations.items()}
    named = ", ".join(f"{kinds.get(k, 0)} {name}" for k, name in _KIND_NAMES.items())
    others = sum(n for k, n in kinds.items() if k not in _KIND_NAMES)
    lines = [
        f"seeded scale {report.scale} (random seed {report.random_seed})"
        f" in {report.seconds:.1f} s:",
        f"  {'organizations':<20}{sum(kinds.values()):>9,}  ({named}, {others} others)",
    ]
    for catalog, published in report.published.items():
        extra = report.unpublished[catalog]
        note = f"  (+{extra:,} drafts or withdrawn)" if extra else ""
        name = "IP assets" if catalog == "ip_assets" else catalog.replace("_", " ")
        lines.append(f"  {name:<20}{published:>9,}  published{note}")
    deals = report.deals
    statuses = ", ".join(f"{n} {status.value}" for status, n in deals.by_status.items())
    lines += [
        f"  {'deals':<20}{sum(deals.by_status.values()):>9,}  ({statuses})",
        f"  {'settled volume':<20}{fen_to_yuan(deals.transaction_volume_fen):>13} CNY,"
        f" tax {fen_to_yuan(deals.tax_total_fen)} CNY,"
        f" {deals.enterprises_served} enterprises served ({deals.entries} journal entries)",
        f"  {'paid out':<20}{fen_to_yuan(report.payouts.paid_fen):>13} CNY in"
        f" {report.payouts.payouts:,} payouts ({report.payouts.returned} returned),"
        f" tax remitted {fen_to_yuan(report.payouts.remitted_fen)} CNY"
        f" ({report.payouts.remittances} receipts)",
    ]
    demands = report.demands
    lines.append(
        f"  {'demands':<20}{sum(demands.by_kind.values()):>9,}"
        f"  ({demands.deals} awarded into deals), {sum(demands.proposals.values()):,} proposals,"
        f" {demands.questions:,} questions"
    )
    return "\n".join(lines)


def _demo_accounts(accounts: DemoAccounts) -> str:
    return demo_listing(accounts)


@cli.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    role: Annotated[Role, typer.Option(help="admin, operator, member or auditor.")] = Role.member,
    org: Annotated[
        uuid.UUID | None, typer.Option(help="Organization id (members need one).")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from the first line of standard input."
        ),
    ] = False,
    password: Annotated[
        str | None,
        typer.Option(
            help="12+ characters. Less safe: it stays in the shell history and the process"
            " list; without it (or --password-stdin) you are asked for it, hidden, twice."
        ),
    ] = None,
) -> None:
    """Create an account, e.g. the first admin."""
    if password_stdin:
        if password is not None:
            raise typer.BadParameter("give --password or --password-stdin, not both")
        password = sys.stdin.readline().rstrip("\r\n")
    elif password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    secret: str = password
    if len(secret) < MIN_PASSWORD_LENGTH:
        typer.secho(
            f"error: the password needs at least {MIN_PASSWORD_LENGTH} characters",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=1)

    async def work(session: AsyncSession) -> uuid.UUID:
        user = await auth_service.register_user(
            session, email=email, password=secret, role=role, organization_id=org
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
def reindex() -> None:
    """Have every running server rebuild its search index from the database before its next
    search (each builds its own at start-up too); on SQLite, also after a VACUUM."""
    from app.services.catalog import request_rebuild

    rebuild = _run_in_transaction(request_rebuild)
    typer.echo(
        f"asked every server to rebuild its search index (rebuild {rebuild}); each does"
        " before its next search"
    )


@cli.command("rebuild-totals")
def rebuild_totals() -> None:
    """Recompute the ledger totals kept for auditors from the journal, in the configured time
    zone (after changing INNOSHARE_TIMEZONE, or loading entries behind the API's back)."""
    zone = get_settings().timezone

    async def work(session: AsyncSession) -> ledger_rollup.TotalsRebuild:
        return await ledger_rollup.rebuild_totals(session, zone=zone)

    done = _run_in_transaction(work)
    typer.echo(
        f"rebuilt the ledger totals in {done.zone}: {done.totals_rows:,} total rows,"
        f" {done.deal_rows:,} deal rows, {done.buyer_rows:,} buyer rows"
    )


@cli.command()
def prune() -> None:
    """Delete rate-limit windows older than a day, idempotency records older than
    IDEMPOTENCY_RETENTION_DAYS, and subscription events (with their delivery attempts) older
    than 90 days that are no longer due (run it daily from cron or a timer)."""
    from app.services import deliveries as deliveries_service

    async def work(session: AsyncSession) -> tuple[int, int, int]:
        now = utcnow()
        windows = await ratelimit_service.prune(session, before=now - timedelta(days=1))
        records = await idempotency_service.prune(
            session, before=now - timedelta(days=idempotency_service.RETENTION_DAYS)
        )
        events = await deliveries_service.prune(
            session, before=now - timedelta(days=deliveries_service.RETENTION_DAYS)
        )
        return windows, records, events

    windows, records, events = _run_in_transaction(work)
    typer.echo(
        f"pruned {windows} rate-limit windows, {records} idempotency records and {events}"
        " subscription events"
    )


def _fen(amount: str) -> int:
    """A CLI amount in CNY (``1000.00``) as integer fen; never through a float."""
    try:
        value = Decimal(amount.strip())
    except InvalidOperation as error:
        raise typer.BadParameter(f"{amount!r} is not an amount such as 1000.00") from error
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise typer.BadParameter("an amount is not negative and has at most 2 decimal places")
    return int(value * 100)


@payouts_cli.command("plan")
def plan_payouts(
    min_amount: Annotated[
        str, typer.Option("--min-amount", help="Only balances of at least this, in CNY.")
    ] = "0.01",
    output: Annotated[
        Literal["table", "csv"], typer.Option("--format", help="table, or csv for the bank file.")
    ] = "table",
) -> None:
    """List the organizations whose payable balance is at least --min-amount, largest first:
    what is due, for the operator's bank file (pay each with POST /v1/payouts)."""
    threshold = _fen(min_amount)

    async def work(session: AsyncSession) -> list[payouts_service.PlannedPayout]:
        return await payouts_service.plan_payouts(session, min_amount_fen=threshold)

    due = _run_in_transaction(work)
    if output == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["organization_id", "organization_name", "amount", "currency"])
        for row in due:
            writer.writerow(
                [row.organization_id, row.organization_name, fen_to_yuan(row.balance_fen), "CNY"]
            )
        return
    table = Table(
        "organization", "id", "amount (CNY)", title=f"due: at least {fen_to_yuan(threshold)} CNY"
    )
    for row in due:
        table.add_row(row.organization_name, str(row.organization_id), fen_to_yuan(row.balance_fen))
    Console(width=160).print(table)
    total = sum(row.balance_fen for row in due)
    typer.echo(f"{len(due)} organizations, {fen_to_yuan(total)} CNY in all")


def main() -> None:
    try:
        cli()
    except (ValidationError, SettingsError) as error:
        if isinstance(error, ValidationError) and error.title != Settings.__name__:
            raise
        if _debug:
            raise
        typer.secho(f"error: {settings_problem(error)}", fg=typer.colors.RED, err=True)
        sys.exit(1)
