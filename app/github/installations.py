"""The platform's GitHub App: which installations and repositories we may act on, and for
which team.

An installation event is a hint, never the truth: whatever it says, the installation is read
again from GitHub (``sync``), so events that arrive out of order, twice, or never (the
periodic check reads every installation too) all end in the rows GitHub's answer gives.
Two facts come from events alone because only the signed event carries them: who installed
the app (``record_installer``), and nothing else.

A team connects an installation in two halves that may arrive in either order: the person
comes back from GitHub's install page with the installation id (``claim``), and GitHub's
signed ``installation.created`` event says who installed it. The installation serves the team
once both agree: a forged return address alone cannot connect someone else's installation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit import service as audit
from app.config import Settings
from app.github import repository
from app.github.app_auth import InstallationTokens
from app.github.client import GitHubClient, GitHubNotFound
from app.i18n import N_
from app.models import GitHubInstallation, InstalledRepository
from app.models.base import utcnow

CONNECTED = "github.installation_connected"

# Why work waits, kept in English in the audit trail; the pages translate them.
LEFT = N_("the repository left the GitHub App installation")
SUSPENDED = N_("the GitHub App installation is suspended")
UNINSTALLED = N_("the GitHub App was uninstalled")


class AppApi(Protocol):
    """What the app's own credentials (its JWT and installation tokens) may ask GitHub."""

    def get_installation(self, installation_id: int) -> dict[str, Any]: ...

    def installation_repositories(self, installation_id: int) -> list[dict[str, Any]]: ...

    def token(self, installation_id: int) -> str: ...

    def forget_token(self, value: str) -> None: ...


@dataclass(frozen=True)
class Lost:
    """Repositories whose unpaid work must wait, and why (a marked message, in English)."""

    repository_ids: frozenset[int]
    reason: str


def installation_of(session: Session, installation_id: int) -> GitHubInstallation:
    found = session.get(GitHubInstallation, installation_id, with_for_update=True)
    if found is None:
        found = GitHubInstallation(id=installation_id)
        session.add(found)
        session.flush()
    return found


def record_installer(session: Session, installation_id: int, github_id: int) -> None:
    """GitHub's signed ``installation.created`` event names the installer (its sender)."""
    installation = installation_of(session, installation_id)
    installation.installed_by_github_id = github_id
    _connect_if_confirmed(session, installation)


def claim(session: Session, installation_id: int, *, team_id: int, github_id: int) -> None:
    """A member of the team came back from GitHub's install page with this installation."""
    installation = installation_of(session, installation_id)
    if installation.team_id is None:
        installation.claimed_by_team_id = team_id
        installation.claimed_by_github_id = github_id
        _connect_if_confirmed(session, installation)


def _connect_if_confirmed(session: Session, installation: GitHubInstallation) -> None:
    confirmed = (
        installation.team_id is None
        and installation.claimed_by_team_id is not None
        and installation.installed_by_github_id is not None
        and installation.installed_by_github_id == installation.claimed_by_github_id
    )
    if not confirmed:
        return
    installation.team_id = installation.claimed_by_team_id
    audit.record(
        session,
        actor_user_id=None,
        action=CONNECTED,
        subject_type="team",
        subject_id=int(installation.claimed_by_team_id or 0),
        details={"installation": installation.id, "account": installation.account_login},
    )


def sync(session: Session, api: AppApi, installation_id: int) -> Lost | None:
    """Reads the installation and its repositories from GitHub into the rows. A GitHub outage
    raises (the caller retries later); what the app can no longer reach is returned."""
    installation = installation_of(session, installation_id)
    installation.synced_at = utcnow()
    try:
        found = api.get_installation(installation_id)
    except GitHubNotFound:
        # Uninstalled: GitHub never gives an installation id out twice.
        installation.deleted_at = installation.deleted_at or utcnow()
        return _lose_all(session, installation, UNINSTALLED)
    account = found.get("account") or {}
    installation.account_login = str(account.get("login") or "")[:100]
    installation.account_github_id = _int_or_none(account.get("id"))
    installation.deleted_at = None
    installation.suspended_at = _suspended_at(found)
    if installation.suspended_at is not None:
        return _lose_all(session, installation, SUSPENDED)
    present = {
        int(r["id"]): str(r["full_name"]) for r in api.installation_repositories(installation_id)
    }
    left = _store_repositories(session, installation, present)
    return (
        Lost(frozenset(left), "the repository left the GitHub App installation") if left else None
    )


def _store_repositories(
    session: Session, installation: GitHubInstallation, present: dict[int, str]
) -> set[int]:
    """Upserts the repositories GitHub listed; the others of this installation leave."""
    now = utcnow()
    for repository_id, full_name in present.items():
        row = session.get(InstalledRepository, repository_id)
        if row is None:
            session.add(
                InstalledRepository(
                    repository_id=repository_id,
                    installation_id=installation.id,
                    full_name=full_name,
                    name_key=full_name.lower(),
                    added_at=now,
                )
            )
            continue
        row.installation_id = installation.id
        row.full_name = full_name
        row.name_key = full_name.lower()
        row.removed_at = None
    left = set()
    for row in repository.repositories_of(session, installation.id):
        if row.repository_id not in present:
            row.removed_at = row.removed_at or now
            left.add(row.repository_id)
    return left


def _lose_all(session: Session, installation: GitHubInstallation, reason: str) -> Lost:
    """Suspended or uninstalled: the repositories stay listed (they may come back), but none
    may be acted on."""
    ids = frozenset(r.repository_id for r in repository.repositories_of(session, installation.id))
    return Lost(ids, reason)


def _suspended_at(found: dict[str, Any]) -> datetime | None:
    value = found.get("suspended_at")
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


def sync_all(session: Session, api: AppApi) -> list[Lost]:
    """The periodic check: every installation we know of that GitHub has not deleted."""
    lost = []
    for installation_id in session.scalars(
        select(GitHubInstallation.id).where(GitHubInstallation.deleted_at.is_(None))
    ).all():
        found = sync(session, api, installation_id)
        if found is not None:
            lost.append(found)
    return lost


# One token cache per app and process, shared by every client: its single flight is what
# keeps concurrent calls to one fetch of an installation's token.
_APPS: dict[tuple[str, str, str], InstallationTokens] = {}
_APPS_LOCK = threading.Lock()


def app_api(settings: Settings) -> InstallationTokens | None:
    """The platform's GitHub App, or None when repositories connect by the webhook fallback."""
    if not settings.github_app_configured:
        return None
    key = (
        settings.github_api_url,
        settings.github_app_id,
        settings.github_app_private_key.get_secret_value(),
    )
    with _APPS_LOCK:
        if key not in _APPS:
            _APPS[key] = InstallationTokens.from_settings(settings)
        return _APPS[key]


def client_for(settings: Settings, session_factory: sessionmaker[Session]) -> GitHubClient:
    """A client whose calls for an installed repository carry its installation's token."""
    api = app_api(settings)
    tokens = StoredInstallations(session_factory, api) if api is not None else None
    return GitHubClient.from_settings(settings, tokens=tokens)


class StoredInstallations:
    """The client's per-repository tokens: the installation that holds the repository, as
    stored, and its cached token."""

    def __init__(self, session_factory: sessionmaker[Session], api: AppApi) -> None:
        self._session_factory = session_factory
        self._api = api

    def for_repository(self, full_name: str) -> str | None:
        with self._session_factory() as session:
            installation_id = repository.installation_for(session, full_name)
        return None if installation_id is None else self._api.token(installation_id)

    def refused(self, token: str) -> None:
        self._api.forget_token(token)
