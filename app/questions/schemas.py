"""Question and addendum shapes for the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class AddendumOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    body: str
    new_deadline: datetime | None
    created_at: datetime


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=4000)


class AddendumIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=10_000)
    new_deadline: AwareDatetime | None = Field(
        default=None, description="With its time zone, e.g. 2026-12-01T17:00:00-05:00."
    )
