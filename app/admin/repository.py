"""Queries for administrators."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Opportunity, Payout, Proposal, Team, User


def recent_audit_events(session: Session, limit: int = 200) -> Sequence[AuditEvent]:
    return session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)).all()


def users_by_id(session: Session, ids: Collection[int]) -> dict[int, User]:
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


def teams_by_id(session: Session, ids: Collection[int]) -> dict[int, Team]:
    return {t.id: t for t in session.scalars(select(Team).where(Team.id.in_(ids)))}


def opportunities_by_id(session: Session, ids: Collection[int]) -> dict[int, Opportunity]:
    rows = session.scalars(select(Opportunity).where(Opportunity.id.in_(ids)))
    return {o.id: o for o in rows}


def opportunity_of_proposals(session: Session, ids: Collection[int]) -> dict[int, int]:
    rows = session.execute(select(Proposal.id, Proposal.opportunity_id).where(Proposal.id.in_(ids)))
    return {row.id: row.opportunity_id for row in rows}


def opportunity_of_payouts(session: Session, ids: Collection[int]) -> dict[int, int]:
    rows = session.execute(select(Payout.id, Payout.opportunity_id).where(Payout.id.in_(ids)))
    return {row.id: row.opportunity_id for row in rows}
