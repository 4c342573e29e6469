"""Proposal shapes for the JSON API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approach: str = Field(default="", max_length=20_000)
    experience: str = Field(default="", max_length=10_000)
    links: list[str] = Field(default_factory=list, max_length=10)
    price_cents: int = Field(gt=0, le=2**31 - 1)
    delivery_date: date | None = None
    accept_terms: bool = False
    attest_eligibility: bool = False
    submit: bool = Field(default=False, description="Submit now (otherwise saved as a draft).")


class ProposalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    opportunity_id: int
    state: str
    approach: str
    experience: str
    links: list[str]
    price_cents: int
    currency: str
    delivery_date: date | None
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    label: str | None = Field(
        default=None,
        description='"A", "B", ... in the order the proposals were submitted, for the team.',
    )
    anonymised: bool = Field(
        default=False,
        description="Blind evaluation: the links (which name the bidder) are withheld until "
        "you have submitted your evaluation of every proposal.",
    )
