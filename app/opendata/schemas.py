"""One row of the opportunities dataset, the same in CSV and JSON."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class OpportunityRecord(BaseModel):
    id: int
    url: str
    title: str
    title_fr: str
    team: str = Field(description="The team's slug; its page is /teams/<slug>.")
    state: str
    amount_cents: int
    currency: str
    skills: list[str]
    published_at: datetime | None
    proposal_deadline: datetime
    delivery_date: date | None
    github_repository: str
    github_issue_number: int | None
    licence: str
    awarded_to: str = Field(description="GitHub login of the awardee, when awarded.")
    awarded_price_cents: int | None
    awarded_at: datetime | None


class Dataset(BaseModel):
    name: str
    records: int
    generated_at: datetime
    items: list[OpportunityRecord]
