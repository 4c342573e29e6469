"""Team pages: the public team and project pages, creating a team, members and invitations."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.access import PUBLIC, SIGNED_IN, allow, team
from app.config import Settings
from app.deps import (
    AppSettings,
    Client,
    CurrentUser,
    DbSession,
    FormBody,
    OptionalUser,
    RowId,
    form_text,
    form_values,
)
from app.email import EmailNotSent, send_email
from app.errors import AppError, NotFound, ValidationFailed
from app.forms import form_action, on_field_errors
from app.i18n import gettext as _
from app.models import Team, TeamInvitation, TeamRole, User
from app.opportunities import repository as opportunities
from app.opportunities.schemas import ListFilters
from app.teams import repository, service
from app.teams.labels import role_label
from app.templating import render
from app.text import parse_money_to_cents

router = APIRouter(tags=["pages"], include_in_schema=False)
OWNER = TeamRole.OWNER


@router.get("/teams", response_class=HTMLResponse, name="team_list", dependencies=[allow(PUBLIC)])
def team_list(request: Request, db: DbSession) -> Response:
    return render(
        request,
        "teams/list.html",
        {
            "teams": repository.list_teams(db),
            "counts": repository.public_opportunity_counts(db),
        },
    )


@router.get("/teams/new", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def new_team_form(request: Request, settings: AppSettings, user: CurrentUser) -> Response:
    return _render_new_team(request, settings, user, {}, {})


def _render_new_team(
    request: Request,
    settings: Settings,
    user: User,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    return render(
        request,
        "teams/new.html",
        {
            "values": values,
            "errors": errors,
            "approved_at_once": service.is_government_email(user, settings),
        },
        status_code=422 if errors else 200,
    )


@router.post("/teams/new", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def create_team(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    user: CurrentUser,
    client: Client,
    form: FormBody,
) -> Response:
    return form_action(
        db,
        lambda: service.create_team(
            db,
            user,
            name=form_text(form, "name"),
            organization=form_text(form, "organization"),
            description=form_text(form, "description"),
            settings=settings,
            client=client,
        ),
        then=lambda created: f"/teams/{created.slug}?notice=created",
        again=on_field_errors(
            lambda errors: _render_new_team(request, settings, user, form_values(form), errors)
        ),
    )


@router.get(
    "/teams/{slug}", response_class=HTMLResponse, name="team_detail", dependencies=[allow(PUBLIC)]
)
def team_detail(slug: str, request: Request, db: DbSession, user: OptionalUser) -> Response:
    found = service.get_team(db, slug, user)
    roles = repository.roles_of(db, user.id, found.id) if user else set()
    drafts = opportunities.drafts_of_teams(db, [found.id]) if roles else []
    return render(
        request,
        "teams/detail.html",
        {
            "team": found,
            "projects": repository.projects_of(db, found.id),
            "roles": sorted(roles),
            "can_author": bool(roles & set(service.AUTHOR_ROLES)),
            "drafts": drafts,
            "is_owner": OWNER in roles,
            "unreachable_repositories": repository.unreachable_repositories(db, found.id)
            if roles
            else [],
            "page": opportunities.list_public(db, ListFilters(team=found.slug, limit=50)),
            "notice": _("Team created.")
            if request.query_params.get("notice") == "created"
            else None,
        },
    )


@router.get(
    "/teams/{slug}/projects/{project_slug}",
    response_class=HTMLResponse,
    name="project_detail",
    dependencies=[allow(PUBLIC)],
)
def project_detail(
    slug: str, project_slug: str, request: Request, db: DbSession, user: OptionalUser
) -> Response:
    found = service.get_team(db, slug, user)
    project = repository.project_by_slug(db, found.id, project_slug)
    if project is None:
        raise NotFound()
    page = opportunities.list_public(db, ListFilters(project_id=project.id, limit=50))
    return render(
        request,
        "teams/project.html",
        {
            "team": found,
            "project": project,
            "page": page,
        },
    )


# --- Settings (owners) -----------------------------------------------------------------------


def _render_settings(
    request: Request, found: Team, values: dict[str, str], error: AppError | None = None
) -> Response:
    return render(
        request,
        "teams/settings.html",
        {
            "team": found,
            "values": values,
            "errors": error.field_errors if error else {},
            "error": error,
            "notice": _("Settings saved.")
            if request.query_params.get("notice") == "saved"
            else None,
        },
        status_code=error.status_code if error else 200,
    )


@router.get(
    "/teams/{slug}/settings",
    response_class=HTMLResponse,
    dependencies=[allow(team(OWNER, via="slug"))],
)
def settings_page(slug: str, request: Request, db: DbSession, user: CurrentUser) -> Response:
    found = service.get_team(db, slug, user)
    monthly = found.monthly_spending_limit_cents
    return _render_settings(
        request,
        found,
        {
            "default_licence": found.default_licence,
            "monthly_spending_limit": "" if monthly is None else f"{monthly / 100:.2f}",
        },
    )


def _cents_or_none(raw: str, field: str) -> int | None:
    """A money field that may be left empty (no limit)."""
    if not raw.strip():
        return None
    cents = parse_money_to_cents(raw)
    if cents is None or cents > 2_000_000_000:
        raise ValidationFailed(
            field_errors={field: _("Enter an amount in dollars, for example 25000 or 25000.00.")}
        )
    return cents


def _save_settings(db: Session, user: User, found: Team, form: FormBody, client: Client) -> None:
    monthly = _cents_or_none(form_text(form, "monthly_spending_limit"), "monthly_spending_limit")
    service.set_default_licence(db, user, found, form_text(form, "default_licence"), client)
    service.set_monthly_spending_limit(db, user, found, monthly, client)


@router.post(
    "/teams/{slug}/settings",
    response_class=HTMLResponse,
    dependencies=[allow(team(OWNER, via="slug"))],
)
def save_settings(
    slug: str, request: Request, db: DbSession, user: CurrentUser, client: Client, form: FormBody
) -> Response:
    found = service.get_team(db, slug, user)
    return form_action(
        db,
        lambda: _save_settings(db, user, found, form, client),
        then=f"/teams/{found.slug}/settings?notice=saved",
        again=lambda refusal: _render_settings(request, found, form_values(form), refusal),
    )


# --- Members and invitations (owners) --------------------------------------------------------


def _render_members(
    request: Request,
    db: DbSession,
    found: Team,
    *,
    notice: str | None = None,
    error: AppError | None = None,
    invite_link: str | None = None,
    member_id: int | None = None,
) -> Response:
    return render(
        request,
        "teams/members.html",
        {
            "team": found,
            "members": repository.members_of(db, found.id),
            "limits": repository.approver_limits(db, found.id),
            "invitations": repository.open_invitations(db, found.id),
            "roles": service.ROLES,
            "notice": notice,
            "error": error,
            "invite_link": invite_link,
            # Whose form the error is about: its fields' ids carry the member's id.
            "error_member": member_id,
        },
        status_code=error.status_code if error else 200,
    )


@router.get(
    "/teams/{slug}/members",
    response_class=HTMLResponse,
    dependencies=[allow(team(OWNER, via="slug"))],
)
def members_page(slug: str, request: Request, db: DbSession, user: CurrentUser) -> Response:
    return _render_members(request, db, service.get_team(db, slug, user))


@router.post(
    "/teams/{slug}/invitations",
    response_class=HTMLResponse,
    dependencies=[allow(team(OWNER, via="slug"))],
)
def invite(
    slug: str,
    request: Request,
    db: DbSession,
    settings: AppSettings,
    user: CurrentUser,
    client: Client,
    form: FormBody,
) -> Response:
    found = service.get_team(db, slug, user)
    return form_action(
        db,
        lambda: service.invite(
            db,
            user,
            found,
            email=form_text(form, "email"),
            role=form_text(form, "role"),
            settings=settings,
            client=client,
        ),
        # The link is in this answer only: it never goes into an address.
        then=lambda made: _invited(request, db, settings, found, user, *made),
        again=lambda refusal: _render_members(request, db, found, error=refusal),
    )


def _invited(
    request: Request,
    db: Session,
    settings: Settings,
    found: Team,
    user: User,
    invitation: TeamInvitation,
    raw: str,
) -> Response:
    link = f"{settings.base_url}/invitations/{raw}"
    try:
        _send_invitation(settings, invitation, found, user, link)
    except EmailNotSent:
        # The invitation is saved; the owner gets the link to pass on themselves.
        notice = _("We could not send the email. Send this link yourself:")
        return _render_members(request, db, found, invite_link=link, notice=notice)
    notice = _("Invitation sent to %(email)s.", email=invitation.email)
    return _render_members(request, db, found, notice=notice)


def _send_invitation(
    settings: Settings, invitation: TeamInvitation, found: Team, inviter: User, link: str
) -> None:
    body = _(
        "%(name)s invites you to join %(team)s on Dev Exchange as %(role)s.\n\n"
        "Accept the invitation (valid %(days)s days, once): %(link)s\n",
        name=inviter.shown_name,
        team=found.name,
        role=role_label(invitation.role),
        days=settings.invitation_days,
        link=link,
    )
    send_email(
        settings, invitation.email, _("Join %(team)s on Dev Exchange", team=found.name), body
    )


@router.post(
    "/teams/{slug}/members/{user_id}",
    response_class=HTMLResponse,
    dependencies=[allow(team(OWNER, via="slug"))],
)
def change_roles(
    slug: str,
    user_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    client: Client,
    form: FormBody,
) -> Response:
    found = service.get_team(db, slug, user)
    roles = [r for r in form.getlist("roles") if isinstance(r, str)]
    return form_action(
        db,
        lambda: service.set_roles(
            db,
            user,
            found,
            user_id,
            roles,
            client,
            spending_limit_cents=_cents_or_none(
                form_text(form, "spending_limit"), "spending_limit"
            ),
        ),
        then=lambda _done: _render_members(request, db, found, notice=_("Roles updated.")),
        again=lambda refusal: _render_members(request, db, found, error=refusal, member_id=user_id),
    )


@router.post("/teams/{slug}/leave", dependencies=[allow(team(via="slug"))])
def leave_team(slug: str, db: DbSession, user: CurrentUser, client: Client) -> Response:
    found = service.get_team(db, slug, user)
    return form_action(db, lambda: service.leave(db, user, found, client), then="/account")


@router.get("/invitations/{token}", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
def invitation_page(token: str, request: Request, db: DbSession) -> Response:
    invitation, found = service.open_invitation(db, token)
    return render(
        request, "teams/invitation.html", {"invitation": invitation, "team": found, "token": token}
    )


@router.post("/invitations/{token}", dependencies=[allow(SIGNED_IN)])
def accept_invitation(token: str, db: DbSession, user: CurrentUser, client: Client) -> Response:
    return form_action(
        db,
        lambda: service.accept_invitation(db, user, token, client),
        then=lambda joined: f"/teams/{joined.slug}",
    )
