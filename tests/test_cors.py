"""The public read-only API: listed on the API reference, and open to other sites' scripts
(CORS) for public reads only, never with credentials, never for writes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

ORIGIN = "https://portal.example.org"
ALLOW_ORIGIN = "access-control-allow-origin"
READ_PATHS = (
    "/api/v1/opportunities",
    "/opendata/opportunities.csv",
    "/opportunities.atom",
    "/metrics/participation.csv",
)


def _preflight(client: TestClient, path: str, method: str) -> dict[str, str]:
    asked = {"origin": ORIGIN, "access-control-request-method": method}
    return dict(client.options(path, headers=asked).headers)


@pytest.mark.parametrize("path", READ_PATHS)
def test_public_reads_are_open_to_other_origins_without_credentials(
    client: TestClient, path: str
) -> None:
    response = client.get(path, headers={"origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers[ALLOW_ORIGIN] == "*"
    assert "access-control-allow-credentials" not in response.headers
    preflight = _preflight(client, path, "GET")
    assert preflight[ALLOW_ORIGIN] == "*"
    assert set(preflight["access-control-allow-methods"].split(", ")) == {"GET", "HEAD"}
    assert "access-control-allow-credentials" not in preflight


def test_a_token_cannot_be_sent_across_origins(client: TestClient) -> None:
    """No Authorization header: a cross-origin script reads only what it could read signed out."""
    preflight = client.options(
        "/api/v1/opportunities",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "GET",
            "access-control-request-headers": "authorization",
        },
    )
    assert preflight.status_code == 400
    assert "authorization" not in preflight.headers.get("access-control-allow-headers", "")


@pytest.mark.parametrize(
    "path", ["/api/v1/teams/forms/opportunities", "/api/v1/opportunities/1/publish"]
)
def test_writes_get_no_cors_header(client: TestClient, path: str) -> None:
    response = client.post(path, json={}, headers={"origin": ORIGIN})
    assert response.status_code in {401, 403}
    assert ALLOW_ORIGIN not in response.headers
    assert ALLOW_ORIGIN not in _preflight(client, path, "POST")
    assert ALLOW_ORIGIN not in _preflight(client, path, "DELETE")


def test_pages_get_no_cors_header(client: TestClient) -> None:
    for path in ("/opportunities", "/opendata", "/"):
        assert ALLOW_ORIGIN not in client.get(path, headers={"origin": ORIGIN}).headers


def test_the_api_reference_lists_what_anyone_may_read(client: TestClient) -> None:
    page = client.get("/api/v1/docs").text
    section = page.split('id="public-reads"', 1)[1].split('id="signing-in"', 1)[0]
    assert "<code>GET /api/v1/opportunities</code>" in section
    assert "<code>GET /opendata/opportunities.csv</code>" in section
    assert "<code>GET /metrics/participation.csv</code>" in section
    assert 'href="/opportunities.atom"' in section
    # Neither a write nor a read that needs a token.
    assert "POST " not in section
    assert "<code>GET /api/v1/me" not in section
