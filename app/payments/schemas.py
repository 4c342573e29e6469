"""Payment data in and out of the API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class LedgerLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    movement: str
    account: str
    amount_cents: int
    currency: str
    reference: str
    created_at: datetime


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
    transfer_id: str
    refunded_at: datetime | None
    ledger: list[LedgerLineOut]
    ledger_balance_cents: int
