"""Each opportunity names its licence from the SPDX list (issue 19): checked on the draft form and
in the API with a field error in the person's language, required to publish, and by default the
licence the team chose in its settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.licences import licence_problem, normalised
from app.models import Opportunity, Team
from app.models.base import utcnow
from tests.support.factories import make_opportunity, make_team, make_user
from tests.support.web import csrf_token, post_form, sign_in

UNKNOWN = "Not-A-Licence-1.0"


@pytest.mark.parametrize(
    ("expression", "accepted"),
    [
        ("MIT", True),
        ("Apache-2.0 OR MIT", True),
        ("GPL-2.0-or-later WITH Classpath-exception-2.0", True),
        ("", True),  # a draft may leave it for later
        (UNKNOWN, False),
        ("MIT AND", False),
        ("(MIT", False),
        ("MIT WITH Apache-2.0", False),
        ("MIT OR " * 20 + "MIT", False),  # longer than the column
    ],
)
def test_a_licence_is_an_spdx_expression(expression: str, accepted: bool) -> None:
    assert (licence_problem(expression) is None) is accepted


def test_a_licence_is_kept_as_spdx_spells_it() -> None:
    assert normalised(" apache-2.0 or mit ") == "Apache-2.0 OR MIT"


def _draft_form(**overrides: str) -> dict[str, str]:
    form = {
        "title": "Announce errors to screen readers",
        "amount": "4500",
        "proposal_deadline": (utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"),
        "remote": "on",
    }
    return {**form, **overrides}


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "is not a licence from the SPDX list"),
        ("fr", "pas une licence de la liste SPDX"),
    ],
)
def test_the_draft_form_refuses_an_unknown_licence_in_the_persons_language(
    client: TestClient, db: Session, lang: str, message: str
) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]}, preferred_locale=lang)
    db.commit()
    sign_in(client, editor)
    client.get(f"/?lang={lang}")

    response = post_form(
        client, f"/teams/{team.slug}/opportunities/new", _draft_form(license_spdx=UNKNOWN)
    )
    assert response.status_code == 422
    assert message in response.text
    assert 'id="error-license_spdx"' in response.text
    assert db.scalars(select(Opportunity)).all() == []


def test_the_api_refuses_an_unknown_licence_and_a_new_draft_takes_the_teams_default(
    client: TestClient, db: Session
) -> None:
    team = make_team(db, default_licence="Apache-2.0")
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, editor)
    headers = {"x-csrftoken": csrf_token(client)}
    url = f"/api/v1/teams/{team.slug}/opportunities"
    body = {
        "title": "Via API",
        "amount_cents": 120_000,
        "proposal_deadline": (utcnow() + timedelta(days=3)).isoformat(),
    }
    refused = client.post(url, json={**body, "license_spdx": UNKNOWN}, headers=headers)
    assert refused.status_code == 422
    assert "SPDX" in refused.json()["errors"]["license_spdx"]

    created = client.post(url, json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["license_spdx"] == "Apache-2.0"
    named = client.post(url, json={**body, "license_spdx": "mpl-2.0"}, headers=headers)
    assert named.json()["license_spdx"] == "MPL-2.0"

    # The form for a new draft starts from the same default.
    form = client.get(f"/teams/{team.slug}/opportunities/new").text
    assert 'name="license_spdx" type="text" value="Apache-2.0"' in form


def test_a_draft_without_a_licence_cannot_be_published(client: TestClient, db: Session) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner", "approver"]})
    draft = make_opportunity(db, team, license_spdx="")
    db.commit()
    sign_in(client, owner)

    refused = post_form(client, f"/opportunities/{draft.id}/publish", {})
    assert refused.status_code == 422
    assert "Name the repository&#39;s open-source licence." in refused.text
    db.refresh(draft)
    assert draft.state == "draft"

    draft.license_spdx = "MIT"
    db.commit()
    assert post_form(client, f"/opportunities/{draft.id}/publish", {}).status_code == 303
    page = client.get(f"/opportunities/{draft.id}").text
    assert "<dd>MIT</dd>" in page


def test_owners_set_the_teams_default_licence_on_its_settings_page_and_in_the_api(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]})
    db.commit()
    sign_in(client, owner)
    page = client.get(f"/teams/{team.slug}/settings")
    assert page.status_code == 200
    assert '<label for="field-default_licence">' in page.text
    assert 'value="MIT"' in page.text  # the default of every team
    assert f'href="/teams/{team.slug}/settings"' in client.get(f"/teams/{team.slug}").text

    refused = post_form(client, f"/teams/{team.slug}/settings", {"default_licence": UNKNOWN})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text
    assert f'value="{UNKNOWN}"' in refused.text  # shown again as typed

    saved = post_form(client, f"/teams/{team.slug}/settings", {"default_licence": "eupl-1.2"})
    assert saved.status_code == 303
    assert "Settings saved." in client.get(saved.headers["location"]).text
    assert db.scalars(select(Team.default_licence).where(Team.id == team.id)).one() == "EUPL-1.2"

    url = f"/api/v1/teams/{team.slug}/settings"
    headers = {"x-csrftoken": csrf_token(client)}
    no_limit = {"monthly_spending_limit_cents": None}
    assert client.get(url).json() == {"default_licence": "EUPL-1.2", **no_limit}
    assert client.put(url, json={"default_licence": UNKNOWN}, headers=headers).status_code == 422
    changed = client.put(url, json={"default_licence": "Apache-2.0 OR MIT"}, headers=headers)
    assert changed.json() == {"default_licence": "Apache-2.0 OR MIT", **no_limit}
