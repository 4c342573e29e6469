"""Delivery inputs and outputs: one model per input, read from a form or a JSON body alike."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from app.text import parse_date


class CheckInIn(BaseModel):
    body: str = Field("", max_length=2000)
    link: str = Field("", max_length=500)


class ExtendIn(BaseModel):
    delivery_date: date | None = None
    reason: str = Field("", max_length=1000)

    @model_validator(mode="before")
    @classmethod
    def _read_text(cls, data: Any) -> Any:
        # A form posts text; an unreadable date is the service's to word (None).
        if isinstance(data, dict) and isinstance(data.get("delivery_date"), str):
            return {**data, "delivery_date": parse_date(data["delivery_date"])}
        return data


class ReasonIn(BaseModel):
    reason: str = Field("", max_length=1000)


class QuietDaysIn(BaseModel):
    quiet_days_warning: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_text(cls, data: Any) -> Any:
        raw = data.get("quiet_days_warning") if isinstance(data, dict) else None
        if isinstance(raw, str):
            return {**data, "quiet_days_warning": int(raw) if raw.strip().isdigit() else None}
        return data


class QuietDaysOut(BaseModel):
    team: str
    quiet_days_warning: int


class CheckInOut(BaseModel):
    source: str = Field(description="awardee (written) or github (a pull request of theirs)")
    author_login: str
    body: str
    link: str
    github_pull_request_number: int | None
    created_at: datetime


class ContractOut(BaseModel):
    opportunity_id: int
    state: str
    awardee_login: str
    price_cents: int
    currency: str
    delivery_date: date | None = Field(
        description="The contract's: set at an extension, else the proposal's, else the "
        "opportunity's"
    )
    quiet_days_warning: int
    last_activity_at: datetime | None
    check_ins: list[CheckInOut]
