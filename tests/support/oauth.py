"""Driving the GitHub sign-in as a browser and GitHub would, step by step."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient
from httpx2 import Response

from tests.support.fake_github import FakeAccount, FakeGitHub


def start(client: TestClient, next_path: str = "/") -> dict[str, str]:
    """Clicks "Sign in with GitHub"; returns the authorize URL's query parameters."""
    response = client.get("/auth/github/start", params={"next": next_path}, follow_redirects=False)
    assert response.status_code == 303, response.text
    query = parse_qs(urlparse(response.headers["location"]).query)
    return {key: values[0] for key, values in query.items()}


def sign_in_with_github(
    client: TestClient, fake: FakeGitHub, account: FakeAccount, next_path: str = "/"
) -> Response:
    params = start(client, next_path)
    code = fake.authorize(account, params["code_challenge"], params["redirect_uri"])
    return client.get(
        "/auth/github/callback",
        params={"code": code, "state": params["state"]},
        follow_redirects=False,
    )
