"""The platform's GitHub App installations and the repositories each one lets us act on.

GitHub is the source of truth: the rows are what GitHub answered when last asked (on every
installation event and by the periodic check), never what an event alone claims, so events in
any order, repeated or lost, end in the same rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class GitHubInstallation(Base):
    __tablename__ = "github_installations"

    # GitHub's installation id.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account_login: Mapped[str] = mapped_column(String(100), default="")
    account_github_id: Mapped[int | None] = mapped_column(BigInteger)
    # Who installed it, as GitHub's signed `installation.created` event says: the proof that
    # the person who comes back from GitHub's install page may connect it to their team.
    installed_by_github_id: Mapped[int | None] = mapped_column(BigInteger)
    # The team it serves, once the installer's claim is confirmed by that event.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    # A team member came back from GitHub's install page with this installation id.
    claimed_by_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    claimed_by_github_id: Mapped[int | None] = mapped_column(BigInteger)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def active(self) -> bool:
        return self.deleted_at is None and self.suspended_at is None


class InstalledRepository(Base):
    """A repository the app was given; one installation at a time holds a repository. A
    repository taken out of the installation keeps its row, with the time it left."""

    __tablename__ = "github_installed_repositories"
    repository_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    installation_id: Mapped[int] = mapped_column(ForeignKey("github_installations.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # The name as calls look it up: GitHub's names are case-insensitive.
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
