"""Peer review queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Opportunity, Review, ReviewRequest, User


def open_request(session: Session, opportunity_id: int) -> ReviewRequest | None:
    return session.scalars(
        select(ReviewRequest).where(
            ReviewRequest.opportunity_id == opportunity_id, ReviewRequest.closed_at.is_(None)
        )
    ).first()


def reviews_of(session: Session, opportunity_id: int) -> Sequence[tuple[Review, User]]:
    return session.execute(
        select(Review, User)
        .join(User, User.id == Review.reviewer_user_id)
        .where(Review.opportunity_id == opportunity_id)
        .order_by(Review.id)
    ).all()


def reviewer_count(session: Session, opportunity_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(func.distinct(Review.reviewer_user_id))).where(
                Review.opportunity_id == opportunity_id
            )
        )
        or 0
    )


def open_requests(session: Session) -> Sequence[tuple[ReviewRequest, Opportunity]]:
    return session.execute(
        select(ReviewRequest, Opportunity)
        .join(Opportunity, Opportunity.id == ReviewRequest.opportunity_id)
        .where(ReviewRequest.closed_at.is_(None))
        .order_by(ReviewRequest.created_at)
    ).all()


def first_review_by(session: Session, opportunity_id: int, user_id: int) -> Review | None:
    """This person's first review of the opportunity's draft: a conflict of interest later."""
    return session.scalars(
        select(Review)
        .where(Review.opportunity_id == opportunity_id, Review.reviewer_user_id == user_id)
        .order_by(Review.submitted_at, Review.id)
    ).first()
