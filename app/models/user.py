"""People, keyed by their numeric GitHub id (logins can be renamed; ids cannot)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    github_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    # Refreshed from GitHub at each sign-in.
    login: Mapped[str] = mapped_column(String(39))
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    email_verified: Mapped[bool] = mapped_column(default=False)
    avatar_url: Mapped[str] = mapped_column(String(500), default="")
    is_admin: Mapped[bool] = mapped_column(default=False)
    # The profile the person writes themselves.
    display_name: Mapped[str] = mapped_column(String(200), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    skills: Mapped[str] = mapped_column(String(500), default="")
    links: Mapped[str] = mapped_column(Text, default="")
    preferred_locale: Mapped[str] = mapped_column(String(5), default="en")
    eligibility_attested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terms_version: Mapped[str] = mapped_column(String(20), default="")
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the person deletes their account; the row stays, de-identified, for payments
    # and the audit trail.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name or self.login
