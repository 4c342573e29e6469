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


@dataclass(frozen=True)
class Connection:
    """Whether the opportunity's repository sends us its webhooks, and how to make it."""

    last_event_at: datetime | None
    webhook_url: str
    reconcile_minutes: int


def connection_status(
    session: Session, opportunity: Opportunity, settings: Settings
) -> Connection | None:
    """The last delivery the inbox job read from the repository (a ping counts): GitHub only
    sends them once the repository's webhook points at us with the right secret."""
    if opportunity.github_repository_id is None:
        return None
    return Connection(
        last_event_at=repository.last_delivery_at(session, opportunity.github_repository_id),
        webhook_url=f"{settings.base_url}/webhooks/github",
        reconcile_minutes=round(settings.reconcile_interval_minutes),
    )
