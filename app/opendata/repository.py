"""The open-data queries. Each reads one batch after a key (keyset pagination on the primary key),
so a file of 100k rows costs the same per row as one of ten, and memory stays one batch deep.

Public means published once (whatever the state since): drafts, and what belongs to them, never
appear. Each query selects only the columns it publishes, so a private column cannot slip out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from app.models import (
    Addendum,
    AuditEvent,
    Award,
    Opportunity,
    OpportunitySkill,
    OpportunityState,
    Payout,
    PayoutState,
    Proposal,
    Team,
    User,
)

PublicRow = Row[Opportunity, str, str | None, int | None, datetime | None]
AwardRow = Row[Award, Opportunity, str]
PaymentRow = Row[int, str, str, str, int, str, datetime | None, int]
AddendumRow = Row[int, int, datetime, datetime | None, int | None, str, int]
RepositoryRow = Row[str, str, str, str, datetime | None]

# Before publication an opportunity's states are its team's business.
PRIVATE_STATES = (OpportunityState.DRAFT.value, OpportunityState.IN_PEER_REVIEW.value)
# The payment has left the platform for the developer (Stripe may not have confirmed it yet).
RELEASED = (PayoutState.RELEASED.value, PayoutState.PAID.value)
_PUBLISHED = Opportunity.published_at.is_not(None)


def public_opportunities(session: Session, after_id: int, limit: int) -> Sequence[PublicRow]:
    """The award columns are what the public award notice already shows: the winner's login
    and price."""
    return session.execute(
        select(Opportunity, Team.slug, User.login, Proposal.price_cents, Award.awarded_at)
        .join(Team, Team.id == Opportunity.team_id)
        .outerjoin(Award, (Award.opportunity_id == Opportunity.id) & Award.ended_at.is_(None))
        .outerjoin(Proposal, Proposal.id == Award.proposal_id)
        .outerjoin(User, User.id == Proposal.author_user_id)
        .where(_PUBLISHED, Opportunity.id > after_id)
        .order_by(Opportunity.id)
        .limit(limit)
    ).all()


def public_state_history(
    session: Session, opportunity_ids: Sequence[int]
) -> dict[int, list[tuple[str, datetime]]]:
    """Each opportunity's transitions into a public state, oldest first, from the audit trail
    (only the state and the time: who did it and why stay in the trail)."""
    found: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    if not opportunity_ids:
        return found
    for subject_id, to_state, occurred_at in session.execute(
        select(AuditEvent.subject_id, AuditEvent.to_state, AuditEvent.occurred_at)
        .where(
            AuditEvent.subject_type == "opportunity",
            AuditEvent.subject_id.in_(opportunity_ids),
            AuditEvent.action == "opportunity.transition",
            AuditEvent.to_state.not_in(PRIVATE_STATES),
        )
        .order_by(AuditEvent.subject_id, AuditEvent.id)
    ):
        found[subject_id].append((str(to_state), occurred_at))  # never NULL: filtered above
    return found


def awards(session: Session, after_id: int, limit: int) -> Sequence[AwardRow]:
    """Current awards: one ended by a missed delivery is replaced by the next-ranked one's
    notice (the opportunities file's state history shows the change)."""
    return session.execute(
        select(Award, Opportunity, Team.slug)
        .join(Opportunity, Opportunity.id == Award.opportunity_id)
        .join(Team, Team.id == Opportunity.team_id)
        .where(_PUBLISHED, Award.id > after_id, Award.ended_at.is_(None))
        .order_by(Award.id)
        .limit(limit)
    ).all()


def released_payments(session: Session, after_id: int, limit: int) -> Sequence[PaymentRow]:
    """The payout's id, opportunity, team, repository, licence, amount, currency and release
    time: nothing of Stripe's, no account, no person."""
    return session.execute(
        select(
            Payout.id,
            Team.slug,
            Opportunity.github_repository_full_name,
            Opportunity.license_spdx,
            Payout.amount_cents,
            Payout.currency,
            Payout.released_at,
            Payout.opportunity_id,
        )
        .join(Opportunity, Opportunity.id == Payout.opportunity_id)
        .join(Team, Team.id == Opportunity.team_id)
        .where(
            _PUBLISHED,
            Payout.state.in_(RELEASED),
            Payout.released_at.is_not(None),
            Payout.id > after_id,
        )
        .order_by(Payout.id)
        .limit(limit)
    ).all()


def addenda(session: Session, after_id: int, limit: int) -> Sequence[AddendumRow]:
    """Addenda are published with their opportunity; a question appears only inside the
    addendum that answers it, never while it waits for an answer."""
    return session.execute(
        select(
            Addendum.id,
            Addendum.opportunity_id,
            Addendum.created_at,
            Addendum.new_deadline,
            Addendum.question_id,
            Addendum.body,
            Addendum.number,
        )
        .join(Opportunity, Opportunity.id == Addendum.opportunity_id)
        .where(_PUBLISHED, Addendum.id > after_id)
        .order_by(Addendum.id)
        .limit(limit)
    ).all()


def _paid_work(team_slug: str | None) -> Select[int]:
    """Published opportunities with a repository whose payment was released."""
    query = (
        select(Opportunity.id)
        .join(Payout, Payout.opportunity_id == Opportunity.id)
        .join(Team, Team.id == Opportunity.team_id)
        .where(
            _PUBLISHED, Payout.state.in_(RELEASED), Opportunity.github_repository_full_name != ""
        )
    )
    return query.where(Team.slug == team_slug) if team_slug else query


def paid_repositories(session: Session, team_slug: str | None) -> Sequence[RepositoryRow]:
    """Each released payment's repository, licence, team and release time (one row per paid
    opportunity); the inventory of code the programme paid for is grouped from these."""
    paid = _paid_work(team_slug).subquery()
    return session.execute(
        select(
            Opportunity.github_repository_full_name,
            Opportunity.license_spdx,
            Team.slug,
            Team.name,
            Payout.released_at,
        )
        .join(Team, Team.id == Opportunity.team_id)
        .join(Payout, Payout.opportunity_id == Opportunity.id)
        .where(Opportunity.id.in_(select(paid.c.id)))
        .order_by(Opportunity.github_repository_full_name, Opportunity.id)
    ).all()


def paid_repository_skills(session: Session, team_slug: str | None) -> dict[str, list[str]]:
    paid = _paid_work(team_slug).subquery()
    found: dict[str, list[str]] = defaultdict(list)
    for repository, skill in session.execute(
        select(Opportunity.github_repository_full_name, OpportunitySkill.skill)
        .distinct()
        .join(OpportunitySkill, OpportunitySkill.opportunity_id == Opportunity.id)
        .where(Opportunity.id.in_(select(paid.c.id)))
        .order_by(Opportunity.github_repository_full_name, OpportunitySkill.skill)
    ):
        found[repository].append(skill)
    return found
