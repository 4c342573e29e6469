"""Question and addendum queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Addendum, Question


def addenda(session: Session, opportunity_id: int) -> Sequence[Addendum]:
    return session.scalars(
        select(Addendum).where(Addendum.opportunity_id == opportunity_id).order_by(Addendum.number)
    ).all()


def next_addendum_number(session: Session, opportunity_id: int) -> int:
    highest = session.scalar(
        select(func.max(Addendum.number)).where(Addendum.opportunity_id == opportunity_id)
    )
    return int(highest or 0) + 1


def unanswered(session: Session, opportunity_id: int) -> Sequence[Question]:
    return session.scalars(
        select(Question)
        .where(Question.opportunity_id == opportunity_id, Question.answered_at.is_(None))
        .order_by(Question.id)
    ).all()
