"""Linking an opportunity to a GitHub issue, verified against the API (never trusted as typed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.config import Settings
from app.github import repository
from app.github.client import GitHubClient, GitHubError, GitHubNotFound, GitHubRateLimited
from app.i18n import gettext as _
from app.models import Opportunity

_ISSUE_URL = re.compile(
    r"^https?://[^/\s]+/(?P<owner>[A-Za-z0-9-]{1,39})/(?P<repo>[A-Za-z0-9._-]{1,100})"
    r"/issues/(?P<number>[1-9][0-9]{0,9})/?$"
)


class IssueLinkError(ValueError):
    """Why an issue link could not be verified, in words for the person who typed it."""


@dataclass(frozen=True)
class IssueRef:
    full_name: str
    number: int


@dataclass(frozen=True)
class VerifiedIssue:
    repository_id: int
    full_name: str
    number: int
    default_branch: str


def parse_issue_url(url: str) -> IssueRef:
    match = _ISSUE_URL.match(url.strip())
    if match is None:
        raise IssueLinkError(
            _("Enter the address of a GitHub issue, like https://github.com/owner/repo/issues/12.")
        )
    return IssueRef(f"{match['owner']}/{match['repo']}", int(match["number"]))


def verify_issue(client: GitHubClient, ref: IssueRef) -> VerifiedIssue:
    try:
        issue = client.get_issue(ref.full_name, ref.number)
        if "pull_request" in issue:
            raise IssueLinkError(_("This address is a pull request; link the issue it resolves."))
        repository = client.get_repository(ref.full_name)
    except GitHubNotFound as exc:
        raise IssueLinkError(
            _("We could not find this issue on GitHub. Is the repository public?")
        ) from exc
    except GitHubRateLimited as exc:
        # Answered at once: the client does not call GitHub again before that time.
        raise IssueLinkError(
            _(
                "GitHub asks us to wait until %(time)s UTC before we verify the issue."
                " Save again after that time.",
                time=f"{exc.retry_at:%H:%M}",
            )
        ) from exc
    except GitHubError as exc:
        raise IssueLinkError(
            _("GitHub could not be reached to verify the issue. Save again later to retry.")
        ) from exc
    return VerifiedIssue(
        repository_id=int(repository["id"]),
        full_name=str(repository["full_name"]),
        number=ref.number,
        default_branch=str(repository.get("default_branch", "main")),
    )


def require_installed_for_team(
    session: Session, settings: Settings, verified: VerifiedIssue, team_id: int
) -> None:
    """With the platform's GitHub App, an issue may be linked only in a repository the team
    installed the app on: the app is how we read the work and are told of its merge."""
    if not settings.github_app_configured:
        return
    found = repository.connected_repository(session, verified.repository_id)
    if found is not None:
        row, installation = found
        if row.removed_at is None and installation.active and installation.team_id == team_id:
            return
    raise IssueLinkError(
        _(
            "The Dev Exchange GitHub App is not installed on %(repository)s for your team. "
            "Install it from your team's GitHub page, choose this repository, then save again."
        )
        % {"repository": verified.full_name}
    )


@dataclass(frozen=True)
class Connection:
    """Whether the opportunity's repository reaches us, and how to connect it: through the
    platform's GitHub App (``app_status``) or, without one, the repository's own webhook."""

    last_event_at: datetime | None
    webhook_url: str
    reconcile_minutes: int
    # With the GitHub App: connected, left (the repository was taken out of the installation),
    # suspended, uninstalled, or not_installed; with ``since`` the time it changed.
    app_status: str | None = None
    since: datetime | None = None


def connection_status(
    session: Session, opportunity: Opportunity, settings: Settings
) -> Connection | None:
    """The last delivery the inbox job read from the repository (a ping counts): GitHub only
    sends them once the repository's webhook points at us with the right secret."""
    if opportunity.github_repository_id is None:
        return _not_installed(session, opportunity, settings)
    status, since = (
        app_status(session, opportunity.github_repository_id)
        if settings.github_app_configured
        else (None, None)
    )
    last_event_at = repository.last_delivery_at(session, opportunity.github_repository_id)
    return _connection(settings, last_event_at, status, since)


def _connection(
    settings: Settings, last_event_at: datetime | None, status: str | None, since: datetime | None
) -> Connection:
    return Connection(
        last_event_at=last_event_at,
        webhook_url=f"{settings.base_url}/webhooks/github",
        reconcile_minutes=round(settings.reconcile_interval_minutes),
        app_status=status,
        since=since,
    )


def _not_installed(
    session: Session, opportunity: Opportunity, settings: Settings
) -> Connection | None:
    """An issue link that could not be verified because the app is not installed on its
    repository for the team: said where the team looks, with the way to fix it."""
    full_name = opportunity.github_repository_full_name
    if not settings.github_app_configured or not full_name:
        return None
    team_id = repository.team_of_installed(session, full_name)
    if team_id == opportunity.team_id:
        return None  # installed: the link failed for another reason (GitHub unreachable…)
    return _connection(settings, None, "not_installed", None)


def app_status(session: Session, repository_id: int) -> tuple[str, datetime | None]:
    """Whether the platform's GitHub App can act on the repository, and since when not."""
    found = repository.connected_repository(session, repository_id)
    if found is None:
        return "not_installed", None
    row, installation = found
    if installation.deleted_at is not None:
        return "uninstalled", installation.deleted_at
    if installation.suspended_at is not None:
        return "suspended", installation.suspended_at
    if row.removed_at is not None:
        return "left", row.removed_at
    return "connected", None
