"""Payment queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, select
from sqlalchemy.orm import Session

from app.models import (
    AuditEvent,
    Award,
    Claim,
    ClaimState,
    CoAuthorShare,
    InboxStatus,
    LedgerEntry,
    Opportunity,
    OpportunityState,
    Payout,
    PayoutAccount,
    PayoutAdjustment,
    PayoutState,
    PayoutTransfer,
    Proposal,
    SignoffPurpose,
    SpendingSignoff,
    StripeEvent,
    TeamMembership,
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


def transfers_of(session: Session, payout_id: int) -> Sequence[PayoutTransfer]:
    """The payout's shares, the awardee's first (the order they were written in)."""
    return session.scalars(
        select(PayoutTransfer)
        .where(PayoutTransfer.payout_id == payout_id)
        .order_by(PayoutTransfer.id)
    ).all()


def transfers_with_recipients(session: Session, payout_id: int) -> list[tuple[PayoutTransfer, int]]:
    """The payout's shares with each recipient's GitHub id, the awardee's first."""
    rows = session.execute(
        select(PayoutTransfer, User.github_id)
        .join(User, User.id == PayoutTransfer.user_id)
        .where(PayoutTransfer.payout_id == payout_id)
        .order_by(PayoutTransfer.id)
    ).all()
    return [(share, github_id) for share, github_id in rows]


def co_authors_of(session: Session, award_id: int) -> list[tuple[User, int]]:
    """The co-authors the awardee named, with their shares in basis points."""
    rows = session.execute(
        select(User, CoAuthorShare.basis_points)
        .join(CoAuthorShare, CoAuthorShare.user_id == User.id)
        .where(CoAuthorShare.award_id == award_id)
        .order_by(User.github_id)
    ).all()
    return [(user, points) for user, points in rows]


def replace_co_authors(session: Session, award_id: int, shares: list[tuple[int, int]]) -> None:
    session.execute(delete(CoAuthorShare).where(CoAuthorShare.award_id == award_id))
    session.add_all(
        CoAuthorShare(award_id=award_id, user_id=user_id, basis_points=points)
        for user_id, points in shares
    )
    session.flush()


def user_by_github_login_or_id(session: Session, who: str) -> User | None:
    """A signed-up user by GitHub login (any case) or numeric GitHub id."""
    if who.isdigit() and len(who) <= 18:  # a GitHub id fits a BIGINT
        return session.scalars(select(User).where(User.github_id == int(who))).first()
    return session.scalars(select(User).where(func.lower(User.login) == who.lower())).first()


def is_team_member(session: Session, user_id: int, team_id: int) -> bool:
    found = session.scalar(
        select(TeamMembership.user_id).where(
            TeamMembership.user_id == user_id, TeamMembership.team_id == team_id
        )
    )
    return found is not None


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


def transfer_to_send() -> list[Any]:
    """Releasing payouts whose transfer we have not recorded yet (new, or lost in a crash):
    what the transfer job claims, and what the metrics count as its queue."""
    return [Payout.state == PayoutState.RELEASING, Payout.released_at.is_(None)]


def refund_to_send() -> list[Any]:
    """Requested refunds not yet made, of money we still hold: the refund job's claim, and its
    queue in the metrics."""
    return [
        Payout.refund_requested_at.is_not(None),
        Payout.refund_id == "",
        Payout.state.in_([PayoutState.FUNDED, PayoutState.TRANSFER_FAILED]),
    ]


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


def _lets_fund(award_id: Any, awarded_at: Any, price_cents: Any) -> ColumnElement[bool]:
    """A funding sign-off that lets an award be funded: for this award, made since it was
    last awarded (re-awarding asks again), and for its price exactly."""
    return and_(
        SpendingSignoff.award_id == award_id,
        SpendingSignoff.purpose == SignoffPurpose.FUND,
        SpendingSignoff.signed_at >= awarded_at,
        SpendingSignoff.amount_cents == price_cents,
    )


def funding_signoff(session: Session, award: Award) -> SpendingSignoff | None:
    return session.scalars(
        select(SpendingSignoff)
        .where(_lets_fund(award.id, award.awarded_at, contract_price_cents(session, award.id)))
        .order_by(SpendingSignoff.id.desc())
    ).first()


def funding_signed_off() -> ColumnElement[bool]:
    """The same rule for a query over awards (joined with their proposal): one statement
    however many awards it lists."""
    return exists().where(_lets_fund(Award.id, Award.awarded_at, Proposal.price_cents))


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


def has_open_claim(session: Session, opportunity_id: int) -> bool:
    """Is a claim about this work waiting for its resolution? The payment is not released
    meanwhile (claims are the claims domain's; money only asks this)."""
    found = session.scalars(
        select(Claim.id).where(
            Claim.opportunity_id == opportunity_id, Claim.state != ClaimState.RESOLVED
        )
    ).first()
    return found is not None
