"""A calendar quarter, and the figures of one quarter (for one team or all of them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter in UTC: Q1 is January to March."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter | None:
        found = _QUARTER.match(text.strip())
        return cls(int(found[1]), int(found[2])) if found else None

    @classmethod
    def containing(cls, moment: datetime) -> Quarter:
        return cls(moment.year, (moment.month - 1) // 3 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, 3 * self.number - 2, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The start of the next quarter: a quarter is start <= t < end."""
        return self.next().start

    def next(self) -> Quarter:
        return (
            Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        )

    def previous(self) -> Quarter:
        return (
            Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)
        )

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"


@dataclass(frozen=True)
class QuarterFigures:
    """One row of the metrics, the same on the page and in the CSV (in this column order).
    A figure that has nothing to be computed from (no award, no payment) is None."""

    quarter: str
    team: str  # the team's slug; empty for all teams
    opportunities_posted: int
    closed_for_proposals: int
    proposals: int
    proposals_per_opportunity: float | None
    unique_bidders: int
    awards: int
    median_days_publish_to_award: float | None
    payments: int
    median_days_merge_to_payment: float | None
    total_paid_cents: int
    currency: str
    paid_on_time: int
    share_paid_on_time_percent: float | None
