"""Done means 4: an amount over the cap is refused by the form, the API and the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import make_engine
from app.models import Opportunity
from app.models.base import utcnow
from tests.support.factories import make_opportunity, make_team, make_user
from tests.support.web import post_form, sign_in


def _count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Opportunity)) or 0)


def _form(amount: str) -> dict[str, str]:
    deadline = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    return {
        "title": "Fix the thing",
        "amount": amount,
        "proposal_deadline": deadline,
        "remote": "on",
    }


@pytest.mark.parametrize("amount", ["10000.00", "9999.01", "1000000"])
def test_form_refuses_an_amount_over_the_cap(client: TestClient, db: Session, amount: str) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, editor)
    response = post_form(client, f"/teams/{team.slug}/opportunities/new", _form(amount))
    assert response.status_code == 422
    assert "cannot be more than" in response.text
    assert 'href="#field-amount"' in response.text  # the error summary links to the field
    assert 'value="Fix the thing"' in response.text  # nothing typed is lost
    assert _count(db) == 0


def test_form_accepts_exactly_the_cap(client: TestClient, db: Session) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, editor)
    response = post_form(client, f"/teams/{team.slug}/opportunities/new", _form("9,999.00"))
    assert response.status_code == 303
    assert db.scalars(select(Opportunity.amount_cents)).one() == 999_900


def test_api_refuses_an_amount_over_the_cap(client: TestClient, db: Session) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, editor)
    body = {
        "title": "Fix it",
        "amount_cents": 999_901,
        "proposal_deadline": (utcnow() + timedelta(days=3)).isoformat(),
    }
    response = client.post(
        f"/api/v1/teams/{team.slug}/opportunities",
        json=body,
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "amount" in response.json()["errors"]
    assert _count(db) == 0


def test_the_database_itself_refuses_an_amount_over_the_cap(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        with Session(engine) as session:
            team = make_team(session)
            session.commit()
            with pytest.raises(IntegrityError):
                make_opportunity(session, team, amount_cents=Settings().max_contract_cents + 1)
            session.rollback()
            make_opportunity(session, team, amount_cents=Settings().max_contract_cents)
            session.rollback()
    finally:
        engine.dispose()
