"""Queries behind "My work" and "Needs you". Each one is a single statement whatever the number
of rows (counts and "next" ids are correlated subqueries), and each filters on the teams where
the person holds the role the action needs, so nobody is shown another team's work."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from app.models import (
    Award,
    ConflictDeclaration,
    EvaluationSubmission,
    Opportunity,
    OpportunityState,
    Payout,
    PayoutState,
    Proposal,
    ProposalState,
    Question,
    Review,
    ReviewRequest,
)
from app.payments import repository as payments_repository
from app.proposals.repository import RECEIVED

UNDER_EVALUATION = ProposalState.UNDER_EVALUATION
S = OpportunityState


# --- a developer's own work ----------------------------------------------------------------


def proposals_of(
    session: Session, user_id: int
) -> Sequence[tuple[Proposal, Opportunity, Award | None, Payout | None]]:
    """Every proposal the person has not withdrawn, with its award and payment when it won."""
    return session.execute(
        select(Proposal, Opportunity, Award, Payout)
        .join(Opportunity, Opportunity.id == Proposal.opportunity_id)
        .outerjoin(Award, (Award.proposal_id == Proposal.id) & Award.ended_at.is_(None))
        .outerjoin(Payout, Payout.award_id == Award.id)
        .where(
            Proposal.author_user_id == user_id,
            Proposal.state != ProposalState.WITHDRAWN,
        )
        .order_by(Proposal.updated_at.desc(), Proposal.id.desc())
    ).all()


# --- a team member's work ------------------------------------------------------------------


def drafts(session: Session, team_ids: Collection[int]) -> Sequence[Opportunity]:
    return session.scalars(
        select(Opportunity)
        .where(Opportunity.team_id.in_(team_ids), Opportunity.state == S.DRAFT)
        .order_by(Opportunity.updated_at, Opportunity.id)
    ).all()


def drafts_with_unread_reviews(
    session: Session, team_ids: Collection[int]
) -> Sequence[Opportunity]:
    """Drafts with a peer review the team has neither answered nor marked resolved."""
    unanswered = (
        select(Review.id)
        .where(
            Review.opportunity_id == Opportunity.id,
            Review.resolved_at.is_(None),
            Review.author_reply == "",
        )
        .exists()
    )
    return session.scalars(
        select(Opportunity)
        .where(
            Opportunity.team_id.in_(team_ids),
            Opportunity.state.in_([S.DRAFT, S.IN_PEER_REVIEW]),
            unanswered,
        )
        .order_by(Opportunity.updated_at, Opportunity.id)
    ).all()


def unanswered_questions(
    session: Session, team_ids: Collection[int]
) -> Sequence[tuple[Question, Opportunity]]:
    """Questions on work still open for proposals: answers matter to bidders until then."""
    return session.execute(
        select(Question, Opportunity)
        .join(Opportunity, Opportunity.id == Question.opportunity_id)
        .where(
            Opportunity.team_id.in_(team_ids),
            Opportunity.state == S.PUBLISHED,
            Question.answered_at.is_(None),
        )
        .order_by(Question.created_at, Question.id)
    ).all()


def evaluations_waiting(
    session: Session, user_id: int, team_ids: Collection[int], now: datetime
) -> Sequence[tuple[Opportunity, bool | None, int, int | None]]:
    """Past-deadline opportunities of the evaluator's teams under evaluation, each with the
    evaluator's declaration (None: not made), how many proposals they have not submitted an
    evaluation of, and the first of those. Nothing about a proposal before its deadline."""
    not_yet_mine = (
        Proposal.opportunity_id == Opportunity.id,
        Proposal.state == UNDER_EVALUATION,
        ~exists().where(
            EvaluationSubmission.proposal_id == Proposal.id,
            EvaluationSubmission.evaluator_user_id == user_id,
        ),
    )
    declaration = (
        select(ConflictDeclaration.has_conflict)
        .where(
            ConflictDeclaration.opportunity_id == Opportunity.id,
            ConflictDeclaration.user_id == user_id,
        )
        .scalar_subquery()
    )
    left = select(func.count(Proposal.id)).where(*not_yet_mine).scalar_subquery()
    first = select(func.min(Proposal.id)).where(*not_yet_mine).scalar_subquery()
    return session.execute(
        select(Opportunity, declaration, left, first)
        .where(*_past_deadline_evaluating(team_ids, now))
        .order_by(Opportunity.proposal_deadline, Opportunity.id)
    ).all()


def evaluations_to_decide(
    session: Session, team_ids: Collection[int], now: datetime, min_evaluations: int
) -> Sequence[tuple[Opportunity, int, int, int]]:
    """Past-deadline opportunities under evaluation with, for each: the proposals received,
    those under evaluation, and those still short of the evaluations an award needs."""
    evaluations = (
        select(func.count())
        .select_from(EvaluationSubmission)
        .where(EvaluationSubmission.proposal_id == Proposal.id)
        .scalar_subquery()
    )
    of_this = Proposal.opportunity_id == Opportunity.id
    count = func.count(Proposal.id)
    received = select(count).where(of_this, Proposal.state.in_(RECEIVED)).scalar_subquery()
    under = select(count).where(of_this, Proposal.state == UNDER_EVALUATION).scalar_subquery()
    short = (
        select(count)
        .where(of_this, Proposal.state == UNDER_EVALUATION, evaluations < min_evaluations)
        .scalar_subquery()
    )
    return session.execute(
        select(Opportunity, received, under, short)
        .where(*_past_deadline_evaluating(team_ids, now))
        .order_by(Opportunity.proposal_deadline, Opportunity.id)
    ).all()


def _past_deadline_evaluating(
    team_ids: Collection[int], now: datetime
) -> tuple[ColumnElement[bool], ...]:
    return (
        Opportunity.team_id.in_(team_ids),
        Opportunity.state == S.EVALUATING,
        Opportunity.proposal_deadline <= now,
    )


def awards_to_fund(
    session: Session, team_ids: Collection[int]
) -> Sequence[tuple[Opportunity, int, str, bool]]:
    """Awarded work nobody has paid for yet, with the contract's price (the winning proposal's,
    which the funding page charges) and whether an approver has signed that price off."""
    return session.execute(
        select(
            Opportunity,
            Proposal.price_cents,
            Proposal.currency,
            payments_repository.funding_signed_off(),
        )
        .join(Award, (Award.opportunity_id == Opportunity.id) & Award.ended_at.is_(None))
        .join(Proposal, Proposal.id == Award.proposal_id)
        .outerjoin(Payout, Payout.opportunity_id == Opportunity.id)
        .where(
            Opportunity.team_id.in_(team_ids),
            Opportunity.state == S.AWARDED,
            or_(Payout.id.is_(None), Payout.state == PayoutState.AWAITING_FUNDING),
        )
        .order_by(Award.awarded_at, Opportunity.id)
    ).all()


def on_hold(session: Session, team_ids: Collection[int]) -> Sequence[Opportunity]:
    return session.scalars(
        select(Opportunity)
        .where(Opportunity.team_id.in_(team_ids), Opportunity.state == S.ON_HOLD)
        .order_by(Opportunity.updated_at, Opportunity.id)
    ).all()


def review_requests_for(
    session: Session, user_id: int, own_team_ids: Collection[int]
) -> Sequence[tuple[ReviewRequest, Opportunity]]:
    """Open peer-review requests of other teams that this person has not answered yet. Who may
    answer which (named reviewers, or every public servant) is decided by the caller."""
    answered = (
        select(Review.id)
        .where(Review.request_id == ReviewRequest.id, Review.reviewer_user_id == user_id)
        .exists()
    )
    return session.execute(
        select(ReviewRequest, Opportunity)
        .join(Opportunity, Opportunity.id == ReviewRequest.opportunity_id)
        .where(
            ReviewRequest.closed_at.is_(None),
            Opportunity.team_id.not_in(own_team_ids),
            ~answered,
        )
        .order_by(ReviewRequest.created_at, ReviewRequest.id)
    ).all()


def opportunities_by_id(session: Session, ids: Collection[int]) -> dict[int, Opportunity]:
    if not ids:
        return {}
    return {o.id: o for o in session.scalars(select(Opportunity).where(Opportunity.id.in_(ids)))}
