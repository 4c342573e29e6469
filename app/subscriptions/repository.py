"""Subscription queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.models import (
    EmailState,
    Frequency,
    Subscription,
    SubscriptionEmail,
    SubscriptionState,
    Team,
)


def get(session: Session, subscription_id: int) -> Subscription | None:
    return session.get(Subscription, subscription_id)


def team_of(session: Session, subscription: Subscription) -> Team | None:
    return session.get(Team, subscription.team_id) if subscription.team_id else None


def confirmations_since(session: Session, email: str, since: datetime) -> int:
    """Confirmation requests written for this address (any of its subscriptions) since then."""
    return (
        session.scalar(
            select(func.count(SubscriptionEmail.id))
            .join(Subscription, Subscription.id == SubscriptionEmail.subscription_id)
            .where(
                func.lower(Subscription.email) == email.lower(),
                SubscriptionEmail.dedupe_key.startswith("confirm:"),
                SubscriptionEmail.created_at >= since,
            )
        )
        or 0
    )


def email_exists(session: Session, dedupe_key: str) -> bool:
    found = session.scalar(
        select(SubscriptionEmail.id).where(SubscriptionEmail.dedupe_key == dedupe_key)
    )
    return found is not None


def due_subscription_ids(
    session: Session, instant_until: datetime, daily_until: datetime
) -> Sequence[int]:
    """Confirmed subscriptions whose cursor is behind how far their kind may look now."""
    return session.scalars(
        select(Subscription.id)
        .where(
            Subscription.state == SubscriptionState.CONFIRMED,
            or_(
                (Subscription.frequency == Frequency.INSTANT)
                & (Subscription.matched_until < instant_until),
                (Subscription.frequency == Frequency.DAILY)
                & (Subscription.matched_until < daily_until),
            ),
        )
        .order_by(Subscription.id)
    ).all()


def lock_confirmed(session: Session, subscription_id: int) -> Subscription | None:
    """The subscription, locked for this worker; None when another holds it or it has ended."""
    return session.scalars(
        select(Subscription)
        .where(
            Subscription.id == subscription_id, Subscription.state == SubscriptionState.CONFIRMED
        )
        .with_for_update(skip_locked=True)
    ).first()


def claim_due_email(session: Session, now: datetime) -> SubscriptionEmail | None:
    """The next email to send, locked so that several workers never send the same one."""
    return session.scalars(
        select(SubscriptionEmail)
        .where(
            SubscriptionEmail.state == EmailState.PENDING, SubscriptionEmail.next_attempt_at <= now
        )
        .order_by(SubscriptionEmail.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
