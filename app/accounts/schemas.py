"""Account shapes for the JSON API. Private fields appear only in the person's own view."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from app.schemas import described


class TeamRoleOut(BaseModel):
    team: str
    roles: list[str]


class MeOut(BaseModel):
    model_config = described(
        "The signed-in person's own account, private fields included.", from_attributes=True
    )

    github_id: int
    login: str
    name: str
    display_name: str
    email: str | None
    avatar_url: str
    bio: str
    skills: str
    preferred_locale: str
    is_admin: bool
    terms_version: str
    terms_accepted_at: datetime | None
    eligibility_attested_at: datetime | None
    teams: list[TeamRoleOut]
