"""Delivery queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, CheckIn, Opportunity, OpportunityState, User


def check_ins(session: Session, opportunity_id: int) -> Sequence[tuple[CheckIn, User | None]]:
    """The opportunity's check-ins, newest first, with their authors (none for GitHub's)."""
    rows = session.execute(
        select(CheckIn, User)
        .outerjoin(User, User.id == CheckIn.author_user_id)
        .where(CheckIn.opportunity_id == opportunity_id)
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
    ).all()
    return [(row[0], row[1]) for row in rows]


def latest_check_in_at(session: Session, award_id: int) -> datetime | None:
    return session.scalar(select(func.max(CheckIn.created_at)).where(CheckIn.award_id == award_id))


def latest_start_at(session: Session, opportunity_id: int) -> datetime | None:
    """When the work last (re)started: funded and accepted, or extended after a miss."""
    return session.scalar(
        select(func.max(AuditEvent.occurred_at)).where(
            AuditEvent.subject_type == "opportunity",
            AuditEvent.subject_id == opportunity_id,
            AuditEvent.to_state == OpportunityState.IN_PROGRESS,
        )
    )


def in_progress_ids(session: Session) -> Sequence[int]:
    return session.scalars(
        select(Opportunity.id)
        .where(Opportunity.state == OpportunityState.IN_PROGRESS)
        .order_by(Opportunity.id)
    ).all()


def in_repository(session: Session, repository_id: object) -> Sequence[Opportunity]:
    """Work under contract in a repository, where a pull request counts as activity."""
    return session.scalars(
        select(Opportunity).where(
            Opportunity.github_repository_id == repository_id,
            Opportunity.state.in_([OpportunityState.IN_PROGRESS, OpportunityState.MISSED_DELIVERY]),
        )
    ).all()
