"""Team rules: who may act for a team, creating and approving teams, roles and invitations."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app import licences
from app.accounts.service import ClientInfo
from app.audit import service as audit
from app.config import Settings
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.i18n import gettext as _
from app.models import (
    SignoffPurpose,
    SpendingSignoff,
    Team,
    TeamInvitation,
    TeamMembership,
    TeamRole,
    User,
)
from app.models.base import utcnow
from app.teams import repository
from app.text import format_money
from app.tokens import hash_secret, new_secret

# Who may write and change a team's drafts; who runs the team (members, settings) and cancels
# on its behalf; who signs off publishing and funding (spending authority, up to a limit).
AUTHOR_ROLES = (TeamRole.OWNER, TeamRole.EDITOR)
OWNER_ROLES = (TeamRole.OWNER,)
SIGNOFF_ROLES = (TeamRole.APPROVER,)
ROLES = tuple(TeamRole)
_SLUG = re.compile(r"[^a-z0-9]+")


def require_role(session: Session, user: User, team_id: int, roles: Collection[TeamRole]) -> None:
    if not repository.roles_of(session, user.id, team_id) & set(roles):
        raise Forbidden(_("Only members of this team with the right role can do this."))


def get_team(session: Session, slug: str, viewer: User | None = None) -> Team:
    """A team page: public once approved; before that, only its members and admins see it."""
    team = repository.team_by_slug(session, slug)
    if team is None:
        raise NotFound()
    if team.approved_at is None and not _is_member_or_admin(session, team, viewer):
        raise NotFound()
    return team


def _is_member_or_admin(session: Session, team: Team, viewer: User | None) -> bool:
    if viewer is None:
        return False
    return viewer.is_admin or bool(repository.roles_of(session, viewer.id, team.id))


def teams_of(session: Session, user: User) -> list[tuple[Team, list[TeamRole]]]:
    return repository.teams_with_roles(session, user.id)


def _audit(
    session: Session, actor: User, action: str, team: Team, client: ClientInfo, **details: Any
) -> None:
    event = audit.record(
        session,
        actor_user_id=actor.id,
        action=action,
        subject_type="team",
        subject_id=team.id,
        details=details,
    )
    event.ip = client.ip
    event.user_agent = client.user_agent


def set_default_licence(
    session: Session, actor: User, team: Team, licence: str, client: ClientInfo
) -> None:
    """The licence the team's new drafts start with (owners); an SPDX expression."""
    require_role(session, actor, team.id, OWNER_ROLES)
    if not licence.strip():
        raise ValidationFailed(field_errors={"default_licence": _("Name a licence.")})
    if problem := licences.licence_problem(licence):
        raise ValidationFailed(field_errors={"default_licence": problem})
    team.default_licence = licences.normalised(licence)
    _audit(session, actor, "team.default_licence", team, client, licence=team.default_licence)


# --- Creating and approving teams ------------------------------------------------------------


def is_government_email(user: User, settings: Settings) -> bool:
    if not user.email or not user.email_verified:
        return False
    domain = user.email.rsplit("@", 1)[-1].lower()
    return any(domain == d or domain.endswith("." + d) for d in settings.government_email_domains)


def create_team(
    session: Session,
    user: User,
    *,
    name: str,
    organization: str,
    description: str,
    settings: Settings,
    client: ClientInfo,
) -> Team:
    errors = {}
    if not name.strip():
        errors["name"] = _("Enter the team's name.")
    if not organization.strip():
        errors["organization"] = _("Enter the department or organization.")
    slug = _SLUG.sub("-", name.lower()).strip("-")[:80]
    if name.strip() and (not slug or repository.team_by_slug(session, slug) is not None):
        errors["name"] = _("A team with this name already exists.")
    if errors:
        raise ValidationFailed(field_errors=errors)
    approved = is_government_email(user, settings)
    team = Team(
        slug=slug,
        name=name.strip()[:200],
        organization=organization.strip()[:200],
        description=description.strip(),
        created_by_user_id=user.id,
        approved_at=utcnow() if approved else None,
    )
    session.add(team)
    session.flush()
    session.add(TeamMembership(team_id=team.id, user_id=user.id, role=TeamRole.OWNER))
    _audit(session, user, "team.created", team, client, approved=approved)
    return team


def approve_team(session: Session, admin: User, slug: str, client: ClientInfo) -> Team:
    team = repository.team_by_slug(session, slug)
    if team is None:
        raise NotFound()
    if team.approved_at is not None:
        raise Conflict(_("This team is already approved."))
    team.approved_at = utcnow()
    _audit(session, admin, "team.approved", team, client)
    return team


# --- Roles -----------------------------------------------------------------------------------


def _owner_count(session: Session, team_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(TeamMembership)
            .where(TeamMembership.team_id == team_id, TeamMembership.role == TeamRole.OWNER)
        )
        or 0
    )


