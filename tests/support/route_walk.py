"""Walking every GET route of the app as one person, for the tests that check what a route
may show (sealed bids, blind evaluation): each path filled with a scenario's ids, each answer
read as a person would see it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from fastapi.testclient import TestClient

from app.access import declared_routes
from tests.support.web import app_of

# The spaces French typography puts in numbers and before punctuation, as HTML writes them.
SPACES = re.compile(r"&nbsp;|&#160;|&#xa0;|&#8239;|&#x202f;|[\u00a0\u202f\u2009]", re.IGNORECASE)


def get_urls(
    client: TestClient,
    values: Mapping[str, Sequence[int | str]],
    token_for: Mapping[str, str],
) -> list[str]:
    """Every GET route, its path filled with the scenario's `values` (a route with a
    proposal in its path is walked once per proposal); a `{token}` takes the token of the
    first `token_for` key its path contains ("" for any other)."""
    urls = []
    for route in declared_routes(app_of(client)):
        if route.method != "GET" or route.path == "/demo-sign-in":
            # The local-only demo page lists every account to act as (it never runs in
            # production, and it says nothing about bids).
            continue
        names = re.findall(r"\{(\w+)\}", route.path)
        if "token" in names:
            token = next(t for part, t in token_for.items() if part in route.path)
            urls.append(route.path.replace("{token}", token))
            continue
        filled = [route.path]
        for name in names:  # a KeyError here: a new GET route needs a value in this walk
            filled = [url.replace(f"{{{name}}}", str(v)) for url in filled for v in values[name]]
        urls.extend(filled)
    return urls


def seen(client: TestClient, url: str, language: str) -> str:
    """What the page says (and where it sends), with typographic spaces made plain."""
    response = client.get(url, headers={"accept-language": language}, follow_redirects=False)
    assert response.status_code != 500, url  # a crashed page would hide what it shows
    return SPACES.sub(" ", response.text + " " + response.headers.get("location", ""))


def audit_lines_about(html: str, opportunity_id: int, proposal_ids: Sequence[int]) -> list[str]:
    """The audit trail's lines about the opportunity and its proposals. The trail names people
    in other lines, as it must (a sign-in is no bid); these must not tie a bidder to a bid."""
    ids = "|".join(str(i) for i in proposal_ids)
    about = re.compile(
        rf"/opportunities/{opportunity_id}\b|\b(proposal|proposition) ({ids})\b", re.I
    )
    return [row for row in re.findall(r"<tr\b.*?</tr>", html, re.S) if about.search(row)]
