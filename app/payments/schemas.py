"""Payment data in and out of the API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas import described


class LedgerLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    movement: str
    account: str
    amount_cents: int
    currency: str
    reference: str
    created_at: datetime


class TransferOut(BaseModel):
    model_config = described("One share of the release: a transfer of its own to one person.")

    github_id: int
    basis_points: int
    amount_cents: int
    state: str
    transfer_id: str


class PayoutOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    opportunity_id: int
    state: str
    amount_cents: int
    fee_cents: int
    currency: str
    simulated: bool
    funded_at: datetime | None
    released_at: datetime | None
    transfer_id: str = Field(description="The awardee's transfer; see transfers for every share")
    transfers: list[TransferOut]
    refunded_at: datetime | None
    ledger: list[LedgerLineOut]
    ledger_balance_cents: int


class CoAuthorsForm(BaseModel):
    """The awardee's co-authors, one per line: a GitHub username or numeric id, then a share in
    percent ("octocat 25"); the awardee keeps the rest."""

    co_authors: str = Field(default="", max_length=2000)


class CoAuthorIn(BaseModel):
    github_id: int = Field(ge=1, le=2**53)
    share_percent: Decimal = Field(gt=0, lt=100, decimal_places=2)


class CoAuthorsIn(BaseModel):
    co_authors: list[CoAuthorIn] = Field(default_factory=list, max_length=20)

    def as_lines(self) -> str:
        """In the form's words, so that both are read by the one rule."""
        return "\n".join(f"{c.github_id} {c.share_percent}" for c in self.co_authors)


class CoAuthorOut(BaseModel):
    github_id: int
    login: str
    share_basis_points: int