def set_roles(
    session: Session,
    actor: User,
    team: Team,
    member_id: int,
    roles: Collection[str],
    client: ClientInfo,
    *,
    spending_limit_cents: int | None = None,
) -> None:
    """Replaces a member's roles (none removes them from the team). A team keeps an owner. An
    approver holds a sign-off limit of their own: given here, or kept as it was."""
    require_role(session, actor, team.id, OWNER_ROLES)
    if not set(roles) <= set(ROLES):
        raise ValidationFailed(field_errors={"roles": _("Choose among the listed roles.")})
    wanted = {TeamRole(role) for role in roles}
    current = repository.roles_of(session, member_id, team.id)
    if not current:
        raise NotFound()
    limit_before = repository.approver_limit(session, member_id, team.id)
    limit_after = spending_limit_cents if spending_limit_cents is not None else limit_before
    if TeamRole.APPROVER in wanted:
        if limit_after is None:
            raise ValidationFailed(
                field_errors={
                    "spending_limit": _("Enter the most this approver may sign off at once.")
                }
            )
        if limit_after < 0:
            raise ValidationFailed(
                field_errors={"spending_limit": _("The limit cannot be below zero.")}
            )
    else:
        limit_after = None
    losing_owner = TeamRole.OWNER in current and TeamRole.OWNER not in wanted
    if losing_owner and _owner_count(session, team.id) <= 1:
        raise Conflict(_("A team needs at least one owner. Make someone else an owner first."))
    session.execute(
        delete(TeamMembership).where(
            TeamMembership.team_id == team.id,
            TeamMembership.user_id == member_id,
            TeamMembership.role.in_(current - wanted),
        )
    )
    session.add_all(
        TeamMembership(
            team_id=team.id,
            user_id=member_id,
            role=role,
            spending_limit_cents=limit_after if role is TeamRole.APPROVER else None,
        )
        for role in wanted - current
    )
    if TeamRole.APPROVER in current & wanted and limit_after != limit_before:
        approver = session.scalars(
            select(TeamMembership).where(
                TeamMembership.team_id == team.id,
                TeamMembership.user_id == member_id,
                TeamMembership.role == TeamRole.APPROVER,
            )
        ).one()
        approver.spending_limit_cents = limit_after
    _audit(
        session,
        actor,
        "team.roles_changed",
        team,
        client,
        member_user_id=member_id,
        before=sorted(current),
        after=sorted(wanted),
        spending_limit_before_cents=limit_before,
        spending_limit_after_cents=limit_after,
    )


def leave(session: Session, user: User, team: Team, client: ClientInfo) -> None:
    roles = repository.roles_of(session, user.id, team.id)
    if TeamRole.OWNER in roles and _owner_count(session, team.id) <= 1:
        raise Conflict(_("You are this team's last owner. Make someone else an owner first."))
    session.execute(
        delete(TeamMembership).where(
            TeamMembership.team_id == team.id, TeamMembership.user_id == user.id
        )
    )
    _audit(session, user, "team.left", team, client, roles=sorted(roles))


def teams_where_last_owner(session: Session, user: User) -> list[Team]:
    owned = [team for team, roles in teams_of(session, user) if TeamRole.OWNER in roles]
    return [team for team in owned if _owner_count(session, team.id) <= 1]


def require_not_last_owner_anywhere(session: Session, user: User) -> None:
    if teams_where_last_owner(session, user):
        raise Conflict(_("You are the last owner of a team. Make someone else an owner first."))


# --- Invitations -----------------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def invite(
    session: Session,
    actor: User,
    team: Team,
    *,
    email: str,
    role: str,
    settings: Settings,
    client: ClientInfo,
) -> tuple[TeamInvitation, str]:
    """A signed, expiring, single-use invitation; returns it with the raw token for the link."""
    require_role(session, actor, team.id, OWNER_ROLES)
    errors = {}
    if not _EMAIL.match(email.strip()):
        errors["email"] = _("Enter an email address, like name@example.gc.ca.")
    if role not in ROLES:
        errors["role"] = _("Choose a role.")
    if errors:
        raise ValidationFailed(field_errors=errors)
    raw = new_secret()
    invitation = TeamInvitation(
        team_id=team.id,
        email=email.strip().lower(),
        role=TeamRole(role),
        token_hash=hash_secret(raw),
        invited_by_user_id=actor.id,
        expires_at=utcnow() + timedelta(days=settings.invitation_days),
    )
    session.add(invitation)
    session.flush()
    _audit(
        session,
        actor,
        "team.invitation_sent",
        team,
        client,
        invitation_id=invitation.id,
        email=invitation.email,
        role=role,
    )
    return invitation, raw


