"""Government teams, their projects (usually one repository each) and memberships."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, EnumText, UTCDateTime, utcnow


class TeamRole(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    EVALUATOR = "evaluator"
    FINANCE = "finance"


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (
        CheckConstraint("quiet_days_warning BETWEEN 1 AND 90", name="quiet_days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_fr: Mapped[str] = mapped_column(String(200), default="")
    organization: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_fr: Mapped[str] = mapped_column(Text, default="")
    # A team is public and may publish once approved: at once when its creator's verified email
    # is in a government domain, otherwise by a platform admin.
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # When set, a draft needs at least one completed peer review before it can be published.
    require_peer_review: Mapped[bool] = mapped_column(default=False)
    # The SPDX licence expression a new draft starts with; each opportunity may name another.
    default_licence: Mapped[str] = mapped_column(String(60), default="MIT", server_default="MIT")
    # Work in progress with no activity (check-in, pull request) for this many days warns the
    # team and the awardee, once per quiet period.
    quiet_days_warning: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("team_id", "slug", name="uq_projects_team_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    description_fr: Mapped[str] = mapped_column(Text, default="")
    github_repository_id: Mapped[int | None] = mapped_column(BigInteger)
    github_repository_full_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TeamMembership(Base):
    __tablename__ = "team_memberships"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "role", name="uq_team_memberships_team_user_role"),
        CheckConstraint("role IN ('owner', 'editor', 'evaluator', 'finance')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[TeamRole] = mapped_column(EnumText(TeamRole, 20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
