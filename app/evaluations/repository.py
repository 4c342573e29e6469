"""Evaluation queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Award,
    ConflictDeclaration,
    EvaluationSubmission,
    Opportunity,
    Proposal,
    RubricCriterion,
    Score,
    User,
)


def rubric(session: Session, opportunity_id: int) -> Sequence[RubricCriterion]:
    return session.scalars(
        select(RubricCriterion)
        .where(RubricCriterion.opportunity_id == opportunity_id)
        .order_by(RubricCriterion.position)
    ).all()


def submitted_scores(
    session: Session, proposal_ids: Sequence[int]
) -> dict[int, dict[str, list[int]]]:
    """proposal → criterion → scores, from evaluators who submitted their evaluation only."""
    found: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    if not proposal_ids:
        return {}
    rows = session.execute(
        select(Score.proposal_id, Score.criterion_key, Score.score)
        .join(
            EvaluationSubmission,
            (EvaluationSubmission.proposal_id == Score.proposal_id)
            & (EvaluationSubmission.evaluator_user_id == Score.evaluator_user_id),
        )
        .where(Score.proposal_id.in_(proposal_ids))
    )
    for proposal_id, key, score in rows:
        found[proposal_id][key].append(score)
    return {pid: dict(by_key) for pid, by_key in found.items()}


def comments_for(session: Session, proposal_id: int) -> Sequence[tuple[str, int, str]]:
    """(criterion, score, comment) from submitted evaluations: what a bidder sees of their own."""
    return session.execute(
        select(Score.criterion_key, Score.score, Score.comment)
        .join(
            EvaluationSubmission,
            (EvaluationSubmission.proposal_id == Score.proposal_id)
            & (EvaluationSubmission.evaluator_user_id == Score.evaluator_user_id),
        )
        .where(Score.proposal_id == proposal_id)
        .order_by(Score.criterion_key)
    ).all()


def my_scores(session: Session, proposal_id: int, user_id: int) -> dict[str, Score]:
    return {
        s.criterion_key: s
        for s in session.scalars(
            select(Score).where(
                Score.proposal_id == proposal_id, Score.evaluator_user_id == user_id
            )
        )
    }


def submission_counts(session: Session, proposal_ids: Sequence[int]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for (proposal_id,) in session.execute(
        select(EvaluationSubmission.proposal_id).where(
            EvaluationSubmission.proposal_id.in_(proposal_ids)
        )
    ):
        counts[proposal_id] += 1
    return dict(counts)


def has_submitted(session: Session, proposal_id: int, user_id: int) -> bool:
    return session.get(EvaluationSubmission, (proposal_id, user_id)) is not None


def award_for(session: Session, opportunity_id: int) -> Award | None:
    """The current award (an award ended after a missed delivery is history)."""
    return session.scalars(
        select(Award).where(Award.opportunity_id == opportunity_id, Award.ended_at.is_(None))
    ).first()


def proposals_before_deadline(
    session: Session, proposal_ids: Collection[int], now: datetime
) -> set[int]:
    """Those of ``proposal_ids`` whose opportunity's deadline is still ahead."""
    if not proposal_ids:
        return set()
    return set(
        session.scalars(
            select(Proposal.id)
            .join(Opportunity, Opportunity.id == Proposal.opportunity_id)
            .where(Proposal.id.in_(proposal_ids), Opportunity.proposal_deadline > now)
        )
    )


def declarations(
    session: Session, opportunity_id: int
) -> Sequence[tuple[ConflictDeclaration, User]]:
    return session.execute(
        select(ConflictDeclaration, User)
        .join(User, User.id == ConflictDeclaration.user_id)
        .where(ConflictDeclaration.opportunity_id == opportunity_id)
        .order_by(ConflictDeclaration.declared_at, ConflictDeclaration.id)
    ).all()


def opportunity_of_proposals(session: Session, proposal_ids: Collection[int]) -> dict[int, int]:
    if not proposal_ids:
        return {}
    rows = session.execute(
        select(Proposal.id, Proposal.opportunity_id).where(Proposal.id.in_(proposal_ids))
    )
    return {row.id: row.opportunity_id for row in rows}


def awarded_proposal_ids(session: Session, opportunity_id: int) -> set[int]:
    """Every proposal that held the opportunity's contract, the current one included."""
    return set(
        session.scalars(select(Award.proposal_id).where(Award.opportunity_id == opportunity_id))
    )
