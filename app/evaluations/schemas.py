"""Evaluation shapes for the JSON API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel


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
