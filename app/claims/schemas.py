"""What the claims API reads and answers (the pages read the same input models)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.models import Claim
from app.schemas import described


class ClaimIn(BaseModel):
    reason: str = Field(default="", max_length=4000)


class ResolutionIn(BaseModel):
    model_config = described(
        "release | partial | refund; for partial, the developer side's part in cents."
    )

    resolution: str = Field(default="", max_length=10)
    developer_cents: int | None = Field(default=None, ge=0)
    note: str = Field(default="", max_length=4000)


class ClaimOut(BaseModel):
    id: int
    opportunity_id: int
    side: str
    reason: str
    state: str
    # True when the money was still held at opening: the resolution then moves it.
    money_held: bool
    resolution: str
    developer_cents: int
    proposed_by_user_id: int | None
    confirmed_by_user_id: int | None
    opened_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, claim: Claim) -> ClaimOut:
        return cls(
            id=claim.id,
            opportunity_id=claim.opportunity_id,
            side=claim.side.value,
            reason=claim.reason,
            state=claim.state.value,
            money_held=claim.money_held,
            resolution=claim.resolution,
            developer_cents=claim.developer_cents,
            proposed_by_user_id=claim.proposed_by_user_id,
            confirmed_by_user_id=claim.confirmed_by_user_id,
            opened_at=claim.opened_at,
            resolved_at=claim.resolved_at,
        )
