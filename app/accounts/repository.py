"""User queries."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Team, TeamMembership, User, UserSession
from app.models.base import utcnow


def users_with_roles(session: Session) -> list[tuple[User, list[str]]]:
    users = session.scalars(
        select(User).where(User.deleted_at.is_(None)).order_by(User.login)
    ).all()
    roles: dict[int, list[str]] = defaultdict(list)
    for user_id, team_name, role in session.execute(
        select(TeamMembership.user_id, Team.name, TeamMembership.role)
        .join(Team, Team.id == TeamMembership.team_id)
        .order_by(Team.name, TeamMembership.role)
    ):
        roles[user_id].append(f"{team_name}: {role}")
    return [(user, roles.get(user.id, [])) for user in users]


def active_sessions(session: Session, user_id: int) -> list[UserSession]:
    return list(
        session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > utcnow(),
            )
            .order_by(UserSession.last_seen_at.desc())
        )
    )
