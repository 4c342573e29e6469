"""User queries."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Team, TeamMembership, User


def users_with_roles(session: Session) -> list[tuple[User, list[str]]]:
    users = session.scalars(select(User).order_by(User.login)).all()
    roles: dict[int, list[str]] = defaultdict(list)
    for user_id, team_name, role in session.execute(
        select(TeamMembership.user_id, Team.name, TeamMembership.role)
        .join(Team, Team.id == TeamMembership.team_id)
        .order_by(Team.name, TeamMembership.role)
    ):
        roles[user_id].append(f"{team_name}: {role}")
    return [(user, roles.get(user.id, [])) for user in users]
