"""The metrics' queries: each reads one quarter's public facts, for one team or all of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.metrics.schemas import Quarter
from app.models import AuditEvent, Award, Opportunity, Payout, Proposal
from app.models.opportunity import OpportunityState
from app.models.payment import PayoutState
from app.models.proposal import ProposalState

# A proposal counts once it was sent; a draft was never sent, a withdrawn one was taken back.
_SENT = (ProposalState.DRAFT.value, ProposalState.WITHDRAWN.value)
# The money has left for the developer's account (Stripe answered the transfer).
_PAID_OUT = (PayoutState.RELEASED.value, PayoutState.PAID.value)


def _within(column: InstrumentedAttribute[Any], quarter: Quarter) -> ColumnElement[bool]:
    return (column >= quarter.start) & (column < quarter.end)


def _of_team(team_id: int | None) -> ColumnElement[bool]:
    return Opportunity.team_id == team_id if team_id is not None else Opportunity.id.is_not(None)


def first_publication(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Opportunity.published_at)))


def posted(session: Session, quarter: Quarter, team_id: int | None) -> int:
    """Opportunities first published in the quarter."""
    count = session.scalar(
        select(func.count())
        .select_from(Opportunity)
        .where(_within(Opportunity.published_at, quarter), _of_team(team_id))
    )
    return int(count or 0)


def closed_for_proposals(
    session: Session, quarter: Quarter, team_id: int | None, now: datetime
) -> int:
    """Of the opportunities posted in the quarter, those whose proposal deadline has passed."""
    count = session.scalar(
        select(func.count())
        .select_from(Opportunity)
        .where(
            _within(Opportunity.published_at, quarter),
            _of_team(team_id),
            Opportunity.proposal_deadline <= now,
        )
    )
    return int(count or 0)


def proposals_and_bidders(
    session: Session, quarter: Quarter, team_id: int | None, now: datetime
) -> Row[int, int]:
    """Proposals sent to those opportunities, and how many people sent them. Proposals are
    sealed until the deadline: not even their number is told before it."""
    return session.execute(
        select(func.count(Proposal.id), func.count(func.distinct(Proposal.author_user_id)))
        .join(Opportunity, Opportunity.id == Proposal.opportunity_id)
        .where(
            _within(Opportunity.published_at, quarter),
            _of_team(team_id),
            Opportunity.proposal_deadline <= now,
            Proposal.submitted_at.is_not(None),
            Proposal.state.not_in(_SENT),
        )
    ).one()


def award_waits(
    session: Session, quarter: Quarter, team_id: int | None
) -> Sequence[Row[datetime | None, datetime]]:
    """(published, awarded) of each award made in the quarter."""
    return session.execute(
        select(Opportunity.published_at, Award.awarded_at)
        .join(Opportunity, Opportunity.id == Award.opportunity_id)
        .where(_within(Award.awarded_at, quarter), _of_team(team_id))
    ).all()


def payments(
    session: Session, quarter: Quarter, team_id: int | None, currency: str
) -> Sequence[Row[datetime | None, datetime | None, int]]:
    """(merged, released, amount) of each payment that left in the quarter; merged is when the
    opportunity first became merged (its verified merge), None if it never did."""
    merged_at = (
        select(func.min(AuditEvent.occurred_at))
        .where(
            AuditEvent.subject_type == "opportunity",
            AuditEvent.subject_id == Payout.opportunity_id,
            AuditEvent.to_state == OpportunityState.MERGED.value,
        )
        .scalar_subquery()
    )
    return session.execute(
        select(merged_at, Payout.released_at, Payout.amount_cents)
        .join(Opportunity, Opportunity.id == Payout.opportunity_id)
        .where(
            _within(Payout.released_at, quarter),
            _of_team(team_id),
            Payout.state.in_(_PAID_OUT),
            Payout.currency == currency,
        )
    ).all()
