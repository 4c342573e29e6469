"""Payout rules: the lifecycle, facts from the gateway, the ledger. Nothing here commits.

A payout's state follows from facts the gateway reports (the team's charge, our transfer, a
refund, a dispute; which event reports which fact is app/payments/events.py). Facts are
recorded as they arrive, in whatever order, each at most once;
``advance`` then takes every transition the facts allow, each through the one guarded
transition function, and posts the matching ledger movement in the same transaction. So
duplicates and any ordering of events end in the same state, with each movement posted once.

Money does not know the work it pays for. What the work does when its payout's facts change
(funded work starts, a disputed payment holds it, a confirmed transfer marks it paid) is the
caller's ``follow``: every step that records a fact takes it, and the pages and jobs above
pass ``payonpull.service.follow_payout`` (the jobs get it in ``app/jobs.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app import queue
from app.audit import service as audit
from app.config import Settings
from app.errors import Conflict, NotFound, ValidationFailed
from app.i18n import gettext as _
from app.lifecycle import guarded_transition
from app.models import (
    Award,
    DisputeStatus,
    LedgerEntry,
    Opportunity,
    OpportunityState,
    Payout,
    PayoutAccount,
    PayoutAdjustment,
    PayoutState,
    PayoutTransfer,
    SignoffPurpose,
    SpendingSignoff,
    TeamRole,
    TransferState,
    User,
)
from app.models.base import utcnow
from app.models.payment import TRANSFER_REVERSED
from app.payments import repository
from app.payments.gateway import (
    Checkout,
    Funding,
    Gateway,
    Transfer,
    TransferRequest,
)
from app.payments.labels import state_label
from app.teams import repository as teams_repository
from app.teams import service as teams
from app.teams.service import require_role
from app.text import format_money, parse_percent_to_basis_points

P = PayoutState
# How the work follows a payout whose facts were just recorded (see the module's docstring).
FollowPayout = Callable[[Session, Payout], None]
ALLOWED_TRANSITIONS: Mapping[P, frozenset[P]] = {
    P.AWAITING_FUNDING: frozenset({P.FUNDED, P.CANCELLED}),
    P.FUNDED: frozenset({P.RELEASING, P.REFUNDED, P.DISPUTED}),
    P.RELEASING: frozenset({P.RELEASED, P.TRANSFER_FAILED}),
    P.RELEASED: frozenset({P.PAID}),
    # An administrator retries a failed transfer, or refunds the team.
    P.TRANSFER_FAILED: frozenset({P.RELEASING, P.REFUNDED}),
    # Won: the money is held again. Lost: it went back to the card holder.
    P.DISPUTED: frozenset({P.FUNDED, P.REFUNDED}),
    P.PAID: frozenset(),
    P.REFUNDED: frozenset(),
    P.CANCELLED: frozenset(),
}
# The money has left the platform, or is on its way: nothing can be refunded any more.
RELEASED_STATES = frozenset({P.RELEASING, P.RELEASED, P.PAID})
MAX_TRANSFER_ATTEMPTS = 5
WHOLE = 10_000  # basis points: a share of 100%
HOLDING = "platform:holding"
FEES = "platform:fees"


def transition(
    session: Session,
    payout: Payout,
    to_state: P,
    *,
    actor: User | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    guarded_transition(
        session,
        payout,
        to_state,
        ALLOWED_TRANSITIONS,
        actor_user_id=actor.id if actor else None,
        subject_type="payout",
        refused=_(
            "A payment that is %(current)s cannot become %(target)s.",
            current=state_label(payout.state),
            target=state_label(to_state),
        ),
        extra_values={"updated_at": utcnow()},
        details=details,
    )
    if to_state is P.RELEASING:
        _money_to_move(session)  # the transfers written with it


def _money_to_move(session: Session) -> None:
    """This transaction gives the money jobs something to send: at once, not at their next
    periodic run (an administrator's release or refund, a cancellation)."""
    queue.wake_after_commit(session, queue.MONEY_DRAIN)


def _audit(
    session: Session,
    payout: Payout,
    action: str,
    *,
    actor_user_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One event on the payout's money trail (a state change is audited by ``transition``)."""
    audit.record(
        session,
        actor_user_id=actor_user_id,
        action=action,
        subject_type="payout",
        subject_id=payout.id,
        details=details,
    )


def opportunity_of(session: Session, opportunity_id: int) -> Opportunity:
    """The opportunity a payment page or route is about (the route's access declaration guards
    who asks); NotFound when there is none."""
    opportunity = session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise NotFound()
    return opportunity


def fee_for(amount_cents: int, settings: Settings) -> int:
    return amount_cents * settings.platform_fee_basis_points // 10_000


def ensure_payout(
    session: Session, opportunity: Opportunity, award_id: int, settings: Settings
) -> Payout:
    """The award's one payout (a unique key on the award), created on first need, for the
    contract's amount: the winning bid, which may be below the opportunity's budget."""
    existing = repository.payout_for(session, opportunity.id)
    if existing is not None:
        return existing
    price = repository.contract_price_cents(session, award_id)
    payout = Payout(
        award_id=award_id,
        opportunity_id=opportunity.id,
        amount_cents=price,
        fee_cents=fee_for(price, settings),
        currency=opportunity.currency,
        simulated=settings.payments_simulated,
    )
    session.add(payout)
    session.flush()
    _audit(
        session,
        payout,
        "payout.created",
        details={"amount_cents": payout.amount_cents, "currency": payout.currency},
    )
    return payout


# --- facts -------------------------------------------------------------------------------


def record_funding(
    session: Session, payout: Payout, funding: Funding, *, follow: FollowPayout
) -> None:
    if not funding.paid:
        return
    payout.payment_intent_id = payout.payment_intent_id or funding.payment_intent_id
    if funding.charge_id and not payout.charge_id:
        payout.charge_id = funding.charge_id
        payout.funded_at = utcnow()
    advance(session, payout, follow=follow)


def record_transfer(
    session: Session, payout: Payout, transfer: Transfer, *, confirmed: bool, follow: FollowPayout
) -> None:
    """A fact about one share's transfer, from Stripe's answer, its event or a look at it."""
    shares = repository.transfers_of(session, payout.id)
    share = next((s for s in shares if _is_for(transfer, payout, s, len(shares))), None)
    if share is None:
        # Rule 4 says this cannot happen; if it ever does, a person must look at once.
        _audit(
            session,
            payout,
            "payout.unexpected_transfer",
            details={
                "known": [s.transfer_id for s in shares],
                "reported": transfer.transfer_id,
            },
        )
        return
    now = utcnow()
    if not share.transfer_id:
        share.transfer_id = transfer.transfer_id
        share.state = TransferState.SENT
        share.sent_at = now
    if transfer.reversed and payout.transfer_failure != TRANSFER_REVERSED:
        # The money came back from the developer's account: a person must find out why.
        payout.transfer_failure = TRANSFER_REVERSED
        _audit(
            session,
            payout,
            "payout.transfer_reversed",
            details={"transfer_id": transfer.transfer_id},
        )
    if confirmed and share.state is not TransferState.CONFIRMED and not transfer.reversed:
        share.state = TransferState.CONFIRMED
        share.confirmed_at = now
    _sum_up(payout, shares, now)
    advance(session, payout, follow=follow)


def _is_for(transfer: Transfer, payout: Payout, share: PayoutTransfer, shares: int) -> bool:
    """Is this transfer (reported by Stripe) the one of this share? By its id once known, else
    by the share named in its metadata; a transfer made before payouts had shares names only
    its payout, which then had a single share."""
    if share.transfer_id:
        return share.transfer_id == transfer.transfer_id
    if transfer.share_id is not None:
        return transfer.share_id == share.id
    return transfer.payout_id == payout.id and shares == 1


def _sum_up(payout: Payout, shares: Sequence[PayoutTransfer], now: datetime) -> None:
    """The payout is released when Stripe answered every share's transfer, and its transfer
    confirmed when every one is."""
    if payout.released_at is None and all(share.transfer_id for share in shares):
        payout.released_at = now
    if payout.transfer_confirmed_at is None and all(
        share.state is TransferState.CONFIRMED for share in shares
    ):
        payout.transfer_confirmed_at = now


def record_refund(
    session: Session, payout: Payout, refund_id: str, *, follow: FollowPayout
) -> None:
    if refund_id and refund_id == payout.partial_refund_id:
        return  # the part a claim gave back, not the whole
    if not payout.refund_id:
        payout.refund_id = refund_id
        payout.refunded_at = utcnow()
    advance(session, payout, follow=follow)


def record_partial_refund(session: Session, payout: Payout, refund_id: str) -> None:
    """The part of the payment a claim's resolution gave back to the team was refunded: its
    movement is posted once. The payout's state does not change (the rest is released)."""
    if payout.partial_refund_id or not payout.partial_refund_cents:
        return
    payout.partial_refund_id = refund_id
    _post_movement(session, payout, "partial_refund")
    _audit(
        session,
        payout,
        "payout.partially_refunded",
        details={"refund_id": refund_id, "amount_cents": payout.partial_refund_cents},
    )


def is_partial(payout: Payout, amount: object) -> bool:
    """A refund of less than the whole payment is the part a claim gave back (we never make
    any other partial refund)."""
    return isinstance(amount, int) and 0 < amount < payout.amount_cents


DISPUTE_CLOSED = (DisputeStatus.WON, DisputeStatus.LOST)


def record_dispute(
    session: Session, payout: Payout, status: DisputeStatus, *, follow: FollowPayout
) -> None:
    # A closed dispute's outcome outranks "open", whichever event arrives first.
    if payout.dispute_status not in DISPUTE_CLOSED:
        payout.dispute_status = status
    advance(session, payout, follow=follow)


def advance(session: Session, payout: Payout, *, follow: FollowPayout) -> None:
    """Takes every transition the recorded facts allow, in lifecycle order; then the work
    follows."""
    while (step := _next_step(payout)) is not None:
        to_state, movement = step
        transition(session, payout, to_state)
        if movement:
            _post_movement(session, payout, movement)
    follow(session, payout)


def _next_step(payout: Payout) -> tuple[P, str] | None:
    state = payout.state
    refunded = bool(payout.refund_id) or payout.dispute_status is DisputeStatus.LOST
    steps: dict[P, tuple[bool, P, str]] = {
        P.AWAITING_FUNDING: (bool(payout.charge_id), P.FUNDED, "funding"),
        P.RELEASING: (payout.released_at is not None, P.RELEASED, "release"),
        P.RELEASED: (payout.transfer_confirmed_at is not None, P.PAID, ""),
    }
    if refunded and state in (P.FUNDED, P.TRANSFER_FAILED, P.DISPUTED):
        return P.REFUNDED, "refund"
    if state is P.FUNDED and payout.dispute_status is DisputeStatus.OPEN:
        return P.DISPUTED, ""
    if state is P.DISPUTED and payout.dispute_status is DisputeStatus.WON:
        return P.FUNDED, ""
    if state in steps and steps[state][0]:
        return steps[state][1], steps[state][2]
    return None


def _post_movement(session: Session, payout: Payout, movement: str) -> None:
    """Double entry: the lines of one movement sum to zero."""
    opportunity = session.get(Opportunity, payout.opportunity_id)
    assert opportunity is not None
    team = f"team:{opportunity.team_id}"
    amount = payout.amount_cents
    lines: list[tuple[str, int, str]]
    if movement == "funding":
        lines = [(team, -amount, payout.charge_id), (HOLDING, amount, payout.charge_id)]
    elif movement == "release":
        shares = repository.transfers_of(session, payout.id)
        first = shares[0].transfer_id
        lines = [
            (HOLDING, -payout.released_cents, first),
            *((f"developer:{s.user_id}", s.amount_cents, s.transfer_id) for s in shares),
            (FEES, payout.fee_cents, first),
        ]
    elif movement == "partial_refund":
        part, reference = payout.partial_refund_cents, payout.partial_refund_id
        lines = [(HOLDING, -part, reference), (team, part, reference)]
    else:
        lines = [(HOLDING, -amount, payout.refund_id), (team, amount, payout.refund_id)]
    assert sum(line[1] for line in lines) == 0
    for account, cents, reference in lines:
        if cents:
            session.add(
                LedgerEntry(
                    payout_id=payout.id,
                    movement=movement,
                    account=account,
                    amount_cents=cents,
                    currency=payout.currency,
                    reference=reference,
                )
            )
    session.flush()


# --- steps people and jobs take ----------------------------------------------------------


def _releasable(session: Session, opportunity: Opportunity) -> tuple[Payout, User, PayoutAccount]:
    payout = repository.payout_for(session, opportunity.id)
    found = repository.awardee_of(session, opportunity.id)
    if payout is None or found is None or payout.state is not P.FUNDED:
        raise Conflict(_("This opportunity has no funded payment to release."))
    if repository.has_open_claim(session, opportunity.id):
        raise Conflict(_("A claim about this work is open: the payment waits for its resolution."))
    developer = found[1]
    account = repository.account_of(session, developer.id)
    if account is None or not account.payouts_enabled:
        raise Conflict(_("The developer cannot receive payouts yet."))
    return payout, developer, account


def schedule_release(session: Session, opportunity: Opportunity, due_at: datetime) -> None:
    """The release waits until ``due_at`` (the release-delay setting); the job that releases
    due payouts checks again then."""
    payout, _developer, _account = _releasable(session, opportunity)
    payout.release_due_at = due_at
    _audit(session, payout, "payout.release_scheduled", details={"due_at": due_at.isoformat()})


def request_release(session: Session, opportunity: Opportunity, *, actor: User | None) -> Payout:
    """Pay-on-pull rule 4: each share's transfer (the awardee's, and each co-author's) is a row
    written with the move to releasing, its idempotency key and destination stored before any
    call; the transfer job does the rest."""
    payout, developer, account = _releasable(session, opportunity)
    recipients = _recipients(session, payout, developer, account)
    transition(
        session,
        payout,
        P.RELEASING,
        actor=actor,
        details={
            "destination": account.provider_account_id,
            "shares": {str(user.github_id): points for user, _account, points in recipients},
        },
    )
    payout.developer_user_id = developer.id
    payout.transfer_attempts = 0
    payout.transfer_failure = ""
    _write_shares(session, payout, recipients)
    session.flush()
    return payout


Recipient = tuple[User, PayoutAccount, int]  # who, where the money goes, share in basis points


def _recipients(
    session: Session, payout: Payout, developer: User, account: PayoutAccount
) -> list[Recipient]:
    """The awardee first, with what the co-authors' shares leave, then each co-author; every
    one must be able to receive payouts, or nobody is paid yet."""
    co_authors = repository.co_authors_of(session, payout.award_id)
    recipients: list[Recipient] = [
        (developer, account, WHOLE - sum(points for _user, points in co_authors))
    ]
    for user, points in co_authors:
        their_account = repository.account_of(session, user.id)
        if their_account is None or not their_account.payouts_enabled:
            raise Conflict(
                _("The co-author @%(login)s cannot receive payouts yet.", login=user.login)
            )
        recipients.append((user, their_account, points))
    return recipients


def _write_shares(session: Session, payout: Payout, recipients: list[Recipient]) -> None:
    """One transfer row per recipient, made once: a retry after failed attempts keeps the rows
    and their keys, and only points a transfer not made yet at the person's current account."""
    existing = {share.user_id: share for share in repository.transfers_of(session, payout.id)}
    if existing:
        for user, account, _points in recipients:
            share = existing.get(user.id)
            if share is not None and not share.transfer_id:
                share.destination_account_id = account.provider_account_id
        return
    amounts = split_cents(payout.released_cents - payout.fee_cents, [p for *_, p in recipients])
    if min(amounts) <= 0:
        raise Conflict(_("This payment is too small to be shared this way."))
    for (user, account, points), cents in zip(recipients, amounts, strict=True):
        session.add(
            PayoutTransfer(
                payout_id=payout.id,
                user_id=user.id,
                basis_points=points,
                amount_cents=cents,
                destination_account_id=account.provider_account_id,
                idempotency_key=_transfer_key(
                    payout, user, is_awardee=user.id == recipients[0][0].id
                ),
            )
        )
    session.flush()


def _transfer_key(payout: Payout, user: User, *, is_awardee: bool) -> str:
    """Derived from the payout (and the co-author's GitHub id), never random: any retry of
    this share, by any worker, asks Stripe with the same key."""
    base = f"payout-{payout.id}-transfer"
    return base if is_awardee else f"{base}-{user.github_id}"


def split_cents(total: int, shares: Sequence[int]) -> list[int]:
    """Each share's cents of ``total`` (shares in basis points, summing to 10,000), adding up
    to the total exactly. Everyone gets the whole cents of their exact share; the cents left
    over (fewer than there are shares) go one each to the largest fractions of a cent, ties
    to the earlier share, so to the awardee first."""
    assert sum(shares) == WHOLE
    exact = [total * points for points in shares]  # in ten-thousandths of a cent
    amounts = [value // WHOLE for value in exact]
    by_fraction = sorted(range(len(shares)), key=lambda i: (-(exact[i] % WHOLE), i))
    for index in by_fraction[: total - sum(amounts)]:
        amounts[index] += 1
    return amounts


def request_refund(session: Session, payout: Payout, *, actor: User | None, reason: str) -> None:
    """Full refund to the team; before funding there is nothing to refund, only to close."""
    state = payout.state
    if state is P.AWAITING_FUNDING:
        transition(session, payout, P.CANCELLED, actor=actor, details={"reason": reason})
        return
    if state in RELEASED_STATES:
        raise Conflict(_("The payment has already been released to the developer."))
    if payout.refund_requested_at is None:
        payout.refund_requested_at = utcnow()
        _money_to_move(session)
        _audit(
            session,
            payout,
            "payout.refund_requested",
            actor_user_id=actor.id if actor else None,
            details={"reason": reason},
        )


def send_transfer(
    session: Session, gateway: Gateway, payout: Payout, *, follow: FollowPayout
) -> None:
    """One attempt at each share's transfer not answered yet. A transfer the gateway already
    has for a share (an answer lost in a crash) is adopted, never made twice; otherwise the
    share's stored idempotency key makes a repeated request return the first transfer."""
    shares = repository.transfers_of(session, payout.id)
    waiting = [share for share in shares if not share.transfer_id]
    known = gateway.transfers_in(payout.transfer_group) if waiting else []
    for share in waiting:
        made = next((t for t in known if _is_for(t, payout, share, len(shares))), None)
        transfer = made or gateway.create_transfer(_transfer_request(payout, share))
        record_transfer(session, payout, transfer, confirmed=gateway.simulated, follow=follow)


def confirm_transfers(
    session: Session, gateway: Gateway, payout: Payout, *, follow: FollowPayout
) -> None:
    """For a released payout whose confirmation events have not come: ask the gateway."""
    for transfer in gateway.transfers_in(payout.transfer_group):
        if transfer.payout_id == payout.id:
            record_transfer(session, payout, transfer, confirmed=True, follow=follow)


def _transfer_request(payout: Payout, share: PayoutTransfer) -> TransferRequest:
    return TransferRequest(
        amount_cents=share.amount_cents,
        currency=payout.currency,
        destination=share.destination_account_id,
        source_transaction=payout.charge_id,
        transfer_group=payout.transfer_group,
        idempotency_key=share.idempotency_key,
        payout_id=payout.id,
        share_id=share.id,
    )


def transfer_attempt_failed(session: Session, payout: Payout, error: str) -> None:
    payout.transfer_attempts += 1
    payout.transfer_failure = error[:500]
    if payout.transfer_attempts >= MAX_TRANSFER_ATTEMPTS:
        transition(session, payout, P.TRANSFER_FAILED, details={"error": error[:500]})


def send_refund(
    session: Session, gateway: Gateway, payout: Payout, *, follow: FollowPayout
) -> None:
    # After a cheaper re-award part of the payment goes back on its own (an adjustment): the
    # refund is then for what the payout still holds, whichever of the two is sent first.
    adjusted = bool(repository.adjustments_of(session, payout.id))
    refund_id = gateway.refund(
        payout.payment_intent_id,
        f"payout-{payout.id}-refund",
        amount_cents=payout.amount_cents if adjusted else None,
    )
    record_refund(session, payout, refund_id, follow=follow)


# --- the contract moves to another proposal (a missed delivery) ------------------------------


def move_to_award(
    session: Session,
    payout: Payout,
    award_id: int,
    settings: Settings,
    *,
    actor: User,
) -> PayoutAdjustment | None:
    """The held money stays held for the next awardee: the payout follows the new award, for
    its price (never the budget). A cheaper price gives the difference back to the team (an
    adjustment: a partial refund sent by a job); a dearer one is refused, because the payment
    held is one charge the transfer draws on, and the team would have to pay a second one."""
    if payout.state is not P.FUNDED:
        raise Conflict(_("Only a payment held on the platform can follow a new award."))
    price = repository.contract_price_cents(session, award_id)
    if price > payout.amount_cents:
        raise Conflict(
            _(
                "The next-ranked proposal costs more than the payment held. Close the "
                "contract with a full refund, and publish the work again."
            )
        )
    before = payout.amount_cents
    payout.award_id = award_id
    payout.amount_cents = price
    payout.fee_cents = fee_for(price, settings)
    adjustment = None
    if price < before:
        adjustment = PayoutAdjustment(
            payout_id=payout.id,
            award_id=award_id,
            amount_cents=before - price,
            currency=payout.currency,
            idempotency_key=f"payout-{payout.id}-adjust-{award_id}",
        )
        session.add(adjustment)
        _money_to_move(session)
    session.flush()
    _audit(
        session,
        payout,
        "payout.award_changed",
        actor_user_id=actor.id,
        details={"award_id": award_id, "from_cents": before, "to_cents": price},
    )
    return adjustment


def send_adjustments(session: Session, gateway: Gateway, payout: Payout) -> None:
    """Gives back each adjustment not sent yet (its key stored first: a repeat returns the
    same refund) and books it: held money back to the team, once."""
    opportunity = session.get(Opportunity, payout.opportunity_id)
    assert opportunity is not None
    for adjustment in repository.adjustments_of(session, payout.id):
        if adjustment.refund_id:
            continue
        adjustment.attempts += 1
        adjustment.refund_id = gateway.refund(
            payout.payment_intent_id,
            adjustment.idempotency_key,
            amount_cents=adjustment.amount_cents,
            adjustment_id=adjustment.id,
        )
        adjustment.refunded_at = utcnow()
        _audit(
            session,
            payout,
            "payout.adjustment_refunded",
            details={"amount_cents": adjustment.amount_cents, "refund_id": adjustment.refund_id},
        )
        movement = f"adjust-{adjustment.id}"
        for account, cents in (
            (HOLDING, -adjustment.amount_cents),
            (f"team:{opportunity.team_id}", adjustment.amount_cents),
        ):
            session.add(
                LedgerEntry(
                    payout_id=payout.id,
                    movement=movement,
                    account=account,
                    amount_cents=cents,
                    currency=adjustment.currency,
                    reference=adjustment.refund_id,
                )
            )
        session.flush()


def give_back_part(
    session: Session, payout: Payout, developer_cents: int, *, actor: User | None
) -> None:
    """A claim's partial release: ``developer_cents`` of the contract stay for the developer
    side (released as usual, the platform's fee taken in proportion, rounded down), the rest
    goes back to the team (a refund of that amount, sent by the refund job). Only money still
    held can be divided, and only once."""
    if payout.state is not P.FUNDED or payout.partial_refund_cents:
        raise Conflict(_("Only a payment still held can be divided."))
    if not 0 < developer_cents < payout.amount_cents:
        raise ValidationFailed(
            field_errors={
                "developer_cents": _("Give the developer side more than nothing and less than all.")
            }
        )
    payout.partial_refund_cents = payout.amount_cents - developer_cents
    _money_to_move(session)
    payout.fee_cents = payout.fee_cents * developer_cents // payout.amount_cents
    _audit(
        session,
        payout,
        "payout.divided",
        actor_user_id=actor.id if actor else None,
        details={
            "developer_cents": developer_cents,
            "team_cents": payout.partial_refund_cents,
            "fee_cents": payout.fee_cents,
        },
    )


def send_partial_refund(session: Session, gateway: Gateway, payout: Payout) -> None:
    """The part a claim gave back, refunded once: the key is derived from the payout."""
    refund_id = gateway.refund(
        payout.payment_intent_id,
        f"payout-{payout.id}-partial-refund",
        amount_cents=payout.partial_refund_cents,
    )
    record_partial_refund(session, payout, refund_id)


def connect_account(
    session: Session, gateway: Gateway, user: User, *, return_url: str, refresh_url: str
) -> str:
    """Where to send the developer to set up (or finish) their payout account."""
    account = repository.account_of(session, user.id)
    if account is None:
        account = PayoutAccount(
            user_id=user.id,
            provider_account_id=gateway.create_account(user.id, user.email),
            simulated=gateway.simulated,
        )
        session.add(account)
        session.flush()
        audit.record(
            session,
            actor_user_id=user.id,
            action="payout_account.created",
            subject_type="user",
            subject_id=user.id,
        )
    return gateway.onboarding_link(account.provider_account_id, return_url, refresh_url)


def refresh_account(
    session: Session, gateway: Gateway, account: PayoutAccount, *, follow: FollowPayout
) -> None:
    """Asks the gateway (rather than trusting an event's copy, which may be stale or out of
    order) whether payouts are enabled; then the awarded work that waited on it follows its
    payout (funded work starts)."""
    enabled = gateway.payouts_enabled(account.provider_account_id)
    if enabled != account.payouts_enabled:
        account.payouts_enabled = enabled
        audit.record(
            session,
            actor_user_id=None,
            action="payout_account.updated",
            subject_type="user",
            subject_id=account.user_id,
            details={"payouts_enabled": enabled},
        )
    if enabled:
        for opportunity in repository.awarded_opportunities_of(session, account.user_id):
            if (payout := repository.payout_for(session, opportunity.id)) is not None:
                follow(session, payout)


# --- co-authors -------------------------------------------------------------------------

MAX_CO_AUTHORS = 9
SHARES_OPEN = frozenset({OpportunityState.AWARDED, OpportunityState.IN_PROGRESS})


def co_authors(session: Session, opportunity: Opportunity) -> list[tuple[User, int]]:
    found = repository.awardee_of(session, opportunity.id)
    return repository.co_authors_of(session, found[0].id) if found else []


def co_authors_of_awardee(
    session: Session, opportunity: Opportunity, user: User
) -> list[tuple[User, int]]:
    """What the awardee named; to anyone else there is nothing here."""
    award, _awardee = _as_awardee(session, opportunity, user)
    return repository.co_authors_of(session, award.id)


def _as_awardee(session: Session, opportunity: Opportunity, user: User) -> tuple[Award, User]:
    found = repository.awardee_of(session, opportunity.id)
    if found is None or found[1].id != user.id:
        raise NotFound()
    return found


def name_co_authors(
    session: Session, opportunity: Opportunity, user: User, lines: str
) -> list[tuple[User, int]]:
    """The awardee names who shares the payment, before the merge: one co-author per line, a
    GitHub username or numeric id and a share in percent; the awardee keeps the rest. Replaces
    what was named before; an empty text removes every co-author."""
    award, awardee = _as_awardee(session, opportunity, user)
    payout = repository.payout_for(session, opportunity.id)
    if opportunity.state not in SHARES_OPEN or (payout and payout.state not in _UNRELEASED):
        raise Conflict(_("Co-authors can be named only before the merge."))
    shares = _read_shares(session, opportunity, awardee, lines)
    repository.replace_co_authors(session, award.id, [(u.id, points) for u, points in shares])
    audit.record(
        session,
        actor_user_id=user.id,
        action="award.co_authors_named",
        subject_type="opportunity",
        subject_id=opportunity.id,
        details={"shares": {str(u.github_id): points for u, points in shares}},
    )
    return shares


_UNRELEASED = frozenset({P.AWAITING_FUNDING, P.FUNDED})


def _read_shares(
    session: Session, opportunity: Opportunity, awardee: User, lines: str
) -> list[tuple[User, int]]:
    shares: list[tuple[User, int]] = []
    for number, line in enumerate(lines.splitlines(), start=1):
        if not line.strip():
            continue
        shares.append(_read_share(session, opportunity, awardee, line, number))
    users = [user.id for user, _points in shares]
    if len(set(users)) != len(users):
        raise _share_problem(_("Name each co-author once."))
    if len(shares) > MAX_CO_AUTHORS:
        raise _share_problem(_("Name at most %(count)s co-authors.", count=MAX_CO_AUTHORS))
    if sum(points for _user, points in shares) >= WHOLE:
        raise _share_problem(_("The co-authors' shares must leave you a part: less than 100%."))
    return shares


def _read_share(
    session: Session, opportunity: Opportunity, awardee: User, line: str, number: int
) -> tuple[User, int]:
    who, _space, share = line.strip().removesuffix("%").strip().rpartition(" ")
    points = parse_percent_to_basis_points(share)
    if not who.strip() or points is None or not 0 < points < WHOLE:
        raise _share_problem(
            _(
                "Line %(number)s: write a GitHub username or id, a space, then a share in "
                "percent, like “octocat 25”.",
                number=number,
            )
        )
    user = repository.user_by_github_login_or_id(session, who.strip().removeprefix("@"))
    if user is None:
        raise _share_problem(
            _(
                "Line %(number)s: %(who)s has no Dev Exchange account. They sign in once with "
                "GitHub, then you can name them.",
                number=number,
                who=who.strip(),
            )
        )
    if user.id == awardee.id:
        raise _share_problem(_("Line %(number)s: you keep the rest yourself.", number=number))
    if repository.is_team_member(session, user.id, opportunity.team_id):
        raise _share_problem(
            _(
                "Line %(number)s: @%(login)s is in the team that posted the work and cannot be "
                "paid for it.",
                number=number,
                login=user.login,
            )
        )
    return user, points


def _share_problem(message: str) -> ValidationFailed:
    return ValidationFailed(field_errors={"co_authors": message})


# --- funding -----------------------------------------------------------------------------


def _award_to_fund(session: Session, opportunity: Opportunity) -> tuple[int, int]:
    """The award waiting for its funding, and its contract price (never the budget)."""
    found = repository.awardee_of(session, opportunity.id)
    if opportunity.state != OpportunityState.AWARDED or found is None:
        raise Conflict(_("Only awarded work can be funded."))
    payout = repository.payout_for(session, opportunity.id)
    if payout is not None and payout.state is not P.AWAITING_FUNDING:
        raise Conflict(_("This work is already funded."))
    return found[0].id, repository.contract_price_cents(session, found[0].id)


def funding_signoff(session: Session, opportunity: Opportunity) -> SpendingSignoff | None:
    """The approver's sign-off that lets the current award be funded: made for this award
    since it was last awarded, and for its price exactly."""
    found = repository.awardee_of(session, opportunity.id)
    return repository.funding_signoff(session, found[0]) if found else None


def sign_off_funding(session: Session, opportunity: Opportunity, user: User) -> SpendingSignoff:
    """A team approver signs off the award's price so that finance may pay it."""
    award_id, price = _award_to_fund(session, opportunity)
    # Sign-offs of a team queue on its row (teams.sign_off takes the same lock): a second
    # approver at the same moment sees this one, and does not sign off the award again.
    teams_repository.lock_team(session, opportunity.team_id)
    if funding_signoff(session, opportunity) is not None:
        raise Conflict(_("This award's amount is already signed off."))
    return teams.sign_off(
        session,
        user,
        team_id=opportunity.team_id,
        opportunity_id=opportunity.id,
        author_user_id=opportunity.created_by_user_id,
        purpose=SignoffPurpose.FUND,
        amount_cents=price,
        currency=opportunity.currency,
        award_id=award_id,
    )


def start_funding(
    session: Session,
    gateway: Gateway,
    opportunity: Opportunity,
    user: User,
    settings: Settings,
) -> Checkout:
    """The team's finance person pays the awarded amount; the platform holds it."""
    require_role(session, user, opportunity.team_id, frozenset({TeamRole.FINANCE}))
    found = repository.awardee_of(session, opportunity.id)
    if opportunity.state != OpportunityState.AWARDED or found is None:
        raise Conflict(_("Only awarded work can be funded."))
    payout = ensure_payout(session, opportunity, found[0].id, settings)
    if payout.state is not P.AWAITING_FUNDING:
        raise Conflict(_("This work is already funded."))
    signoff = funding_signoff(session, opportunity)
    if signoff is None:
        raise Conflict(
            _(
                "An approver of the team must sign off %(amount)s, the awarded price, before "
                "the work can be funded.",
                amount=format_money(payout.amount_cents, payout.currency),
            )
        )
    base = settings.base_url
    checkout = gateway.create_checkout(
        payout_id=payout.id,
        amount_cents=payout.amount_cents,
        currency=payout.currency,
        description=opportunity.title,
        transfer_group=payout.transfer_group,
        success_url=f"{base}/opportunities/{opportunity.id}/funding/return",
        cancel_url=f"{base}/opportunities/{opportunity.id}/funding",
    )
    payout.checkout_session_id = checkout.session_id
    payout.funded_by_user_id = user.id
    _audit(
        session,
        payout,
        "payout.checkout_started",
        actor_user_id=user.id,
        details={"checkout_session_id": checkout.session_id, "signoff_id": signoff.id},
    )
    return checkout


def confirm_funding(
    session: Session, gateway: Gateway, opportunity: Opportunity, *, follow: FollowPayout
) -> Payout | None:
    """On the way back from checkout, ask the gateway (the webhook may come later, or never)."""
    payout = repository.payout_for(session, opportunity.id)
    if payout is None or not payout.checkout_session_id or payout.state is not P.AWAITING_FUNDING:
        return payout
    record_funding(session, payout, gateway.funding(payout.checkout_session_id), follow=follow)
    return payout
