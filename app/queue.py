"""The PostgreSQL job queue (procrastinate): which queues there are, how a web process wakes a
job when a delivery is stored, and the jobs an administrator should look at.

The inbox and outbox rows stay the source of truth: they make the money path exactly-once. The
queue only decides when the job functions run (app/jobs.py lists them). It knows no domain, so
the web layer and app/db.py may use it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

import procrastinate
import structlog
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text
from sqlalchemy.orm import Session

log = structlog.get_logger("devex.queue")

# Separate queues, so money never waits behind slow work: a worker serving several takes the
# highest priority first, and each can have workers of its own (`devex worker --queue money`).
MONEY, MERGES, GITHUB, MAIL, HOUSEKEEPING = "money", "merges", "github", "mail", "housekeeping"
QUEUES = (MONEY, MERGES, GITHUB, MAIL, HOUSEKEEPING)
PRIORITY = {MONEY: 30, MERGES: 20, GITHUB: 0, MAIL: 0, HOUSEKEEPING: 0}

# The task that drains each inbox table, woken when a new row is stored there.
DRAIN_OF_TABLE = {"webhook_deliveries": "merges.drain", "stripe_events": "money.drain"}
QUEUE_OF_DRAIN = {"merges.drain": MERGES, "money.drain": MONEY}


def make_app(database_url: str) -> procrastinate.App:
    """The queue on the application's PostgreSQL database (the schema comes by migration)."""
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))


async def wake(app: procrastinate.App, task_name: str) -> None:
    """Defers a drain. At most one job of it waits in the queue (its queueing lock), however
    many deliveries arrive: it takes every pending row. One runs at a time (its lock); a row
    stored while one runs wakes the next."""
    queue = QUEUE_OF_DRAIN[task_name]
    deferrer = app.configure_task(
        task_name,
        queue=queue,
        priority=PRIORITY[queue],
        lock=task_name,
        queueing_lock=task_name,
    )
    with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):  # one waiting is enough
        await deferrer.defer_async()


class Wakes:
    """A web process's way to wake the drain of an inbox, through the inbox's own pool."""

    def __init__(self, database_url: str) -> None:
        self.app = make_app(database_url)

    async def open(self, pool: AsyncConnectionPool) -> None:
        await self.app.open_async(pool=pool)

    async def close(self) -> None:
        await self.app.close_async()

    async def row_stored(self, table: str) -> None:
        """Defers the drain of ``table``; one already waiting is enough. A wake that cannot be
        queued (the database busy) is not an error for the sender: the row is stored, and the
        drain's periodic sweep finds it."""
        task_name = DRAIN_OF_TABLE[table]
        try:
            await wake(self.app, task_name)
        except procrastinate.exceptions.ProcrastinateException as exc:
            log.warning("queue.wake_lost", task=task_name, error=type(exc).__name__)


def cron_every(seconds: float) -> str:
    """A cron schedule for "every N seconds", N rounded down to an interval that divides the
    minute, hour or day evenly (so runs fall at the same times on every worker)."""
    whole = max(1, int(seconds))
    if whole < 60:
        return f"* * * * * */{_divisor_at_most(whole, 60)}"
    if whole < 3600:
        return f"*/{_divisor_at_most(whole // 60, 60)} * * * *"
    return f"0 */{_divisor_at_most(whole // 3600, 24)} * * *"


def _divisor_at_most(n: int, of: int) -> int:
    return max(d for d in range(1, min(n, of) + 1) if of % d == 0)


@dataclass(frozen=True)
class TroubledJob:
    id: int
    task: str
    queue: str
    status: str  # "failed", or "todo" for a job waiting to be tried again
    attempts: int
    next_try_at: datetime | None
    last_event_at: datetime | None


TROUBLED_LIMIT = 200


def troubled_jobs(session: Session) -> list[TroubledJob]:
    """Failed jobs, and jobs waiting to be tried again after a failure, newest first. The
    embedded SQLite setup has no queue: nothing to list."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    rows = session.execute(
        text(
            "SELECT j.id, j.task_name, j.queue_name, j.status::text AS status, j.attempts, "
            "j.scheduled_at, (SELECT max(e.at) FROM procrastinate_events e "
            "WHERE e.job_id = j.id) AS last_event_at "
            "FROM procrastinate_jobs j "
            "WHERE j.status = 'failed' OR (j.status = 'todo' AND j.attempts > 0) "
            "ORDER BY j.id DESC LIMIT :limit"
        ),
        {"limit": TROUBLED_LIMIT},
    )
    return [
        TroubledJob(
            id=row.id,
            task=row.task_name,
            queue=row.queue_name,
            status=row.status,
            attempts=row.attempts,
            next_try_at=row.scheduled_at if row.status == "todo" else None,
            last_event_at=row.last_event_at,
        )
        for row in rows
    ]
