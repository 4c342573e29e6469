"""Pay-on-pull jobs: the GitHub inbox, the reconcile job, the check of work that has just
started, and the release of verified merges whose delay has passed. Each claims its rows with
SKIP LOCKED and commits per row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.errors import InvalidTransition
from app.github import installations
from app.github import repository as github_repository
from app.github.client import (
    GitHubClient,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    github_time,
)
from app.models import Award, Opportunity, OpportunityState, Outcome, WebhookDelivery
from app.models.base import utcnow
from app.opportunities import repository as opportunities_repository
from app.payments import repository as payments_repository
from app.payments import tasks as payment_tasks
from app.payonpull import service
from app.payonpull.verification import closes_issue_of

GitHubStep = Callable[[Session, GitHubClient, Settings], int]


def with_github(step: GitHubStep) -> Callable[[sessionmaker[Session], Settings], int]:
    """The periodic job that runs one step with a session and a GitHub client of its own."""

    def job(session_factory: sessionmaker[Session], settings: Settings) -> int:
        github = installations.client_for(settings, session_factory)
        with github, session_factory() as session:
            return step(session, github, settings)

    return job


def reconcile(session: Session, github: GitHubClient, settings: Settings) -> int:
    """Pay-on-pull rule 5: ask GitHub about every opportunity in progress, so that a merge whose
    webhook never arrived is still found (and verified exactly as a webhook's would be)."""
    in_progress = session.scalars(
        select(Opportunity).where(
            Opportunity.state == OpportunityState.IN_PROGRESS,
            Opportunity.github_repository_id.is_not(None),
        )
    ).all()
    pulls = ClosedPulls(github, _earliest_awards(session))
    return _ask_github_about(session, github, settings, in_progress, pulls)


def _earliest_awards(session: Session) -> dict[str, datetime]:
    """For each repository with work in progress, its earliest award: one reading of its
    closed pull requests since then serves every opportunity in it."""
    rows: Sequence[tuple[str, datetime]] = session.execute(
        select(func.lower(Opportunity.github_repository_full_name), func.min(Award.awarded_at))
        .join(Award, Award.opportunity_id == Opportunity.id)
        .where(Opportunity.state == OpportunityState.IN_PROGRESS)
        .group_by(func.lower(Opportunity.github_repository_full_name))
    ).all()
    return dict(rows)


class ClosedPulls:
    """A run's reading of repositories' recently closed pull requests: a repository with many
    opportunities in progress is asked once per run (every page), not once per opportunity,
    reading back from ``earliest[repository]`` (or the first asker's time) minus the clocks'
    margin; each opportunity then sees the ones updated since its own award."""

    def __init__(self, github: GitHubClient, earliest: dict[str, datetime] | None = None) -> None:
        self._github = github
        self._earliest = earliest or {}
        self._read: dict[str, tuple[datetime, list[dict[str, Any]]]] = {}

    def since(self, full_name: str, since: datetime) -> list[dict[str, Any]]:
        key = full_name.lower()
        kept = self._read.get(key)
        if kept is None or since < kept[0]:
            start = min(since, self._earliest.get(key, since) - CLOCK_MARGIN)
            kept = (start, list(self._github.closed_pull_requests_since(full_name, start)))
            self._read[key] = kept
        return [pull for pull in kept[1] if github_time(pull.get("updated_at")) >= since]


def check_installations(session: Session, _github: GitHubClient, settings: Settings) -> int:
    """Every installation as GitHub has it now, in case an installation event was lost; unpaid
    work in what the app can no longer reach is held. Returns the work held."""
    api = installations.app_api(settings)
    if api is None:
        return 0
    held = sum(
        len(service.hold_unreachable_work(session, lost))
        for lost in installations.sync_all(session, api)
    )
    session.commit()
    return held


def check_started_work(session: Session, github: GitHubClient, settings: Settings) -> int:
    """Work that has just started (funded, accepted, payouts enabled) may have been merged
    before it started: its delivery then found nothing to pay. Asked at once, not at the
    next reconcile, so such a merge is paid within seconds of the funding."""
    settled = 0
    for _attempt in range(MAX_CHECKS_PER_RUN):
        # One at a time, claimed: two workers never ask about the same work at once.
        claimed = session.scalars(
            select(Opportunity)
            .where(*opportunities_repository.merge_check_due(utcnow()))
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if claimed is None:
            break
        settled += _ask_github_about(session, github, settings, [claimed])
    return settled


MAX_CHECKS_PER_RUN = 50


# GitHub unwell: a started work's check waits this long before it is tried again.
MERGE_CHECK_RETRY = timedelta(minutes=1)


def _ask_github_about(
    session: Session,
    github: GitHubClient,
    settings: Settings,
    found: Sequence[Opportunity],
    pulls: ClosedPulls | None = None,
) -> int:
    settled = 0
    pulls = pulls or ClosedPulls(github)
    for opportunity in found:
        opportunity_id = opportunity.id
        waiting = False
        try:
            settled += _settle_closing_merge(session, github, settings, opportunity, pulls)
            opportunity.merge_check_due_at = None
        except (GitHubError, InvalidTransition) as exc:
            session.rollback()
            asked = session.get(Opportunity, opportunity_id)
            if asked is not None and asked.merge_check_due_at is not None:
                # Settled by another worker meanwhile, or a repository GitHub cannot show (an
                # answer: the reconcile job keeps asking): done. Anything else means GitHub is
                # unwell: ask again a little later, or when GitHub said we may.
                done = isinstance(exc, GitHubNotFound | InvalidTransition)
                asked.merge_check_due_at = None if done else _retry_time(exc)
            waiting = isinstance(exc, GitHubRateLimited)
        session.commit()
        if waiting:
            break  # GitHub asks us to wait: the rest is asked at a later run
    return settled


def _retry_time(error: Exception) -> datetime:
    if isinstance(error, GitHubRateLimited):
        return max(error.retry_at, utcnow() + MERGE_CHECK_RETRY)
    return utcnow() + MERGE_CHECK_RETRY


def _settle_closing_merge(
    session: Session,
    github: GitHubClient,
    settings: Settings,
    opportunity: Opportunity,
    pulls: ClosedPulls,
) -> int:
    """Settles the most recent merged pull request that closes the opportunity's issue, among
    those closed since the award (every page of them). Pull requests of the awardee are
    verified too, since an issue linked in the sidebar only shows in the API's answer; one an
    administrator dismissed for this work is not judged again."""
    found = payments_repository.awardee_of(session, opportunity.id)
    if found is None:
        return 0
    award, awardee = found
    full_name = opportunity.github_repository_full_name
    dismissed = service.dismissed_pulls(session, opportunity.id)
    for pull in pulls.since(full_name, award.awarded_at - CLOCK_MARGIN):
        closes = closes_issue_of(pull.get("body"), opportunity)
        by_awardee = (pull.get("user") or {}).get("id") == awardee.github_id
        number = int(pull["number"])
        if not pull.get("merged_at") or not (closes or by_awardee) or number in dismissed:
            continue
        if service.settle_merge(session, github, settings, opportunity, number, closes) is not None:
            return 1
    return 0


# GitHub's clock and ours may disagree a little: look a bit before the award.
CLOCK_MARGIN = timedelta(minutes=10)


def process_inbox(
    session: Session, github: GitHubClient, settings: Settings, limit: int = 50
) -> int:
    """Processes pending deliveries, each claimed with SKIP LOCKED so that concurrent workers
    never process one twice; a GitHub outage leaves it pending for the next run. GitHub saying
    a pull request or repository does not exist (deleted, or made private) is an answer, not an
    outage: that delivery is set aside, so it cannot hold up the ones behind it; no payment
    follows from it, and the reconcile job keeps asking about the work in progress."""
    done = 0
    for _attempt in range(limit):
        delivery = github_repository.claim_pending_delivery(session)
        if delivery is None:
            break
        delivery_id = delivery.id
        try:
            # Its lines carry GitHub's delivery id, as the request that stored it did.
            with structlog.contextvars.bound_contextvars(delivery_id=delivery.delivery_id):
                delivery.finish(service.process_delivery(session, github, settings, delivery))
        except GitHubError as exc:
            session.rollback()
            if not _record_failure(session, delivery_id, exc):
                break  # GitHub is unwell: the next run tries again
        session.commit()
        done += 1
    return done


# A delivery GitHub keeps failing on is given up after this many runs (about an hour of
# regular runs), so it cannot hold up the inbox for ever; the reconcile job still asks GitHub
# about the work in progress, so a merge it carried is delayed, never lost.
MAX_DELIVERY_ATTEMPTS = 120


def _record_failure(session: Session, delivery_id: int, error: GitHubError) -> bool:
    """Records a failed attempt (after the rollback); True when the delivery is set aside, so
    the inbox goes on. GitHub saying a pull request does not exist is an answer, not an outage."""
    delivery = session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    if isinstance(error, GitHubNotFound):
        delivery.finish(Outcome.ignored(f"GitHub cannot show {error}"))
        return True
    if isinstance(error, GitHubRateLimited):
        # Waiting is not failing: it never brings the delivery nearer to being given up. Its
        # first attempt is still counted, so the worker stops waking up for it.
        if delivery.attempts == 0:
            delivery.note_attempt(f"waiting: {error}")
        session.commit()
        return False
    if delivery.attempts + 1 >= MAX_DELIVERY_ATTEMPTS:
        delivery.finish(Outcome.ignored(f"gave up after {delivery.attempts + 1} attempts: {error}"))
    else:
        delivery.note_attempt(f"retrying: {error}")
    session.commit()
    return False


def release_due_payouts(session_factory: sessionmaker[Session], settings: Settings) -> int:
    """Verified merges whose release delay has passed (see the release_delay_seconds setting)."""
    return payment_tasks.each_claimed(
        session_factory,
        settings,
        payments_repository.release_due(),
        lambda session, _gateway, payout: service.release_due(session, payout),
        payment_tasks.note_only,
    )
