"""The PostgreSQL job queue (procrastinate): which queues there are, how a web process wakes a
job when a delivery is stored or a request's committed work gives a drain something to do, and
the jobs an administrator should look at.

The inbox and outbox rows stay the source of truth: they make the money path exactly-once. The
queue only decides when the job functions run (app/jobs.py lists them). It knows no domain, so
app/db.py may use it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql
from sqlalchemy import event, text
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    # Web processes only write the jobs table (insert_waking_its_drain) and never load the
    # library itself; workers and the CLI do, through make_app.
    import procrastinate

# Separate queues, so money never waits behind slow work: a worker serving several takes the
# highest priority first, and each can have workers of its own (`devex worker --queue money`).
MONEY, MERGES, GITHUB, MAIL, HOUSEKEEPING = "money", "merges", "github", "mail", "housekeeping"
QUEUES = (MONEY, MERGES, GITHUB, MAIL, HOUSEKEEPING)
PRIORITY = {MONEY: 30, MERGES: 20, GITHUB: 0, MAIL: 0, HOUSEKEEPING: 0}

# The tasks that drain the inboxes and outboxes (app/jobs.py), each woken when there is work.
MERGES_DRAIN, MONEY_DRAIN = "merges.drain", "money.drain"
# The task that drains each inbox table, woken when a new row is stored there.
DRAIN_OF_TABLE = {"webhook_deliveries": MERGES_DRAIN, "stripe_events": MONEY_DRAIN}
QUEUE_OF_DRAIN = {MERGES_DRAIN: MERGES, MONEY_DRAIN: MONEY}


def make_app(database_url: str) -> procrastinate.App:
    """The queue on the application's PostgreSQL database (the schema comes by migration)."""
    import procrastinate

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
    from procrastinate.exceptions import AlreadyEnqueued

    with contextlib.suppress(AlreadyEnqueued):  # one waiting is enough
        await deferrer.defer_async()


def insert_waking_its_drain(insert: sql.Composable, table: str) -> sql.Composed:
    """The inbox's ``INSERT … RETURNING id`` and, when it stores a new row, its drain's job, in
    one statement: one round trip on the webhooks' hot path, and no stored row without its
    wake-up."""
    woken = _defer_drain(DRAIN_OF_TABLE[table], sql.SQL("FROM stored"))
    return sql.SQL("WITH stored AS ({insert}), woken AS ({woken}) SELECT id FROM stored").format(
        insert=insert, woken=woken
    )


def _defer_drain(task_name: str, rows: sql.Composable) -> sql.Composed:
    """The drain's job, once per row ``rows`` gives (``FROM stored``; nothing: once). The job
    row is the one procrastinate's own defer function writes (the ``procrastinate_defer_jobs_v1``
    of its schema): one runs at a time (its lock), at most one waits (its queueing lock); where
    the insert would fail on that index (a job already waiting), ON CONFLICT lets the one
    waiting do."""
    queue = QUEUE_OF_DRAIN[task_name]
    return sql.SQL(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, queueing_lock) "
        "SELECT {queue}, {task}, {priority}, {task}, {task} {rows} "
        "ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING"
    ).format(
        queue=sql.Literal(queue),
        task=sql.Literal(task_name),
        priority=sql.Literal(PRIORITY[queue]),
        rows=rows,
    )


# --- Wake-ups asked for by a transaction -------------------------------------------------------
# A verified merge, a funding that starts work, an administrator's release, a cancellation's
# refund: a transaction writes work for a drain, which would otherwise wait for the drain's next
# periodic run (DEVEX_JOB_INTERVAL_SECONDS). The service that writes it asks
# (wake_after_commit); once the transaction has committed, the drain is deferred: by get_db for
# a web request (wake_committed), by the job runner for a job (collecting_wakes).
_ASKED = "devex.queue.asked"
_COMMITTED = "devex.queue.committed"
_COLLECTED: ContextVar[set[str] | None] = ContextVar("devex_queue_collected", default=None)


def wake_after_commit(session: Session, task_name: str) -> None:
    """``task_name`` has work from this transaction: woken once it commits, never if it rolls
    back."""
    session.info.setdefault(_ASKED, set()).add(task_name)


@contextlib.contextmanager
def collecting_wakes() -> Iterator[set[str]]:
    """The drains that the transactions committed inside the block asked for, in this context
    and the threads it runs code in (asyncio.to_thread copies the context)."""
    collected: set[str] = set()
    token = _COLLECTED.set(collected)
    try:
        yield collected
    finally:
        _COLLECTED.reset(token)


@event.listens_for(Session, "after_commit")
def _keep_committed_wakes(session: Session) -> None:
    """Into the job runner's collection when a job runs, else onto the session (a request's,
    for get_db)."""
    asked = session.info.pop(_ASKED, set())
    collected = _COLLECTED.get()
    if collected is None:
        collected = session.info.setdefault(_COMMITTED, set())
    collected.update(asked)


@event.listens_for(Session, "after_rollback")
def _forget_asked_wakes(session: Session) -> None:
    session.info.pop(_ASKED, None)


def wake_committed(session: Session) -> None:
    """Defers each drain that committed work asked for, in a transaction of its own that takes
    no other lock: waiting on another transaction's wake of the same drain (the queueing lock's
    index) cannot then close a circle. On SQLite there is no queue; the embedded loop looks for
    money-path work every DEVEX_WORK_POLL_SECONDS."""
    tasks = session.info.pop(_COMMITTED, set())
    if not tasks or session.get_bind().dialect.name != "postgresql":
        return
    connection = session.connection()
    # The statement is psycopg's SQL, written out for the session's own (psycopg) connection.
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    for task_name in sorted(tasks):
        connection.exec_driver_sql(_defer_drain(task_name, sql.SQL("")).as_string(driver))
    session.commit()


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
