"""The `devex` command: serve, worker, db, demo-data."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

import click
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

# Help texts are given, not read from docstrings: the web process runs with -OO (deploy/Dockerfile).
cli = click.Group("devex", help="Dev Exchange: micro-procurement for open-source work.")


def _subcommands(name: str, help_text: str) -> click.Group:
    group = click.Group(name, help=help_text)
    cli.add_command(group)
    return group


db_cli = _subcommands("db", "Database schema.")
users_cli = _subcommands("users", "People.")
tokens_cli = _subcommands("tokens", "Personal API tokens.")
jobs_cli = _subcommands("jobs", "Background jobs.")


@cli.command("serve", help="Serve the site and the API.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, envvar="PORT", show_default=True, help="Port ($PORT).")
@click.option("--workers", type=int, help="Web processes (default $DEVEX_WEB_WORKERS, else 1).")
def serve(host: str, port: int, workers: int | None) -> None:
    try:
        settings = Settings(web_workers=workers) if workers else Settings()
    except ValidationError as exc:
        click.echo("; ".join(str(error["msg"]) for error in exc.errors()), err=True)
        raise click.exceptions.Exit(2) from exc
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


QUEUE_HELP = "A queue to serve (repeat for several; default all)."


@cli.command(
    "worker",
    help="Run the background jobs until stopped: from the PostgreSQL queue, or on SQLite in a"
    " loop of their own (the queues are then ignored).",
)
@click.option(
    "--queue",
    "queues",
    type=click.Choice(queue.QUEUES),
    multiple=True,
    default=queue.QUEUES,
    help=QUEUE_HELP,
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=2 * len(queue.QUEUES),
    show_default=True,
    help="Jobs run at once (a slow one holds one place).",
)
def worker(queues: tuple[str, ...], concurrency: int) -> None:
    settings = get_settings()
    configure_logging(json=settings.json_logs)
    if settings.database_url.startswith("postgresql"):
        jobs.run_worker(settings, list(queues), concurrency)
        return
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    session_factory = make_session_factory(make_engine(settings.database_url))
    jobs.run_forever(session_factory, settings, stop)


@db_cli.command("upgrade", help="Apply migrations (creates the SQLite file's folder when needed).")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    url = get_settings().database_url
    _ensure_sqlite_folder(url)
    migrations.upgrade(url, revision)


@db_cli.command("downgrade", help="Revert migrations down to REVISION ('base' removes everything).")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    migrations.downgrade(get_settings().database_url, revision)


@db_cli.command(
    "apply-cap", help="Re-create the amount CHECK constraint from DEVEX_MAX_CONTRACT_CENTS."
)
def db_apply_cap() -> None:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        click.echo("SQLite keeps the cap it was migrated with; recreate the database to change it.")
        raise click.exceptions.Exit(1)
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
    click.echo(f"cap set to {settings.max_contract_cents} cents")


@cli.command(
    "demo-data",
    help="Load demo teams, people and opportunities (safe to run again: nothing is duplicated).",
)
def demo_data() -> None:
    from app.demo import load_demo_data

    settings = get_settings()
    session_factory = make_session_factory(make_engine(settings.database_url))
    with session_factory() as session:
        created = load_demo_data(session, settings)
        session.commit()
    click.echo(f"demo data: {created} new records")


@users_cli.command(
    "create-admin",
    help="Make a person a platform administrator (creating their account if needed).",
)
@click.option(
    "--github-id", type=int, required=True, help="The person's numeric GitHub id (not the login)."
)
@click.option("--login", required=True, help="Their current GitHub login, for display.")
def create_admin(github_id: int, login: str) -> None:
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
    click.echo(f"@{login} (GitHub id {github_id}) is an administrator")


@tokens_cli.command("create", help="Create a personal API token and print it once.")
@click.option("--github-id", type=int, required=True, help="Whose token: their numeric GitHub id.")
@click.option("--name", default="cli", show_default=True, help="A name to recognise the token by.")
@click.option("--scope", default="read", show_default=True, help="read or write.")
@click.option("--days", default=90, show_default=True, help="Days until it expires.")
def create_token(github_id: int, name: str, scope: str, days: int) -> None:
    settings = get_settings()
    session_factory = make_session_factory(make_engine(settings.database_url))
    with session_factory() as session:
        user = session.scalars(select(User).where(User.github_id == github_id)).first()
        if user is None:
            click.echo("no user with that GitHub id; they must sign in once first", err=True)
            raise click.exceptions.Exit(1)
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
            click.echo("; ".join(exc.field_errors.values()), err=True)
            raise click.exceptions.Exit(1) from exc
        session.commit()
    click.echo(raw)


@jobs_cli.command(
    "failed", help="List failed jobs and jobs waiting to be tried again (PostgreSQL queue only)."
)
def jobs_failed() -> None:
    settings = get_settings()
    session_factory = make_session_factory(make_engine(settings.database_url))
    with session_factory() as session:
        troubled = queue.troubled_jobs(session)
    for job in troubled:
        when = f"next try {job.next_try_at:%Y-%m-%d %H:%M:%S} UTC" if job.next_try_at else ""
        click.echo(
            f"{job.id}\t{job.queue}\t{job.task}\t{job.status}\t{job.attempts} attempts\t{when}"
        )
    click.echo(f"{len(troubled)} failed or retrying", err=True)


def _ensure_sqlite_folder(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + ":memory:"):
        folder = os.path.dirname(url[len(prefix) :])
        if folder:
            os.makedirs(folder, exist_ok=True)


def main() -> None:
    cli()
