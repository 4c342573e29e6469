"""GitHub webhooks: the signature, the inbox, and reading what a delivery says.

Pay-on-pull rule 1: HMAC-SHA256 of the raw body, compared in constant time; a bad or missing
signature is refused and nothing is stored; a delivery is stored once, whatever the retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import parse_qs

from app.config import Settings


def webhook_secret(settings: Settings) -> str:
    """The one secret deliveries are signed with. With the platform's GitHub App, the app's
    own secret, known to the platform alone: the shared per-repository secret of the fallback
    (self-hosted GitHub that cannot install an app) then signs nothing, so a team that once
    held it cannot sign deliveries for other teams' repositories."""
    if settings.github_app_configured:
        return settings.github_app_webhook_secret.get_secret_value()
    return settings.github_webhook_secret.get_secret_value()


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def delivery_values(delivery_id: str, event: str, body: bytes) -> dict[str, Any]:
    return {"delivery_id": delivery_id, "event": event, "body": body.decode("utf-8")}


_CLOSING = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+"
    r"(?:(?:https?://[^/\s]+/)?(?P<repo>[\w.-]+/[\w.-]+)(?:/issues/|#)|#)(?P<number>\d+)",
    re.IGNORECASE,
)


def closed_issues(body: str | None, own_repository: str) -> set[tuple[str, int]]:
    """Issues a pull request closes by GitHub's keywords: 'Fixes #12', 'closes o/r#3',
    'resolves https://github.com/o/r/issues/4'. Repository names are compared lower-case."""
    found = set()
    for match in _CLOSING.finditer(body or ""):
        repository = (match["repo"] or own_repository).lower()
        found.add((repository, int(match["number"])))
    return found


# GitHub's "Revert" button writes "Reverts owner/repo#12" as the new pull request's body.
_REVERTS = re.compile(r"\bReverts\s+(?P<repo>[\w.-]+/[\w.-]+)?#(?P<number>\d+)", re.IGNORECASE)


def read_payload(body: str) -> dict[str, Any] | None:
    """The delivery's JSON object, whichever content type the repository's webhook was set up
    with: application/json, or GitHub's default, a form with the JSON in its `payload` field."""
    if body.startswith("payload="):
        body = parse_qs(body).get("payload", [""])[0]
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def reverted_pulls(body: str | None, own_repository: str) -> set[tuple[str, int]]:
    """Pull requests a pull request says it reverts, as GitHub's revert button words it."""
    return {
        ((match["repo"] or own_repository).lower(), int(match["number"]))
        for match in _REVERTS.finditer(body or "")
    }


def repository_id(payload: dict[str, Any]) -> int | None:
    repository = payload.get("repository")
    found = repository.get("id") if isinstance(repository, dict) else None
    return found if isinstance(found, int) else None


def merged_pull_request(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The pull request of a 'closed' event that says it was merged; verified later anyway."""
    pull = payload.get("pull_request")
    if payload.get("action") != "closed" or not isinstance(pull, dict) or not pull.get("merged"):
        return None
    return pull