def open_invitation(session: Session, raw: str) -> tuple[TeamInvitation, Team]:
    invitation = session.scalars(
        select(TeamInvitation).where(TeamInvitation.token_hash == hash_secret(raw))
    ).first()
    unusable = (
        invitation is None
        or invitation.accepted_at is not None
        or (invitation.revoked_at is not None or invitation.expires_at <= utcnow())
    )
    if unusable or invitation is None:
        raise NotFound(
            _("This invitation has expired or was already used. Ask the team for a new one.")
        )
    team = session.get(Team, invitation.team_id)
    if team is None:
        raise NotFound()
    return invitation, team


def accept_invitation(session: Session, user: User, raw: str, client: ClientInfo) -> Team:
    invitation, team = open_invitation(session, raw)
    invitation.accepted_at = utcnow()
    invitation.accepted_by_user_id = user.id
    if invitation.role not in repository.roles_of(session, user.id, team.id):
        # An approver joins with a limit of nothing: an owner then sets theirs.
        limit = 0 if invitation.role is TeamRole.APPROVER else None
        session.add(
            TeamMembership(
                team_id=team.id,
                user_id=user.id,
                role=invitation.role,
                spending_limit_cents=limit,
            )
        )
    _audit(
        session,
        user,
        "team.invitation_accepted",
        team,
        client,
        invitation_id=invitation.id,
        role=invitation.role,
    )
    return team


# --- Spending authority ----------------------------------------------------------------------


def set_monthly_spending_limit(
    session: Session, actor: User, team: Team, limit_cents: int | None, client: ClientInfo
) -> None:
    """The most the team's approvers may sign off for funding in one UTC calendar month (owners);
    None removes the limit."""
    require_role(session, actor, team.id, OWNER_ROLES)
    if limit_cents is not None and limit_cents < 0:
        raise ValidationFailed(
            field_errors={"monthly_spending_limit": _("The limit cannot be below zero.")}
        )
    if limit_cents == team.monthly_spending_limit_cents:
        return
    before = team.monthly_spending_limit_cents
    team.monthly_spending_limit_cents = limit_cents
    _audit(
        session,
        actor,
        "team.monthly_spending_limit",
        team,
        client,
        before_cents=before,
        after_cents=limit_cents,
    )


def month_of(now: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar month holding ``now``: its first instant, and the next month's."""
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def funding_this_month(session: Session, team_id: int, now: datetime) -> int:
    start, end = month_of(now)
    return repository.funding_signed_off(session, team_id, start, end)


def sign_off(
    session: Session,
    actor: User,
    *,
    team_id: int,
    opportunity_id: int,
    author_user_id: int | None,
    purpose: SignoffPurpose,
    amount_cents: int,
    currency: str,
    award_id: int | None = None,
) -> SpendingSignoff:
    """An approver signs off an amount for the team: never their own opportunity, never above
    their own limit, never past the team's monthly limit (the month's funding sign-offs plus
    this one). Recorded with who, when and how much, and audited."""
    team = repository.lock_team(session, team_id)
    if team is None:
        raise NotFound()
    limit = repository.approver_limit(session, actor.id, team_id)
    if limit is None:
        raise Forbidden(_("Only the team's approvers can sign off spending."))
    if author_user_id is not None and author_user_id == actor.id:
        raise Forbidden(
            _(
                "You wrote this opportunity, so you cannot sign it off yourself: another "
                "approver must."
            )
        )
    amount = format_money(amount_cents, currency)
    if amount_cents > limit:
        raise Conflict(
            _(
                "%(amount)s is above your sign-off limit of %(limit)s. An approver with a "
                "higher limit must sign it off.",
                amount=amount,
                limit=format_money(limit, currency),
            )
        )
    now = utcnow()
    spent = funding_this_month(session, team_id, now)
    monthly = team.monthly_spending_limit_cents
    if monthly is not None and spent + amount_cents > monthly:
        raise Conflict(
            _(
                "Signing off %(amount)s would bring this month's funding sign-offs to "
                "%(total)s, over the team's monthly limit of %(limit)s (%(spent)s already "
                "signed off this month, %(left)s left).",
                amount=amount,
                total=format_money(spent + amount_cents, currency),
                limit=format_money(monthly, currency),
                spent=format_money(spent, currency),
                left=format_money(max(monthly - spent, 0), currency),
            )
        )
    signoff = SpendingSignoff(
        team_id=team_id,
        opportunity_id=opportunity_id,
        award_id=award_id,
        purpose=purpose,
        amount_cents=amount_cents,
        currency=currency,
        signed_by_user_id=actor.id,
        signed_at=now,
    )
    session.add(signoff)
    session.flush()
    audit.record(
        session,
        actor_user_id=actor.id,
        action="spending.signed_off",
        subject_type="opportunity",
        subject_id=opportunity_id,
        details={
            "signoff_id": signoff.id,
            "purpose": purpose.value,
            "amount_cents": amount_cents,
            "currency": currency,
            "award_id": award_id,
            "approver_limit_cents": limit,
            "monthly_limit_cents": monthly,
            "month_funding_before_cents": spent,
        },
    )
    return signoff
