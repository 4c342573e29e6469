"""What each Stripe event means for a payout: the facts it reports (a funding, a transfer, a
refund, a dispute, an account's payouts enabled), each recorded once by the payments service,
in whatever order the events arrive."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from app.models import DisputeStatus, Outcome, Payout
from app.payments import repository, service
from app.payments.gateway import ADJUSTMENT_METADATA, Funding, Gateway, Transfer
from app.payments.service import FollowPayout


def _funded_by_intent(
    session: Session, payout: Payout, obj: dict[str, Any], follow: FollowPayout
) -> None:
    service.record_funding(
        session,
        payout,
        Funding(True, str(obj["id"]), str(obj.get("latest_charge") or "")),
        follow=follow,
    )


def _funded_by_charge(
    session: Session, payout: Payout, obj: dict[str, Any], follow: FollowPayout
) -> None:
    service.record_funding(
        session,
        payout,
        Funding(True, str(obj.get("payment_intent") or ""), str(obj["id"])),
        follow=follow,
    )


def _checkout_completed(
    session: Session, payout: Payout, obj: dict[str, Any], follow: FollowPayout
) -> None:
    if obj.get("payment_status") == "paid":
        service.record_funding(
            session, payout, Funding(True, str(obj.get("payment_intent") or "")), follow=follow
        )


def _adjustment(refund: dict[str, Any]) -> bool:
    """A partial refund of a re-award's difference: booked by its own job, never the refund of
    the whole payout."""
    return bool((refund.get("metadata") or {}).get(ADJUSTMENT_METADATA))


def _charge_refunded(
    session: Session, payout: Payout, obj: dict[str, Any], follow: FollowPayout
) -> None:
    if obj.get("refunded") is False:
        return  # a partial refund: its refund's own event records it
    refunds = (obj.get("refunds") or {}).get("data") or []
    whole = [refund for refund in refunds if not _adjustment(refund)]
    if refunds and not whole:
        return  # only the part given back on a re-award
    service.record_refund(
        session, payout, str(whole[0]["id"]) if whole else str(obj["id"]), follow=follow
    )


def _refund_succeeded(
    session: Session, payout: Payout, obj: dict[str, Any], follow: FollowPayout
) -> None:
    if obj.get("status") != "succeeded" or _adjustment(obj):
        return  # not done yet, or the part given back on a re-award (booked by its own job)
    if service.is_partial(payout, obj.get("amount")):
        service.record_partial_refund(session, payout, str(obj["id"]))
    else:
        service.record_refund(session, payout, str(obj["id"]), follow=follow)


def _dispute_opened(
    session: Session, payout: Payout, _obj: dict[str, Any], follow: FollowPayout
) -> None:
    service.record_dispute(session, payout, DisputeStatus.OPEN, follow=follow)


def _dispute_closed(
    session: Session, payout: Payout, obj: dict[str, Any], follow: FollowPayout
) -> None:
    if obj.get("status") in service.DISPUTE_CLOSED:
        service.record_dispute(session, payout, DisputeStatus(obj["status"]), follow=follow)


def _transfer_created(
    session: Session, payout: Payout, obj: dict[str, Any], follow: FollowPayout
) -> None:
    service.record_transfer(session, payout, Transfer.of(obj), confirmed=True, follow=follow)


def _transfer_reversed(
    session: Session, payout: Payout, obj: dict[str, Any], follow: FollowPayout
) -> None:
    reversed_transfer = replace(Transfer.of(obj), reversed=True)
    service.record_transfer(session, payout, reversed_transfer, confirmed=False, follow=follow)


EVENT_FACTS = {
    "payment_intent.succeeded": _funded_by_intent,
    "charge.succeeded": _funded_by_charge,
    "checkout.session.completed": _checkout_completed,
    "charge.refunded": _charge_refunded,
    "refund.created": _refund_succeeded,
    "refund.updated": _refund_succeeded,
    "charge.dispute.created": _dispute_opened,
    "charge.dispute.closed": _dispute_closed,
    "transfer.created": _transfer_created,
    "transfer.reversed": _transfer_reversed,
}


def apply_event(
    session: Session,
    gateway: Gateway,
    event_type: str,
    obj: dict[str, Any],
    *,
    follow: FollowPayout,
) -> Outcome | None:
    """What one Stripe event means; None when it concerns a payout we cannot place yet (its
    events arrived before ours): it stays in the inbox and is tried again."""
    if event_type == "account.updated":
        account = repository.account_by_provider_id(session, str(obj.get("id")))
        if account is None:
            return Outcome.ignored("not one of our payout accounts")
        service.refresh_account(session, gateway, account, follow=follow)
        return Outcome.processed(
            f"payout account of user {account.user_id}: payouts enabled {account.payouts_enabled}"
        )
    if event_type == "payment_intent.payment_failed":
        return Outcome.ignored("a failed attempt; the team can pay again")
    apply = EVENT_FACTS.get(event_type)
    if apply is None:
        return Outcome.ignored("not an event we act on")
    payout = repository.find_payout_for_stripe_object(session, obj)
    if payout is None:
        return None
    apply(session, payout, obj, follow)
    return Outcome.processed(f"payout {payout.id}: {payout.state}")
