"""What the subscription form posts, read as text: the service words every rule for the person."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.models import Frequency


class SubscriptionIn(BaseModel):
    email: str = Field(default="", max_length=320)
    skills: str = Field(default="", max_length=500)  # comma-separated
    team: str = Field(default="", max_length=80)  # a team's slug; empty for any team
    amount_min: str = Field(default="", max_length=20)  # dollars, as typed
    frequency: str = Field(default=Frequency.DAILY.value, max_length=10)
