"""Evaluation shapes for the JSON API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class AwardNoticeOut(BaseModel):
    """Public: who won, at what price, with what score, among how many proposals."""

    winner_login: str
    winner_name: str
    price_cents: int
    currency: str
    total: Decimal
    averages: dict[str, Decimal]
    proposals_received: int
    reason: str
    awarded_at: datetime


class ConsensusRowOut(BaseModel):
    proposal_id: int
    developer_login: str
    price_cents: int
    rank: int | None
    total: Decimal | None
    averages: dict[str, Decimal]
    evaluations: int
    disqualified: bool


class DeclarationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    has_conflict: bool
    note: str = Field(default="", max_length=2000)


class ScoreIn(BaseModel):
    score: int = Field(ge=0, le=5)
    comment: str = Field(default="", max_length=4000)


class ScoresIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scores: dict[str, ScoreIn]
    submit: bool = Field(default=False, description="Submit (final) or keep as a draft.")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=4000)


class AwardIn(ReasonIn):
    proposal_id: int = Field(ge=1, le=2**31 - 1)
