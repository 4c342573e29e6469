"""Participation metrics: what each figure means is written here once, and on the page.

Quarters are calendar quarters in UTC. Opportunities posted, proposals and unique bidders
count the opportunities first published in the quarter; the wait before an award counts the
awards made in the quarter; the payments count the money that left for developers in the
quarter, with the wait from the verified merge and whether it was on time.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.i18n import N_
from app.i18n import gettext as _
from app.metrics import repository
from app.metrics.schemas import Quarter, QuarterFigures
from app.models import Team
from app.teams import repository as teams_repository

# A payment is on time when it left within this many days of the verified merge.
ON_TIME_DAYS = 7
# The page charts the chosen quarter and the ones before it: a year.
TREND_QUARTERS = 4
DAY = timedelta(days=1)
# The figures the page charts, each with its title (QuarterFigures' field names).
CHARTED = {
    "opportunities_posted": N_("Opportunities posted"),
    "proposals_per_opportunity": N_("Proposals per opportunity"),
    "unique_bidders": N_("Unique bidders"),
    "median_days_publish_to_award": N_("Days from publication to award (median)"),
    "median_days_merge_to_payment": N_("Days from merge to payment (median)"),
    "total_paid_cents": N_("Total paid"),
    "share_paid_on_time_percent": N_("Share paid on time"),
}
# A bar chart's drawing area (SVG user units): value labels above the bars, quarters below.
CHART_WIDTH = 320
CHART_HEIGHT = 170
BARS_TOP = 24
BARS_BOTTOM = 140


@dataclass(frozen=True)
class Bar:
    quarter: str
    value: float | None
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    bars: list[Bar]


@dataclass(frozen=True)
class TeamChoice:
    """The team the figures are for: its id and slug, or None and "" for all teams."""

    id: int | None = None
    slug: str = ""


@dataclass(frozen=True)
class Choice:
    """What the GET form chose, read forgivingly: a value that is not offered is reported and
    the default (the current quarter, all teams) is used instead."""

    quarter: Quarter
    team: TeamChoice
    quarters: list[Quarter]
    teams: Sequence[Team]
    problems: list[str]


def choose(session: Session, quarter_text: str, team_slug: str, now: datetime) -> Choice:
    quarters = quarters_to_choose(session, now)
    teams = teams_repository.list_teams(session)
    problems: list[str] = []
    quarter = Quarter.parse(quarter_text)
    if quarter_text and quarter not in quarters:
        problems.append(
            _("“%(value)s” is not a quarter shown here; it was ignored.", value=quarter_text)
        )
        quarter = None
    team = next((TeamChoice(t.id, t.slug) for t in teams if t.slug == team_slug), TeamChoice())
    if team_slug and not team.slug:
        problems.append(_("There is no team “%(value)s”; all teams are shown.", value=team_slug))
    return Choice(quarter or quarters[0], team, quarters, teams, problems)


def figures(
    session: Session, quarter: Quarter, team: TeamChoice, currency: str, now: datetime
) -> QuarterFigures:
    posted = repository.posted(session, quarter, team.id)
    closed = repository.closed_for_proposals(session, quarter, team.id, now)
    proposals, bidders = repository.proposals_and_bidders(session, quarter, team.id, now)
    award_waits = [
        awarded - published
        for published, awarded in repository.award_waits(session, quarter, team.id)
        if published  # always: only published work is awarded
    ]
    paid = repository.payments(session, quarter, team.id, currency)
    payment_waits = [released - merged for merged, released, _amount in paid if merged and released]
    on_time = sum(1 for wait in payment_waits if wait <= ON_TIME_DAYS * DAY)
    return QuarterFigures(
        quarter=str(quarter),
        team=team.slug,
        opportunities_posted=posted,
        closed_for_proposals=closed,
        proposals=proposals,
        proposals_per_opportunity=round(proposals / closed, 2) if closed else None,
        unique_bidders=bidders,
        awards=len(award_waits),
        median_days_publish_to_award=_median_days(award_waits),
        payments=len(paid),
        median_days_merge_to_payment=_median_days(payment_waits),
        total_paid_cents=sum(amount for _merged, _released, amount in paid),
        currency=currency,
        paid_on_time=on_time,
        share_paid_on_time_percent=(
            round(100 * on_time / len(payment_waits), 1) if payment_waits else None
        ),
    )


def trend(
    session: Session, last: Quarter, team: TeamChoice, currency: str, now: datetime
) -> list[QuarterFigures]:
    """The figures of ``last`` and the quarters before it, oldest first."""
    quarters = [last]
    while len(quarters) < TREND_QUARTERS:
        quarters.insert(0, quarters[0].previous())
    return [figures(session, quarter, team, currency, now) for quarter in quarters]


def quarters_to_choose(session: Session, now: datetime) -> list[Quarter]:
    """From the first publication's quarter to the current one, newest first."""
    current = Quarter.containing(now)
    first_published = repository.first_publication(session)
    first = Quarter.containing(first_published) if first_published else current
    quarters = [current]
    while quarters[-1] > first:
        quarters.append(quarters[-1].previous())
    return quarters


def as_csv(rows: Sequence[QuarterFigures]) -> str:
    """One row per quarter in QuarterFigures' field order; an empty cell where there is no
    figure. No cell holds free text (quarters, slugs, numbers), so none can be a formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(field.name for field in fields(QuarterFigures))
    for row in rows:
        writer.writerow("" if value is None else value for value in astuple(row))
    return out.getvalue()


def _median_days(waits: Sequence[timedelta]) -> float | None:
    return round(statistics.median(w / DAY for w in waits), 1) if waits else None


def charts(rows: Sequence[QuarterFigures]) -> list[Chart]:
    return [
        Chart(key, _(title), _bars([(row.quarter, getattr(row, key)) for row in rows]))
        for key, title in CHARTED.items()
    ]


def _bars(values: Sequence[tuple[str, float | None]]) -> list[Bar]:
    """Heights in proportion to the largest value; a quarter with no figure has no bar."""
    largest = max((value for _quarter, value in values if value), default=0)
    slot = CHART_WIDTH / len(values)
    bars = []
    for place, (quarter, value) in enumerate(values):
        height = (BARS_BOTTOM - BARS_TOP) * value / largest if largest and value else 0
        x = place * slot + slot * 0.2
        bars.append(Bar(quarter, value, x, BARS_BOTTOM - height, slot * 0.6, height))
    return bars
