"""Payment jobs. Each claims its rows with SKIP LOCKED (so concurrent workers never handle one
twice), makes at most one gateway call per row, and commits per row: a crash loses at most the
row in hand, which the next run picks up again. The jobs that record a payout's facts take the
work's reaction as ``follow`` (see service.FollowPayout); app/jobs.py passes it in."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.models import InboxStatus, Payout, PayoutState, StripeEvent
from app.payments import events, repository, service
from app.payments.gateway import Gateway, GatewayError, gateway_for
from app.payments.service import FollowPayout

log = structlog.get_logger("devex.payments")
# An event about a payout we cannot place is retried this many times, then set aside.
MAX_EVENT_ATTEMPTS = 50
BATCH = 50


def process_stripe_events(
    session_factory: sessionmaker[Session], settings: Settings, *, follow: FollowPayout
) -> int:
    gateway = gateway_for(settings)
    done = 0
    last_id = 0
    with session_factory() as session:
        for _ in range(BATCH):
            event = repository.claim_pending_event(session, last_id)
            if event is None:
                break
            last_id = event.id
            with structlog.contextvars.bound_contextvars(stripe_event_id=event.event_id):
                done += _apply_one(session, gateway, event, follow)
    return done


def _apply_one(session: Session, gateway: Gateway, event: StripeEvent, follow: FollowPayout) -> int:
    event_id = event.id
    try:
        outcome = events.apply_event(session, gateway, event.type, event.payload, follow=follow)
    except GatewayError as exc:
        session.rollback()
        _note_attempt(session, event_id, f"retrying: {exc}")
        return 0
    if outcome is None:
        _note_attempt(session, event_id, "waiting: its payout is not known yet")
        return 0
    event.finish(outcome)
    session.commit()
    return 1


def _note_attempt(session: Session, event_id: int, note: str) -> None:
    event = session.get(StripeEvent, event_id)
    if event is None:
        return
    event.note_attempt(note)
    if event.attempts >= MAX_EVENT_ATTEMPTS:
        event.status = InboxStatus.IGNORED
        log.warning("stripe event set aside", event_id=event.event_id, type=event.type)
    session.commit()


def each_claimed(
    session_factory: sessionmaker[Session],
    settings: Settings,
    conditions: list[Any],
    step: Callable[[Session, Gateway, Payout], None],
    on_error: Callable[[Session, Payout, str], None],
) -> int:
    gateway = gateway_for(settings)
    done = 0
    with session_factory() as session:
        seen: set[int] = set()
        for _ in range(BATCH):
            payout = repository.claim_payout(session, Payout.id.not_in(seen or {0}), *conditions)
            if payout is None:
                break
            seen.add(payout.id)
            try:
                step(session, gateway, payout)
            except GatewayError as exc:
                session.rollback()
                fresh = session.get(Payout, payout.id)
                if fresh is not None:
                    on_error(session, fresh, str(exc))
                session.commit()
                log.warning("payment step failed", payout_id=payout.id, error=str(exc))
                continue
            session.commit()
            done += 1
    return done


def note_only(session: Session, payout: Payout, error: str) -> None:
    """Nothing to count: the step is simply tried again on the next run."""


def send_transfers(
    session_factory: sessionmaker[Session], settings: Settings, *, follow: FollowPayout
) -> int:
    """Releasing payouts whose transfer we have not recorded yet (new, or lost in a crash)."""
    return each_claimed(
        session_factory,
        settings,
        repository.transfer_to_send(),
        partial(service.send_transfer, follow=follow),
        service.transfer_attempt_failed,
    )


def send_refunds(
    session_factory: sessionmaker[Session], settings: Settings, *, follow: FollowPayout
) -> int:
    """Requested refunds not yet made, of money we still hold. A disputed charge cannot be
    refunded (Stripe refuses): the refund waits for the dispute to close; a lost one has
    returned the money already (refunded, with nothing to send)."""
    return each_claimed(
        session_factory,
        settings,
        repository.refund_to_send(),
        partial(service.send_refund, follow=follow),
        note_only,
    )


def send_adjustments(session_factory: sessionmaker[Session], settings: Settings) -> int:
    """Held money given back when the contract moved to a cheaper proposal."""
    return each_claimed(
        session_factory,
        settings,
        repository.has_pending_adjustment(),
        service.send_adjustments,
        note_only,
    )


def send_partial_refunds(session_factory: sessionmaker[Session], settings: Settings) -> int:
    """The parts of payouts that a claim's resolution gave back to the team, not refunded yet
    (the rest of each is released by the transfer job)."""
    return each_claimed(
        session_factory,
        settings,
        [Payout.partial_refund_cents > 0, Payout.partial_refund_id == ""],
        service.send_partial_refund,
        note_only,
    )


def confirm_transfers(
    session_factory: sessionmaker[Session], settings: Settings, *, follow: FollowPayout
) -> int:
    """Released payouts whose confirmation events have not come: ask the gateway instead."""
    return each_claimed(
        session_factory,
        settings,
        [Payout.state == PayoutState.RELEASED],
        partial(service.confirm_transfers, follow=follow),
        note_only,
    )
