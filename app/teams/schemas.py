"""Team and project shapes for the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.models import SignoffPurpose, TeamRole
from app.schemas import described


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    description: str
    github_repository_full_name: str


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    name_fr: str
    organization: str
    description: str


class TeamDetailOut(TeamOut):
    projects: list[ProjectOut]


class TeamSettings(BaseModel):
    model_config = described("What a team's owners set for it.", from_attributes=True)

    default_licence: str = Field(
        max_length=60,
        description="SPDX licence expression new drafts start with, such as MIT or Apache-2.0.",
    )
    monthly_spending_limit_cents: int | None = Field(
        default=None,
        ge=0,
        le=2_000_000_000,
        description="The most the team's approvers may sign off for funding in one UTC calendar"
        " month, in cents; null for no monthly limit.",
    )


class MemberOut(BaseModel):
    github_id: int
    login: str
    roles: list[TeamRole]
    spending_limit_cents: int | None = Field(
        description="An approver's own sign-off limit, in cents; null for other members."
    )


class MemberRolesIn(BaseModel):
    roles: list[TeamRole] = Field(description="All of the member's roles; empty removes them.")
    spending_limit_cents: int | None = Field(
        default=None,
        ge=0,
        le=2_000_000_000,
        description="The approver's sign-off limit in cents; required when making someone an"
        " approver, kept as it was when left out.",
    )


class SignoffOut(BaseModel):
    model_config = described(
        "One approver's sign-off: who, when, what amount.", from_attributes=True
    )

    opportunity_id: int
    award_id: int | None
    purpose: SignoffPurpose = Field(
        description="What the approver signed off: an opportunity's budget going public"
        " (publish), or an award's price being paid (fund)."
    )
    amount_cents: int
    currency: str
    signed_by_github_id: int | None
    signed_at: datetime
