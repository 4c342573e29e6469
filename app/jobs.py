"""The periodic job loop, run by `devex worker` (or inside `devex serve` for the embedded setup)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

import structlog
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.delivery import tasks as delivery_tasks
from app.github import tasks as github_tasks
from app.models import InboxStatus, Opportunity, Payout, PayoutState, StripeEvent, WebhookDelivery
from app.models.base import utcnow
from app.notifications import tasks as notification_tasks
from app.opportunities import repository as opportunities_repository
from app.opportunities import tasks as opportunity_tasks
from app.payments import repository as payments_repository
from app.payments import tasks as payment_tasks
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
