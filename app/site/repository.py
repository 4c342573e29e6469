"""Figures for the home page, computed from the data alone."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import OpportunityState, Team
from app.opportunities import repository as opportunities


@dataclass(frozen=True)
class SiteFigures:
    open_count: int
    public_count: int
    team_count: int
    paid_cents: int


def site_figures(session: Session, currency: str) -> SiteFigures:
    by_state = opportunities.public_counts_by_state(session)
    return SiteFigures(
        open_count=by_state.get(OpportunityState.PUBLISHED, 0),
        public_count=sum(by_state.values()),
        team_count=int(session.scalar(select(func.count()).select_from(Team)) or 0),
        paid_cents=opportunities.total_paid_cents(session, currency),
    )
