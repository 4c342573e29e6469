"""The platform's GitHub App in tests: settings that use the fake GitHub's app, and real
installation events (octokit's fixtures) rewritten for a scenario and signed with the app's
webhook secret."""

from __future__ import annotations

import json
from typing import Any

from app.config import Settings
from tests.support.fake_github import FakeGitHub
from tests.support.pay_on_pull import FIXTURES

APP_WEBHOOK_SECRET = "app-webhook-secret-known-to-the-platform-alone"


def app_settings(settings: Settings, fake_github: FakeGitHub) -> Settings:
    return settings.model_copy(
        update={
            "github_app_id": fake_github.app_id,
            "github_app_private_key": fake_github.app_private_key_pem,
            "github_app_webhook_secret": APP_WEBHOOK_SECRET,
            "github_app_slug": fake_github.app_slug,
        }
    )


def _repositories(names: dict[int, str]) -> list[dict[str, Any]]:
    return [
        {"id": repository_id, "full_name": name, "name": name.split("/")[1], "private": False}
        for repository_id, name in names.items()
    ]


def installation_event(
    action: str,
    installation_id: int,
    *,
    sender_id: int,
    repositories: dict[int, str] | None = None,
    added: dict[int, str] | None = None,
    removed: dict[int, str] | None = None,
) -> tuple[str, bytes]:
    """(event name, body) of an installation event as GitHub would send it."""
    event = "installation_repositories" if action in ("added", "removed") else "installation"
    payload: dict[str, Any] = json.loads((FIXTURES / f"{event}.{action}.json").read_text())
    payload["installation"]["id"] = installation_id
    payload["sender"].update({"id": sender_id, "login": f"user{sender_id}"})
    if "repositories" in payload:
        payload["repositories"] = _repositories(repositories or {})
    if event == "installation_repositories":
        payload["repositories_added"] = _repositories(added or {})
        payload["repositories_removed"] = _repositories(removed or {})
    return event, json.dumps(payload).encode()
