"""Team, project and membership queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Opportunity, Project, Team, TeamInvitation, TeamMembership, TeamRole, User


def list_teams(session: Session) -> Sequence[Team]:
    """Approved teams: the public ones."""
    return session.scalars(
        select(Team).where(Team.approved_at.is_not(None)).order_by(Team.name)
    ).all()


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


def roles_of(session: Session, user_id: int, team_id: int) -> set[TeamRole]:
    return set(
        session.scalars(
            select(TeamMembership.role).where(
                TeamMembership.user_id == user_id, TeamMembership.team_id == team_id
            )
        ).all()
    )


def teams_with_roles(session: Session, user_id: int) -> list[tuple[Team, list[TeamRole]]]:
    rows = session.execute(
        select(Team, TeamMembership.role)
        .join(TeamMembership, TeamMembership.team_id == Team.id)
        .where(TeamMembership.user_id == user_id)
        .order_by(Team.name, TeamMembership.role)
    ).all()
    grouped: dict[int, tuple[Team, list[TeamRole]]] = {}
    for team, role in rows:
        grouped.setdefault(team.id, (team, []))[1].append(role)
    return list(grouped.values())


def members_of(session: Session, team_id: int) -> list[tuple[User, list[TeamRole]]]:
    rows = session.execute(
        select(User, TeamMembership.role)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .where(TeamMembership.team_id == team_id)
        .order_by(User.login, TeamMembership.role)
    ).all()
    grouped: dict[int, tuple[User, list[TeamRole]]] = {}
    for user, role in rows:
        grouped.setdefault(user.id, (user, []))[1].append(role)
    return list(grouped.values())


def open_invitations(session: Session, team_id: int) -> Sequence[TeamInvitation]:
    return session.scalars(
        select(TeamInvitation)
        .where(
            TeamInvitation.team_id == team_id,
            TeamInvitation.accepted_at.is_(None),
            TeamInvitation.revoked_at.is_(None),
        )
        .order_by(TeamInvitation.id.desc())
    ).all()


def pending_teams(session: Session) -> Sequence[Team]:
    return session.scalars(
        select(Team).where(Team.approved_at.is_(None)).order_by(Team.created_at)
    ).all()


def members_with_roles(session: Session, team_id: int, roles: Sequence[TeamRole]) -> Sequence[User]:
    return session.scalars(
        select(User)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .where(TeamMembership.team_id == team_id, TeamMembership.role.in_(roles))
        .distinct()
        .order_by(User.id)
    ).all()
