"""Queries of the needs-attention queue."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Opportunity, OpportunityState, Payout, PayoutState
from app.models.payment import TRANSFER_REVERSED
from app.payonpull.service import UNDONE_AFTER_RELEASE


def payouts_needing_attention(session: Session) -> Sequence[Payout]:
    return session.scalars(
        select(Payout)
        .where(
            or_(
                Payout.state.in_([PayoutState.TRANSFER_FAILED, PayoutState.DISPUTED]),
                Payout.transfer_failure == TRANSFER_REVERSED,
            )
        )
        .order_by(Payout.id)
    ).all()


def held_opportunities(session: Session) -> Sequence[Opportunity]:
    return session.scalars(
        select(Opportunity)
        .where(Opportunity.state == OpportunityState.ON_HOLD)
        .order_by(Opportunity.updated_at)
    ).all()


def latest_hold_event(session: Session, opportunity_id: int) -> AuditEvent | None:
    return session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.subject_type == "opportunity",
            AuditEvent.subject_id == opportunity_id,
            AuditEvent.to_state == OpportunityState.ON_HOLD,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()


def undone_after_release(session: Session, limit: int = 20) -> Sequence[AuditEvent]:
    """The latest signs that paid work was undone (a revert, a reopening) after the money left:
    nothing to hold any more, but an administrator may want to talk to the team."""
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == UNDONE_AFTER_RELEASE)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()
