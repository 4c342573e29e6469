"""Proposal queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from app.models import EvaluationSubmission, Proposal, ProposalState, User

ACTIVE = (ProposalState.DRAFT, ProposalState.SUBMITTED)
RECEIVED = (
    ProposalState.SUBMITTED,
    ProposalState.UNDER_EVALUATION,
    ProposalState.AWARDED,
    ProposalState.NOT_AWARDED,
    ProposalState.DISQUALIFIED,
)


def active_for(session: Session, opportunity_id: int, user_id: int) -> Proposal | None:
    return session.scalars(
        select(Proposal).where(
            Proposal.opportunity_id == opportunity_id,
            Proposal.author_user_id == user_id,
            Proposal.state != ProposalState.WITHDRAWN,
        )
    ).first()


def received(session: Session, opportunity_id: int) -> Sequence[tuple[Proposal, User]]:
    """Proposals that were submitted (drafts and withdrawn ones never count), with authors."""
    return session.execute(
        select(Proposal, User)
        .join(User, User.id == Proposal.author_user_id)
        .where(Proposal.opportunity_id == opportunity_id, Proposal.state.in_(RECEIVED))
        .order_by(Proposal.submitted_at, Proposal.id)
    ).all()


def submitted_ids(session: Session, opportunity_id: int) -> Sequence[int]:
    return session.scalars(
        select(Proposal.id).where(
            Proposal.opportunity_id == opportunity_id,
            Proposal.state == ProposalState.SUBMITTED,
        )
    ).all()


def active_with_authors(session: Session, opportunity_id: int) -> Sequence[tuple[Proposal, User]]:
    """Drafts and submitted proposals: the people who are working on a bid right now."""
    return session.execute(
        select(Proposal, User)
        .join(User, User.id == Proposal.author_user_id)
        .where(Proposal.opportunity_id == opportunity_id, Proposal.state.in_(ACTIVE))
    ).all()


def not_evaluated_by(session: Session, opportunity_id: int, user_id: int) -> int:
    """Proposals under evaluation this person has not submitted an evaluation of."""
    return int(
        session.scalar(
            select(func.count(Proposal.id)).where(
                Proposal.opportunity_id == opportunity_id,
                Proposal.state == ProposalState.UNDER_EVALUATION,
                ~exists().where(
                    EvaluationSubmission.proposal_id == Proposal.id,
                    EvaluationSubmission.evaluator_user_id == user_id,
                ),
            )
        )
        or 0
    )
