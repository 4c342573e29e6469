"""GitHub sign-in (OAuth 2.0 authorization code with PKCE S256), through Authlib.

The OAuth base URL and the API URL are settings, so GitHub Enterprise Server or a local fake
work the same way as github.com.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from app.accounts.service import GitHubIdentity
from app.config import Settings
from app.github.client import GitHubClient, GitHubError

SCOPES = "read:user user:email"


class SignInFailed(Exception):
    """GitHub did not confirm who this is; the reason is for the logs, not the person."""


def _client(settings: Settings) -> OAuth2Client:
    return OAuth2Client(
        client_id=settings.github_client_id,
        client_secret=settings.github_client_secret.get_secret_value(),
        # GitHub reads the client credentials from the form body.
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name, not a secret
        scope=SCOPES,
        redirect_uri=f"{settings.base_url}/auth/github/callback",
        code_challenge_method="S256",
        timeout=10,
    )


def authorization_url(settings: Settings, state: str, code_verifier: str) -> str:
    with _client(settings) as client:
        url, _state = client.create_authorization_url(
            f"{settings.github_oauth_url.rstrip('/')}/login/oauth/authorize",
            state=state,
            code_verifier=code_verifier,
        )
    return str(url)


def identity_from_code(
    settings: Settings, github: GitHubClient, code: str, code_verifier: str
) -> GitHubIdentity:
    try:
        with _client(settings) as client:
            token: dict[str, Any] = client.fetch_token(
                f"{settings.github_oauth_url.rstrip('/')}/login/oauth/access_token",
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            )
    except (OAuthError, OSError, ValueError) as exc:
        raise SignInFailed(type(exc).__name__) from exc
    access_token = token.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise SignInFailed("no access token")
    try:
        profile = github.get_as("/user", access_token)
        emails = github.get_list_as("/user/emails", access_token)
    except GitHubError as exc:
        raise SignInFailed(str(exc)) from exc
    primary = next((e for e in emails if e.get("primary") and e.get("verified")), None)
    return GitHubIdentity(
        github_id=int(profile["id"]),
        login=str(profile["login"]),
        name=str(profile.get("name") or ""),
        avatar_url=str(profile.get("avatar_url") or ""),
        email=str(primary["email"]) if primary else None,
        email_verified=primary is not None,
    )
