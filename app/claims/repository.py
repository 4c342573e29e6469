"""Queries about claims."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Claim, ClaimState, User


def claims_of(session: Session, opportunity_id: int) -> Sequence[Claim]:
    return session.scalars(
        select(Claim).where(Claim.opportunity_id == opportunity_id).order_by(Claim.id)
    ).all()


def open_claim_of(session: Session, opportunity_id: int) -> Claim | None:
    return session.scalars(
        select(Claim).where(
            Claim.opportunity_id == opportunity_id, Claim.state != ClaimState.RESOLVED
        )
    ).first()


def locked_claim(session: Session, claim_id: int) -> Claim | None:
    return session.scalars(
        select(Claim)
        .where(Claim.id == claim_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def unresolved_claims(session: Session) -> Sequence[Claim]:
    """The needs-attention queue's claims, oldest first."""
    return session.scalars(
        select(Claim).where(Claim.state != ClaimState.RESOLVED).order_by(Claim.opened_at)
    ).all()


def administrators(session: Session) -> Sequence[User]:
    return session.scalars(
        select(User).where(User.is_admin.is_(True), User.deleted_at.is_(None)).order_by(User.id)
    ).all()
