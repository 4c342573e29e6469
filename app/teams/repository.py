"""Team, project and membership queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    GitHubInstallation,
    InstalledRepository,
    Opportunity,
    Project,
    SignoffPurpose,
    SpendingSignoff,
    Team,
    TeamInvitation,
    TeamMembership,
    TeamRole,
    User,
)


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


# --- Spending authority ----------------------------------------------------------------------


def lock_team(session: Session, team_id: int) -> Team | None:
    """The team row, locked until commit: sign-offs of one team are serialised, so two at once
    cannot both fit under the monthly limit that only one of them fits under."""
    return session.scalars(
        select(Team)
        .where(Team.id == team_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def approver_limit(session: Session, user_id: int, team_id: int) -> int | None:
    """The person's own sign-off limit in this team; None when they are not its approver."""
    return session.scalar(
        select(TeamMembership.spending_limit_cents).where(
            TeamMembership.team_id == team_id,
            TeamMembership.user_id == user_id,
            TeamMembership.role == TeamRole.APPROVER,
        )
    )


def approver_limits(session: Session, team_id: int) -> dict[int, int]:
    rows = session.execute(
        select(TeamMembership.user_id, TeamMembership.spending_limit_cents).where(
            TeamMembership.team_id == team_id, TeamMembership.role == TeamRole.APPROVER
        )
    ).all()
    return {user_id: limit or 0 for user_id, limit in rows}


def funding_signed_off(session: Session, team_id: int, start: datetime, end: datetime) -> int:
    """The sum of the team's funding sign-offs made in [start, end)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(SpendingSignoff.amount_cents), 0)).where(
                SpendingSignoff.team_id == team_id,
                SpendingSignoff.purpose == SignoffPurpose.FUND,
                SpendingSignoff.signed_at >= start,
                SpendingSignoff.signed_at < end,
            )
        )
        or 0
    )


def signoffs_of(session: Session, opportunity_id: int) -> list[tuple[SpendingSignoff, User | None]]:
    rows = session.execute(
        select(SpendingSignoff, User)
        .outerjoin(User, User.id == SpendingSignoff.signed_by_user_id)
        .where(SpendingSignoff.opportunity_id == opportunity_id)
        .order_by(SpendingSignoff.id)
    ).all()
    return [(signoff, user) for signoff, user in rows]


def member_by_github_id(session: Session, team_id: int, github_id: int) -> User | None:
    return session.scalars(
        select(User)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .where(TeamMembership.team_id == team_id, User.github_id == github_id)
        .limit(1)
    ).first()


def unreachable_repositories(session: Session, team_id: int) -> list[str]:
    """The team's repositories the platform's GitHub App can no longer act on: taken out of
    the installation, or the installation suspended or uninstalled."""
    return list(
        session.scalars(
            select(InstalledRepository.full_name)
            .join(GitHubInstallation)
            .where(
                GitHubInstallation.team_id == team_id,
                InstalledRepository.removed_at.is_not(None)
                | GitHubInstallation.suspended_at.is_not(None)
                | GitHubInstallation.deleted_at.is_not(None),
            )
            .order_by(InstalledRepository.full_name)
        )
    )
