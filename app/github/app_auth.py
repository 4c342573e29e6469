"""The platform's GitHub App: its JWT, its installations' access tokens, and the App-level
calls made with them. Everything that speaks as the App (rather than as a repository's
installation inside GitHubClient) is here."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from app.config import Settings
from app.github.client import GitHubClient, GitHubError, GitHubUnauthorized, github_time
from app.models.base import utcnow

# GitHub refuses a JWT issued in the future or living more than ten minutes: issued a minute
# in the past (clocks drift), it expires nine minutes from now.
JWT_BACKDATE = timedelta(seconds=60)
JWT_LIFETIME = timedelta(minutes=9)
# An installation token lives an hour; it is renewed this long before it expires, so a call
# never starts with a token about to die.
RENEW_BEFORE = timedelta(minutes=5)


def app_jwt(app_id: str, private_key_pem: str, now: datetime) -> str:
    """The App's JSON Web Token (RS256), which GitHub asks for the App-level endpoints."""
    try:
        key = RSAKey.import_key(private_key_pem)
    except (JoseError, ValueError, TypeError) as exc:
        # Never the key itself in the message: only that it is not a usable one.
        raise GitHubError("the GitHub App's private key cannot be read") from exc
    claims = {
        "iat": int((now - JWT_BACKDATE).timestamp()),
        "exp": int((now + JWT_LIFETIME).timestamp()),
        "iss": app_id,
    }
    return jwt.encode({"alg": "RS256"}, claims, key)


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: datetime


class InstallationTokens:
    """Installation access tokens, fetched with the App's JWT and kept until five minutes
    before they expire. One fetch at a time per installation: the threads that ask meanwhile
    wait for it and share its token. Thread-safe."""

    def __init__(
        self,
        api_url: str,
        app_id: str,
        private_key_pem: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        timeout: float = 10.0,
    ) -> None:
        self._app_id = app_id
        self._private_key_pem = private_key_pem
        self._clock = clock
        # The App's calls are never conditional: tokens must be fresh, lists current.
        self._github = GitHubClient(api_url, etags=None, timeout=timeout)
        self._tokens: dict[int, _Token] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> InstallationTokens:
        return cls(
            settings.github_api_url,
            settings.github_app_id,
            settings.github_app_private_key.get_secret_value(),
        )

    def close(self) -> None:
        self._github.close()

    def _jwt(self) -> str:
        return app_jwt(self._app_id, self._private_key_pem, self._clock())

    def _lock_for(self, installation_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(installation_id, threading.Lock())

    def token(self, installation_id: int) -> str:
        with self._lock_for(installation_id):
            kept = self._tokens.get(installation_id)
            if kept is not None and self._clock() < kept.expires_at - RENEW_BEFORE:
                return kept.value
            fresh = self._fetch(installation_id)
            self._tokens[installation_id] = fresh
            return fresh.value

    def forget(self, installation_id: int) -> None:
        """Drops the kept token (GitHub refused it: revoked, or the installation suspended),
        so the next call fetches a new one."""
        with self._lock_for(installation_id):
            self._tokens.pop(installation_id, None)

    def forget_token(self, value: str) -> None:
        """Drops a kept token GitHub refused, whichever installation it was for."""
        with self._guard:
            refused = [i for i, kept in self._tokens.items() if kept.value == value]
        for installation_id in refused:
            self.forget(installation_id)

    def _fetch(self, installation_id: int) -> _Token:
        path = f"/app/installations/{installation_id}/access_tokens"
        answer = self._github.post_as(path, self._jwt(), {})
        value, expires_at = answer.get("token"), answer.get("expires_at")
        if not isinstance(value, str) or not value or not isinstance(expires_at, str):
            raise GitHubError("unexpected installation token answer")
        return _Token(value, github_time(expires_at))

    def get_installation(self, installation_id: int) -> dict[str, Any]:
        """The installation as GitHub describes it: account, repository_selection,
        suspended_at…"""
        return self._github.get_as(f"/app/installations/{installation_id}", self._jwt())

    def installation_repositories(self, installation_id: int) -> list[dict[str, Any]]:
        """Every repository the installation may access, every page of them."""
        path = "/installation/repositories?per_page=100"
        try:
            return self._github.items_as(path, self.token(installation_id), "repositories")
        except GitHubUnauthorized:  # revoked early: once more with a new token
            self.forget(installation_id)
            return self._github.items_as(path, self.token(installation_id), "repositories")
