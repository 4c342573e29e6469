"""The `devex` command: serve, worker, db, demo-data."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy import select, text

from app import jobs, migrations, queue
from app.accounts import service as accounts
from app.audit import service as audit
from app.config import Settings, get_settings
from app.db import make_engine, make_session_factory
from app.errors import ValidationFailed
from app.logging import configure_logging
from app.metrics import prometheus
from app.models import User
from app.models.opportunity import AMOUNT_CAP_CONSTRAINT, amount_cap_sql

cli = typer.Typer(
    help="Dev Exchange: micro-procurement for open-source work.", no_args_is_help=True
)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
users_cli = typer.Typer(help="People.", no_args_is_help=True)
tokens_cli = typer.Typer(help="Personal API tokens.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(users_cli, name="users")
cli.add_typer(tokens_cli, name="tokens")
jobs_cli = typer.Typer(help="Background jobs.", no_args_is_help=True)
cli.add_typer(jobs_cli, name="jobs")


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(int(os.environ.get("PORT", "8000")), help="Port (default $PORT)."),
    workers: int | None = typer.Option(
        None, help="Worker processes (default $DEVEX_WEB_WORKERS, else 1)."
    ),
) -> None:
    """Serve the site and the API."""
    try:
        settings = Settings(web_workers=workers) if workers else Settings()
    except ValidationError as exc:
        typer.echo("; ".join(str(error["msg"]) for error in exc.errors()), err=True)
        raise typer.Exit(2) from exc
    prometheus.clear_multiprocess_directory()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=settings.web_workers,
        # The app reads X-Forwarded-For itself, from the proxies DEVEX_FORWARDED_ALLOW_IPS
        # names; uvicorn's own reading would believe any process on 127.0.0.1.
        proxy_headers=False,
        access_log=False,
    )


QUEUE_HELP = f"A queue to serve (repeat for several; default all: {', '.join(queue.QUEUES)})."


@cli.command()
def worker(
    queues: list[str] = typer.Option(  # noqa: B008 - typer reads its options from defaults
        list(queue.QUEUES), "--queue", help=QUEUE_HELP
    ),
    concurrency: int = typer.Option(
        2 * len(queue.QUEUES), min=1, help="Jobs run at once (a slow one holds one place)."
    ),
) -> None:
    """Run the background jobs until stopped: from the PostgreSQL queue, or on SQLite in a
    loop of their own (the queues are then ignored)."""
    settings = get_settings()
    configure_logging(json=settings.json_logs)
    unknown = sorted(set(queues) - set(queue.QUEUES))
    if unknown:
        typer.echo(f"unknown queue: {', '.join(unknown)}", err=True)
        raise typer.Exit(2)
    if settings.database_url.startswith("postgresql"):
        jobs.run_worker(settings, queues, concurrency)
        return
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    session_factory = make_session_factory(make_engine(settings.database_url))
    jobs.run_forever(session_factory, settings, stop)


@db_cli.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations (creates the SQLite file's folder when needed)."""
    url = get_settings().database_url
    _ensure_sqlite_folder(url)
    migrations.upgrade(url, revision)


@db_cli.command("downgrade")
def db_downgrade(revision: str = typer.Argument(...)) -> None:
    """Revert migrations down to REVISION ('base' removes everything)."""
    migrations.downgrade(get_settings().database_url, revision)


@db_cli.command("apply-cap")
def db_apply_cap() -> None:
    """Re-create the amount CHECK constraint from DEVEX_MAX_CONTRACT_CENTS."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        typer.echo("SQLite keeps the cap it was migrated with; recreate the database to change it.")
        raise typer.Exit(1)
    with engine.begin() as connection:
        connection.execute(
            text(f"ALTER TABLE opportunities DROP CONSTRAINT {AMOUNT_CAP_CONSTRAINT}")
        )
        connection.execute(
            text(
                f"ALTER TABLE opportunities ADD CONSTRAINT {AMOUNT_CAP_CONSTRAINT} "
                f"CHECK ({amount_cap_sql(settings.max_contract_cents)})"
            )
        )
    typer.echo(f"cap set to {settings.max_contract_cents} cents")


@cli.command("demo-data")
def demo_data() -> None:
    """Load demo teams, people and opportunities (safe to run again: nothing is duplicated)."""
    from app.demo import load_demo_data

    settings = get_settings()
    session_factory = make_session_factory(make_engine(settings.database_url))
    with session_factory() as session:
        created = load_demo_data(session, settings)
        session.commit()
    typer.echo(f"demo data: {created} new records")


@users_cli.command("create-admin")
def create_admin(
    github_id: int = typer.Option(..., help="The person's numeric GitHub id (not the login)."),
    login: str = typer.Option(..., help="Their current GitHub login, for display."),
) -> None:
    """Make a person a platform administrator (creating their account if needed)."""
    settings = get_settings()
    session_factory = make_session_factory(make_engine(settings.database_url))
    with session_factory() as session:
        user = session.scalars(select(User).where(User.github_id == github_id)).first()
        if user is None:
            user = User(github_id=github_id, login=login)
            session.add(user)
        user.is_admin = True
        session.flush()
        audit.record(
            session,
            actor_user_id=None,
            action="account.made_admin",
            subject_type="user",
            subject_id=user.id,
            details={"via": "cli"},
        )
        session.commit()
    typer.echo(f"@{login} (GitHub id {github_id}) is an administrator")


@tokens_cli.command("create")
def create_token(
    github_id: int = typer.Option(..., help="Whose token: their numeric GitHub id."),
    name: str = typer.Option("cli", help="A name to recognise the token by."),
    scope: str = typer.Option("read", help="read or write."),
    days: int = typer.Option(90, help="Days until it expires."),
) -> None:
    """Create a personal API token and print it once."""
    settings = get_settings()
    session_factory = make_session_factory(make_engine(settings.database_url))
    with session_factory() as session:
        user = session.scalars(select(User).where(User.github_id == github_id)).first()
        if user is None:
            typer.echo("no user with that GitHub id; they must sign in once first", err=True)
            raise typer.Exit(1)
        try:
            _token, raw = accounts.create_api_token(
                session,
                user,
                name=name,
                scope=scope,
                days=days,
                settings=settings,
                client=accounts.ClientInfo(user_agent="devex cli"),
            )
        except ValidationFailed as exc:
            typer.echo("; ".join(exc.field_errors.values()), err=True)
            raise typer.Exit(1) from exc
        session.commit()
    typer.echo(raw)


@jobs_cli.command("failed")
def jobs_failed() -> None:
    """List failed jobs and jobs waiting to be tried again (PostgreSQL queue only)."""
    settings = get_settings()
    session_factory = make_session_factory(make_engine(settings.database_url))
    with session_factory() as session:
        troubled = queue.troubled_jobs(session)
    for job in troubled:
        when = f"next try {job.next_try_at:%Y-%m-%d %H:%M:%S} UTC" if job.next_try_at else ""
        typer.echo(
            f"{job.id}\t{job.queue}\t{job.task}\t{job.status}\t{job.attempts} attempts\t{when}"
        )
    typer.echo(f"{len(troubled)} failed or retrying", err=True)


def _ensure_sqlite_folder(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + ":memory:"):
        folder = os.path.dirname(url[len(prefix) :])
        if folder:
            os.makedirs(folder, exist_ok=True)


def main() -> None:
    cli()
