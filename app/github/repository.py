"""Queries of the GitHub domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.models import (
    GitHubInstallation,
    InboxStatus,
    InstalledRepository,
    IssueComment,
    Opportunity,
    OpportunityState,
    WebhookDelivery,
)


def claim_pending_delivery(session: Session) -> WebhookDelivery | None:
    """The oldest delivery to process, locked; concurrent workers skip it (SKIP LOCKED)."""
    return session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == InboxStatus.PENDING)
        .order_by(WebhookDelivery.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def claim_unposted_comment(session: Session, max_attempts: int) -> IssueComment | None:
    return session.scalars(
        select(IssueComment)
        .where(IssueComment.posted_at.is_(None), IssueComment.attempts < max_attempts)
        .order_by(IssueComment.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def last_delivery_at(session: Session, repository_id: int) -> datetime | None:
    return session.scalar(
        select(func.max(WebhookDelivery.received_at)).where(
            WebhookDelivery.repository_id == repository_id
        )
    )


def repositories_of(session: Session, installation_id: int) -> Sequence[InstalledRepository]:
    return session.scalars(
        select(InstalledRepository)
        .where(InstalledRepository.installation_id == installation_id)
        .order_by(InstalledRepository.full_name)
    ).all()


def installation_for(session: Session, full_name: str) -> int | None:
    """The active installation that holds the repository, if any."""
    found = session.execute(_active_installation(full_name)).first()
    return found.id if found else None


def team_of_installed(session: Session, full_name: str) -> int | None:
    """The team an active installation of the repository serves, if any."""
    found = session.execute(_active_installation(full_name)).first()
    return found.team_id if found else None


def _active_installation(full_name: str) -> Select[int, int | None]:
    return (
        select(GitHubInstallation.id, GitHubInstallation.team_id)
        .join(InstalledRepository)
        .where(
            InstalledRepository.name_key == full_name.lower(),
            InstalledRepository.removed_at.is_(None),
            GitHubInstallation.deleted_at.is_(None),
            GitHubInstallation.suspended_at.is_(None),
        )
    )


def connected_repository(
    session: Session, repository_id: int
) -> tuple[InstalledRepository, GitHubInstallation] | None:
    """The repository's row and its installation, however they stand."""
    row = session.get(InstalledRepository, repository_id)
    if row is None:
        return None
    installation = session.get(GitHubInstallation, row.installation_id)
    assert installation is not None
    return row, installation


def installations_of_team(session: Session, team_id: int) -> Sequence[GitHubInstallation]:
    """Connected to the team, or claimed by it and waiting for GitHub's confirmation."""
    return session.scalars(
        select(GitHubInstallation)
        .where(
            (GitHubInstallation.team_id == team_id)
            | (
                GitHubInstallation.team_id.is_(None)
                & (GitHubInstallation.claimed_by_team_id == team_id)
            )
        )
        .order_by(GitHubInstallation.id)
    ).all()


# Work whose money has not left: what a repository leaving the app puts on hold.
UNPAID_STATES = (
    OpportunityState.AWARDED,
    OpportunityState.IN_PROGRESS,
    OpportunityState.MERGED,
    OpportunityState.ON_HOLD,
    OpportunityState.MISSED_DELIVERY,
)


def unpaid_work_in(session: Session, repository_ids: Sequence[int]) -> Sequence[Opportunity]:
    return session.scalars(
        select(Opportunity)
        .where(
            Opportunity.github_repository_id.in_(repository_ids),
            Opportunity.state.in_(UNPAID_STATES),
        )
        .order_by(Opportunity.id)
    ).all()
