"""A team's GitHub page: installing the platform's GitHub App on its repositories, and what
the app can reach today."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadData, URLSafeTimedSerializer

from app.access import SIGNED_IN, allow, team
from app.config import Settings
from app.deps import AppSettings, CurrentUser, DbSession
from app.errors import NotFound, ValidationFailed
from app.github import installations, repository
from app.github.client import GitHubError
from app.i18n import gettext as _
from app.models import GitHubInstallation, Team, TeamRole
from app.teams import repository as teams_repository
from app.teams import service as teams
from app.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)
log = structlog.get_logger("devex.github")

# Those who link issues connect the repositories they are in.
CONNECTORS = (TeamRole.OWNER, TeamRole.EDITOR)
# The round trip through GitHub's install page: long enough to choose repositories.
STATE_MAX_AGE_SECONDS = 60 * 60


def _state_signer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt="github-app-install")


@router.get(
    "/teams/{slug}/github",
    response_class=HTMLResponse,
    name="team_github",
    dependencies=[allow(team(via="slug"))],
)
def team_github(
    slug: str, request: Request, db: DbSession, user: CurrentUser, settings: AppSettings
) -> Response:
    found = teams.get_team(db, slug, user)
    rows = [_installation_view(db, i) for i in repository.installations_of_team(db, found.id)]
    return render(
        request,
        "github/team.html",
        {
            "team": found,
            "app_configured": settings.github_app_configured,
            "can_connect": bool(teams_repository.roles_of(db, user.id, found.id) & set(CONNECTORS)),
            "installations": rows,
            "webhook_url": f"{settings.base_url}/webhooks/github",
            "notice": _notice(request.query_params.get("notice")),
        },
    )


def _installation_view(db: DbSession, installation: GitHubInstallation) -> dict[str, Any]:
    repositories = repository.repositories_of(db, installation.id)
    waiting = repository.unpaid_work_in(db, [r.repository_id for r in repositories])
    return {"installation": installation, "repositories": repositories, "work": waiting}


def _notice(key: str | None) -> str | None:
    notices = {
        "installed": _("GitHub sent you back: the installation is connected to this team."),
        "confirming": _(
            "GitHub sent you back. The installation is connected as soon as GitHub confirms who "
            "installed it, usually within a minute: reload this page."
        ),
    }
    return notices.get(key or "")


@router.get("/teams/{slug}/github/install", dependencies=[allow(team(*CONNECTORS, via="slug"))])
def install(slug: str, db: DbSession, user: CurrentUser, settings: AppSettings) -> Response:
    """To GitHub's page where the app is installed and its repositories chosen; GitHub sends
    the person back to /github/app/setup with the installation id and this state."""
    found = teams.get_team(db, slug, user)
    if not settings.github_app_configured:
        raise NotFound()
    state = _state_signer(settings).dumps({"team": found.id, "user": user.github_id})
    page = f"{settings.github_oauth_url.rstrip('/')}/apps/{settings.github_app_slug}"
    return RedirectResponse(
        f"{page}/installations/new?{urlencode({'state': state})}", status_code=303
    )


@router.get("/github/app/setup", dependencies=[allow(SIGNED_IN)])
def setup(request: Request, db: DbSession, user: CurrentUser, settings: AppSettings) -> Response:
    """Back from GitHub's install page. The state says which team the person was connecting;
    the installation serves that team once GitHub's signed event confirms this person
    installed it (installations.claim)."""
    team_id = _team_of_state(settings, request.query_params.get("state", ""), user.github_id)
    installation_id = _installation_id(request.query_params.get("installation_id", ""))
    found = db.get(Team, team_id)
    if found is None:
        raise NotFound()
    teams.require_role(db, user, found.id, CONNECTORS)
    installations.claim(db, installation_id, team_id=found.id, github_id=user.github_id)
    api = installations.app_api(settings)
    if api is not None:
        try:
            installations.sync(db, api, installation_id)
        except GitHubError as exc:  # the installation event and the periodic check read it later
            log.warning("installation not read", installation=installation_id, error=str(exc))
    db.commit()
    installation = installations.installation_of(db, installation_id)
    notice = "installed" if installation.team_id == found.id else "confirming"
    return RedirectResponse(f"/teams/{found.slug}/github?notice={notice}", status_code=303)


def _team_of_state(settings: Settings, state: str, github_id: int) -> int:
    invalid = ValidationFailed(
        _("This link from GitHub has expired or is not yours. Start again from your team's page.")
    )
    try:
        data = _state_signer(settings).loads(state, max_age=STATE_MAX_AGE_SECONDS)
    except BadData as exc:
        raise invalid from exc
    if not isinstance(data, dict) or data.get("user") != github_id:
        raise invalid
    team_id = data.get("team")
    if not isinstance(team_id, int):
        raise invalid
    return team_id


def _installation_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationFailed(_("GitHub did not say which installation was made."))
    return int(raw)
