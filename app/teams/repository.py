"""Team, project and membership queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Opportunity, Project, Team, TeamMembership


def list_teams(session: Session) -> Sequence[Team]:
    return session.scalars(select(Team).order_by(Team.name)).all()


def public_opportunity_counts(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Opportunity.team_id, func.count())
        .where(Opportunity.published_at.is_not(None))
        .group_by(Opportunity.team_id)
    ).all()
    return dict(rows)


def team_by_slug(session: Session, slug: str) -> Team | None:
    return session.scalars(select(Team).where(Team.slug == slug)).first()


def projects_of(session: Session, team_id: int) -> Sequence[Project]:
    return session.scalars(
        select(Project).where(Project.team_id == team_id).order_by(Project.name)
    ).all()


def project_by_slug(session: Session, team_id: int, slug: str) -> Project | None:
    return session.scalars(
        select(Project).where(Project.team_id == team_id, Project.slug == slug)
    ).first()


def roles_of(session: Session, user_id: int, team_id: int) -> set[str]:
    return set(
        session.scalars(
            select(TeamMembership.role).where(
                TeamMembership.user_id == user_id, TeamMembership.team_id == team_id
            )
        ).all()
    )


def teams_where_user_has_role(
    session: Session, user_id: int, roles: Sequence[str]
) -> Sequence[Team]:
    return session.scalars(
        select(Team)
        .join(TeamMembership, TeamMembership.team_id == Team.id)
        .where(TeamMembership.user_id == user_id, TeamMembership.role.in_(roles))
        .distinct()
        .order_by(Team.name)
    ).all()
