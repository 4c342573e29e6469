"""Acting as a browser would: read the CSRF token from the page, sign in, post forms."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from app.models import User


def app_of(client: TestClient) -> FastAPI:
    app = client.app
    assert isinstance(app, FastAPI)
    return app


CSRF_INPUT = re.compile(r'name="csrftoken" value="([^"]+)"')


def csrf_token(client: TestClient, page: str = "/") -> str:
    """The token a browser would read from the page's form."""
    html = client.get(page).text
    match = CSRF_INPUT.search(html)
    if match:
        return match.group(1)
    token = client.cookies.get("csrftoken")
    assert token, "no CSRF token offered"
    return str(token)


def sign_in(client: TestClient, user: User) -> None:
    token = csrf_token(client, "/demo-sign-in")
    response = client.post(
        "/demo-sign-in", data={"user_id": str(user.id), "csrftoken": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def post_form(client: TestClient, url: str, data: dict[str, str], page: str = "/") -> Response:
    response: Response = client.post(
        url, data={**data, "csrftoken": csrf_token(client, page)}, follow_redirects=False
    )
    return response
