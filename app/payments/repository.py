"""Payment queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    AuditEvent,
    Award,
    InboxStatus,
    LedgerEntry,
    Opportunity,
    OpportunityState,
    Payout,
    PayoutAccount,
    PayoutAdjustment,
    PayoutState,
    Proposal,
    StripeEvent,
    User,
)
from app.models.base import utcnow
from app.models.payment import opportunity_in_group


def payout_for(session: Session, opportunity_id: int) -> Payout | None:
    return session.scalars(select(Payout).where(Payout.opportunity_id == opportunity_id)).first()


def locked_payout_for(session: Session, opportunity_id: int) -> Payout | None:
    """The payout, locked and read afresh: a decision about whether it has left yet must not
    race the job that releases it (which holds the same lock while it does)."""
    return session.scalars(
        select(Payout)
        .where(Payout.opportunity_id == opportunity_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def account_of(session: Session, user_id: int) -> PayoutAccount | None:
    return session.get(PayoutAccount, user_id)


def account_by_provider_id(session: Session, provider_account_id: str) -> PayoutAccount | None:
    return session.scalars(
        select(PayoutAccount).where(PayoutAccount.provider_account_id == provider_account_id)
    ).first()


def awardee_of(session: Session, opportunity_id: int) -> tuple[Award, User] | None:
    row = session.execute(
        select(Award, User)
        .join(Proposal, Proposal.id == Award.proposal_id)
        .join(User, User.id == Proposal.author_user_id)
        .where(Award.opportunity_id == opportunity_id, Award.ended_at.is_(None))
    ).first()
    return (row[0], row[1]) if row else None


def contract_price_cents(session: Session, award_id: int) -> int:
    """The contract's amount: the awarded proposal's price, never the opportunity's budget."""
    price = session.scalar(
        select(Proposal.price_cents)
        .join(Award, Award.proposal_id == Proposal.id)
        .where(Award.id == award_id)
    )
    assert price is not None, "an award always has its proposal"
    return price


def awarded_opportunities_of(session: Session, user_id: int) -> Sequence[Opportunity]:
    return session.scalars(
        select(Opportunity)
        .join(Award, Award.opportunity_id == Opportunity.id)
        .join(Proposal, Proposal.id == Award.proposal_id)
        .where(
            Proposal.author_user_id == user_id,
            Award.ended_at.is_(None),
            Opportunity.state == OpportunityState.AWARDED,
        )
    ).all()


def ledger_of(session: Session, payout_id: int) -> Sequence[LedgerEntry]:
    return session.scalars(
        select(LedgerEntry).where(LedgerEntry.payout_id == payout_id).order_by(LedgerEntry.id)
    ).all()


def ledger_balance(session: Session, payout_id: int) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.payout_id == payout_id
        )
    )
    return int(total or 0)


def payout_events(session: Session, payout: Payout) -> Sequence[AuditEvent]:
    """The payout's own events and its opportunity's: the money trail in time order."""
    return session.scalars(
        select(AuditEvent)
        .where(
            ((AuditEvent.subject_type == "payout") & (AuditEvent.subject_id == payout.id))
            | (
                (AuditEvent.subject_type == "opportunity")
                & (AuditEvent.subject_id == payout.opportunity_id)
            )
        )
        .order_by(AuditEvent.id)
    ).all()


def find_payout_for_stripe_object(session: Session, obj: dict[str, Any]) -> Payout | None:
    """Which payout a Stripe object concerns: our metadata first, then the transfer group, then
    the ids we recorded. None when it cannot be placed (yet)."""
    metadata = obj.get("metadata") or {}
    raw_id = str(metadata.get("payout_id") or obj.get("client_reference_id") or "")
    if raw_id.isdigit():
        return session.get(Payout, int(raw_id))
    opportunity_id = opportunity_in_group(str(obj.get("transfer_group") or ""))
    if opportunity_id is not None and (found := payout_for(session, opportunity_id)):
        return found
    for column, key in ((Payout.payment_intent_id, "payment_intent"), (Payout.charge_id, "charge")):
        value = obj.get(key)
        if isinstance(value, str) and value:
            found = session.scalars(select(Payout).where(column == value)).first()
            if found is not None:
                return found
    return None


def claim_pending_event(session: Session, after_id: int) -> StripeEvent | None:
    return session.scalars(
        select(StripeEvent)
        .where(StripeEvent.status == InboxStatus.PENDING, StripeEvent.id > after_id)
        .order_by(StripeEvent.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def release_due() -> list[Any]:
    """Funded payouts whose release delay has passed: what the release job claims, and what
    wakes the worker (the two must agree, or it would wake for work nobody takes)."""
    return [Payout.state == PayoutState.FUNDED, Payout.release_due_at <= utcnow()]


def claim_payout(session: Session, *conditions: Any) -> Payout | None:
    """One payout matching the conditions, locked so that concurrent workers never handle the
    same one (SKIP LOCKED: they take the next one instead)."""
    return session.scalars(
        select(Payout)
        .where(*conditions)
        .order_by(Payout.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def adjustments_of(session: Session, payout_id: int) -> Sequence[PayoutAdjustment]:
    return session.scalars(
        select(PayoutAdjustment)
        .where(PayoutAdjustment.payout_id == payout_id)
        .order_by(PayoutAdjustment.id)
    ).all()


def has_pending_adjustment() -> list[Any]:
    """The conditions on a payout with an adjustment not sent yet (a disputed charge cannot be
    refunded: it waits for the dispute to close)."""
    return [
        Payout.id.in_(select(PayoutAdjustment.payout_id).where(PayoutAdjustment.refund_id == "")),
        Payout.state != PayoutState.DISPUTED,
    ]
