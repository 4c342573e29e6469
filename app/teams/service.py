"""Team rules: who may act for a team."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from app.errors import Forbidden, NotFound
from app.i18n import gettext as _
from app.models import Team, TeamRole, User
from app.teams import repository

# Who may write and change a team's drafts, and who may publish or cancel on its behalf.
AUTHOR_ROLES = (TeamRole.OWNER.value, TeamRole.EDITOR.value)
APPROVER_ROLES = (TeamRole.OWNER.value,)


def require_role(session: Session, user: User, team_id: int, roles: Collection[str]) -> None:
    if not repository.roles_of(session, user.id, team_id) & set(roles):
        raise Forbidden(_("Only members of this team with the right role can do this."))


def get_team(session: Session, slug: str) -> Team:
    team = repository.team_by_slug(session, slug)
    if team is None:
        raise NotFound()
    return team
