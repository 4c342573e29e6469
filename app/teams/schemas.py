"""Team and project shapes for the JSON API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
    """What a team's owners set for it."""

    model_config = ConfigDict(from_attributes=True)

    default_licence: str = Field(
        max_length=60,
        description="SPDX licence expression new drafts start with, such as MIT or Apache-2.0.",
    )
