"""The background jobs: what each does, in which queue it runs and how often (README: Jobs).

On PostgreSQL, `devex worker` serves them from the job queue (app/queue.py): each task below
runs its jobs in order, woken when a delivery is stored and swept periodically. The embedded
SQLite setup runs the same jobs in a loop of its own (run_forever), in the web process.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import procrastinate
import psycopg
import structlog
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app import queue
from app.config import Settings
from app.db import make_engine, make_session_factory
from app.delivery import tasks as delivery_tasks
from app.email import EmailNotSent
from app.github import tasks as github_tasks
from app.github.client import GitHubError
from app.models import InboxStatus, Opportunity, Payout, PayoutState, StripeEvent, WebhookDelivery
from app.models.base import utcnow
from app.notifications import tasks as notification_tasks
from app.opportunities import repository as opportunities_repository
from app.opportunities import tasks as opportunity_tasks
from app.payments import repository as payments_repository
from app.payments import tasks as payment_tasks
from app.payments.gateway import GatewayError
from app.payonpull import service as payonpull
from app.payonpull import tasks as payonpull_tasks
from app.subscriptions import tasks as subscription_tasks

log = structlog.get_logger("devex.jobs")

Job = Callable[[sessionmaker[Session], Settings], int]
# This module is the composition root of the jobs: the payment jobs record facts about money
# and know nothing of the work it pays for, so they are given the work's reaction here.
FOLLOW = payonpull.follow_payout
PERIODIC_JOBS: dict[str, Job] = {
    "opportunities.close_past_deadlines": opportunity_tasks.close_past_deadlines,
    "notifications.deliver_pending": notification_tasks.deliver_pending,
    "subscriptions.queue_new_opportunities": subscription_tasks.queue_new_opportunities,
    "subscriptions.deliver_pending": subscription_tasks.deliver_pending,
    "payonpull.process_inbox": payonpull_tasks.with_github(payonpull_tasks.process_inbox),
    "payments.process_stripe_events": partial(payment_tasks.process_stripe_events, follow=FOLLOW),
    # After the funding events (which start work), before transfers: a merge that came before
    # the funding is found and paid in the same pass.
    "payonpull.check_started_work": payonpull_tasks.with_github(payonpull_tasks.check_started_work),
    "payonpull.release_due_payouts": payonpull_tasks.release_due_payouts,
    "payments.send_transfers": partial(payment_tasks.send_transfers, follow=FOLLOW),
    "payments.send_refunds": partial(payment_tasks.send_refunds, follow=FOLLOW),
    "payments.send_adjustments": payment_tasks.send_adjustments,
    # Quiet contracts warned, missed deliveries marked: after the inbox and the merge checks
    # of this pass, so a merge that arrived in time is settled before its deadline is judged.
    "delivery.watch_contracts": delivery_tasks.watch_contracts,
    "payments.send_partial_refunds": payment_tasks.send_partial_refunds,
    "payments.confirm_transfers": partial(payment_tasks.confirm_transfers, follow=FOLLOW),
    "github.post_issue_comments": github_tasks.post_issue_comments,
}
# Jobs that call external APIs for every open item run less often than the loop (rate limits).
SLOW_JOBS: dict[str, Job] = {
    # First, so that the reconcile asks only about repositories the app can still reach.
    "payonpull.check_installations": payonpull_tasks.with_github(
        payonpull_tasks.check_installations
    ),
    "payonpull.reconcile": payonpull_tasks.with_github(payonpull_tasks.reconcile),
}


ALL_JOBS = PERIODIC_JOBS | SLOW_JOBS


@dataclass(frozen=True)
class Task:
    """Jobs that run together, in this order, from one queue."""

    queue: str
    jobs: Sequence[str]
    every_seconds: Callable[[Settings], float]


def _job_interval(settings: Settings) -> float:
    return settings.job_interval_seconds


def _reconcile_interval(settings: Settings) -> float:
    return settings.reconcile_interval_minutes * 60


TASKS: dict[str, Task] = {
    # Woken by each new GitHub delivery: verify merges (GitHub calls), and work just started.
    "merges.drain": Task(
        queue.MERGES,
        ("payonpull.process_inbox", "payonpull.check_started_work"),
        _job_interval,
    ),
    # Woken by each Stripe event and each verified merge; calls Stripe only, never GitHub.
    "money.drain": Task(
        queue.MONEY,
        (
            "payments.process_stripe_events",
            "payonpull.release_due_payouts",
            "payments.send_transfers",
            "payments.send_refunds",
            "payments.send_adjustments",
            "payments.send_partial_refunds",
            "payments.confirm_transfers",
        ),
        _job_interval,
    ),
    # Every job that asks GitHub about all open work, at the reconcile interval.
    "github.reconcile": Task(queue.GITHUB, tuple(SLOW_JOBS), _reconcile_interval),
    "github.post_issue_comments": Task(
        queue.GITHUB, ("github.post_issue_comments",), _job_interval
    ),
    "mail.send": Task(
        queue.MAIL,
        (
            "notifications.deliver_pending",
            "subscriptions.queue_new_opportunities",
            "subscriptions.deliver_pending",
        ),
        _job_interval,
    ),
    "housekeeping.sweep": Task(
        queue.HOUSEKEEPING,
        ("opportunities.close_past_deadlines", "delivery.watch_contracts"),
        _job_interval,
    ),
}

# One retry policy per kind of failure, for every task. A service we call is unwell (GitHub,
# Stripe, the mail server, our database): try again, waiting 2, 4, 8 … 256 seconds. Anything
# else is our own defect: no retry; the job stays failed, listed for administrators (the jobs
# page, `devex jobs failed`) until someone looks. Rows a job could not finish stay pending in
# their inbox or outbox either way, and the next periodic run takes them up again.
UNREACHABLE: tuple[type[Exception], ...] = (
    GitHubError,
    GatewayError,
    EmailNotSent,
    OperationalError,
    psycopg.OperationalError,
)
RETRY = procrastinate.RetryStrategy(
    max_attempts=8, exponential_wait=2, retry_exceptions=UNREACHABLE
)


def queue_app(settings: Settings, session_factory: sessionmaker[Session]) -> procrastinate.App:
    """The queue with every task registered, periodic and wakeable: what a worker serves."""
    app = queue.make_app(settings.database_url)
    for name, task in TASKS.items():
        run = _task_function(app, task, session_factory, settings)
        # One run at a time, and at most one waiting (as queue.wake defers them): a run that
        # outlasts its interval is not joined by a second, however many workers there are.
        registered = app.task(
            name=name,
            queue=task.queue,
            priority=queue.PRIORITY[task.queue],
            retry=RETRY,
            lock=name,
            queueing_lock=name,
        )(run)
        # The periodic id makes the schedule one for every worker: the database lets one
        # worker defer each run, so a task runs once per interval however many serve it.
        app.periodic(cron=queue.cron_every(task.every_seconds(settings)), periodic_id=name)(
            registered
        )
    _queue_upkeep(app, settings)
    return app


def _queue_upkeep(app: procrastinate.App, settings: Settings) -> None:
    """The queue's own periodic tasks, in the money queue (the one every deployment serves).

    A job whose worker stopped answering (killed, its machine gone) stays "doing" and would
    hold its task's lock for ever: once the worker's heartbeat is 30 s old, the job is marked
    failed (so listed for administrators), and the next run of the task takes up its rows,
    which hold the state. Finished jobs are forgotten after a week (failed ones are kept:
    someone should look at them first)."""

    async def fail_stalled_jobs(timestamp: int | None = None) -> int:
        del timestamp
        stalled = list(await app.job_manager.get_stalled_jobs())
        for job in stalled:
            log.warning("job stalled", job_id=job.id, task=job.task_name)
            await app.job_manager.finish_job(
                job, status=procrastinate.jobs.Status.FAILED, delete_job=False
            )
        return len(stalled)

    async def forget_old_jobs(timestamp: int | None = None) -> None:
        del timestamp
        await app.job_manager.delete_old_jobs(nb_hours=JOB_HISTORY_HOURS)

    for function, cron in (
        (fail_stalled_jobs, queue.cron_every(settings.job_interval_seconds)),
        (forget_old_jobs, "17 4 * * *"),  # once a day, at a quiet hour
    ):
        name = f"queue.{function.__name__}"
        task = app.task(
            name=name,
            queue=queue.MONEY,
            priority=queue.PRIORITY[queue.MONEY],
            lock=name,
            queueing_lock=name,
        )(function)
        app.periodic(cron=cron, periodic_id=name)(task)


JOB_HISTORY_HOURS = 7 * 24


def _task_function(
    app: procrastinate.App,
    task: Task,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> Callable[..., object]:
    async def run(timestamp: int | None = None) -> dict[str, int]:
        """``timestamp`` is the periodic run's, None when woken. Jobs run in a thread (they
        are synchronous); a failing job stops none of the others, and is raised at the end
        for the retry policy to judge."""
        del timestamp
        results: dict[str, int] = {}
        failures: list[Exception] = []
        for name in task.jobs:
            # What the job's committed work makes due elsewhere (queue.wake_after_commit): a
            # verified merge is money to release, a funding event work whose merge may be there.
            with queue.collecting_wakes() as due:
                try:
                    results[name] = await asyncio.to_thread(
                        ALL_JOBS[name], session_factory, settings
                    )
                except Exception as exc:
                    log.exception("job failed", job=name)
                    failures.append(exc)
            for drain in sorted(due):
                await queue.wake(app, drain)
        if failures:
            raise failures[0]
        return results

    return run


def run_worker(settings: Settings, queues: Sequence[str], concurrency: int) -> None:
    """Serves the queues until SIGTERM or SIGINT (a job in hand is finished first)."""
    session_factory = make_session_factory(make_engine(settings.database_url))
    app = queue_app(settings, session_factory)
    with app.open():
        app.run_worker(queues=list(queues), concurrency=concurrency, install_signal_handlers=True)


def _run(
    jobs: dict[str, Job], session_factory: sessionmaker[Session], settings: Settings
) -> dict[str, int]:
    """Runs each job in its own transaction; one failing job does not stop the others."""
    results: dict[str, int] = {}
    for name, job in jobs.items():
        # Every line a job writes names it (JSON logs: "job").
        with structlog.contextvars.bound_contextvars(job=name):
            try:
                results[name] = job(session_factory, settings)
            except Exception:
                log.exception("job failed")
                results[name] = -1
    return results


def run_periodic_jobs_once(
    session_factory: sessionmaker[Session], settings: Settings
) -> dict[str, int]:
    return _run(PERIODIC_JOBS, session_factory, settings)


def run_slow_jobs_once(
    session_factory: sessionmaker[Session], settings: Settings
) -> dict[str, int]:
    return _run(SLOW_JOBS, session_factory, settings)


def run_forever(
    session_factory: sessionmaker[Session], settings: Settings, stop: threading.Event
) -> None:
    next_slow_run = 0.0
    while not stop.is_set():
        results: dict[str, int] = {}
        # Slow jobs first: what reconciling finds (a merge) is paid in the same pass.
        if time.monotonic() >= next_slow_run:
            results |= run_slow_jobs_once(session_factory, settings)
            next_slow_run = time.monotonic() + settings.reconcile_interval_minutes * 60
        results |= run_periodic_jobs_once(session_factory, settings)
        if any(results.values()):
            log.info("jobs ran", **results)
        wait_for_work(session_factory, settings, stop)


def wait_for_work(
    session_factory: sessionmaker[Session], settings: Settings, stop: threading.Event
) -> None:
    """Sleeps until the next run is due, or sooner when money-path work arrives (a webhook
    delivery, a Stripe event, a transfer to send): a cheap indexed look, a few times a
    second, so a merge is paid in well under the job interval."""
    deadline = time.monotonic() + settings.job_interval_seconds
    while not stop.wait(min(settings.work_poll_seconds, settings.job_interval_seconds)):
        if time.monotonic() >= deadline:
            return
        try:
            with session_factory() as session:
                if money_path_work_waiting(session):
                    return
        except SQLAlchemyError:
            log.warning("cannot look for new work; waiting for the next run")


def money_path_work_waiting(session: Session) -> bool:
    """Only work never tried: what failed once (GitHub or Stripe unwell) waits for the next
    regular run, or the worker would call them a few times a second. Refunds are not urgent."""
    waiting = (
        select(WebhookDelivery.id).where(
            WebhookDelivery.status == InboxStatus.PENDING, WebhookDelivery.attempts == 0
        ),
        select(StripeEvent.id).where(
            StripeEvent.status == InboxStatus.PENDING, StripeEvent.attempts == 0
        ),
        select(Payout.id).where(
            Payout.state == PayoutState.RELEASING, Payout.transfer_attempts == 0
        ),
        select(Payout.id).where(*payments_repository.release_due()),
        select(Opportunity.id).where(*opportunities_repository.merge_check_due(utcnow())),
    )
    return any(session.scalars(query.limit(1)).first() is not None for query in waiting)
