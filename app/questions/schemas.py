"""Question and addendum shapes for the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AddendumOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    body: str
    new_deadline: datetime | None
    created_at: datetime


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
