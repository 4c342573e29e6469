"""The open-data query: every public opportunity, with its public award facts, in one pass."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from app.models import Award, Opportunity, Proposal, Team, User

PublicRow = Row[Opportunity, str, str | None, int | None, datetime | None]


def public_opportunities(session: Session) -> Sequence[PublicRow]:
    """Public means published once (whatever the state since); drafts never appear. The award
    columns are what the public award notice already shows: the winner's login and price."""
    return session.execute(
        select(Opportunity, Team.slug, User.login, Proposal.price_cents, Award.awarded_at)
        .join(Team, Team.id == Opportunity.team_id)
        .outerjoin(Award, Award.opportunity_id == Opportunity.id)
        .outerjoin(Proposal, Proposal.id == Award.proposal_id)
        .outerjoin(User, User.id == Proposal.author_user_id)
        .where(Opportunity.published_at.is_not(None))
        .order_by(Opportunity.id)
    ).all()
