"""Open data as portals and spreadsheets take it (issue 19): each dataset's CSV and JSON read back
against the published data dictionary; no private value in any file, whatever the column; the
DCAT-US 1.1 `data.json` and code.gov 2.0 `code.json` valid against the standards' own schemas
(copied unchanged into tests/schemas); the open-data page in both languages."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4
from sqlalchemy.orm import Session

from app.config import Settings
from app.evaluations import repository as evaluations
from app.models import (
    Addendum,
    AuditEvent,
    Payout,
    PayoutAccount,
    PayoutTransfer,
    Question,
    Score,
)
from app.models.base import utcnow
from app.opendata.service import DATASETS, Column
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user
from tests.support.fake_github import FakeGitHub
from tests.support.pay_on_pull import BID, REPO, awarded_work, opportunity_of

SCHEMAS = Path(__file__).parent / "schemas"
# Values only private columns hold: none may appear in any byte of any file.
PLANTED = {
    "draft title": "PLANTED-DRAFT-TITLE",
    "draft problem": "PLANTED-DRAFT-PROBLEM",
    "proposal text": "PLANTED-APPROACH",
    "proposal experience": "PLANTED-EXPERIENCE",
    "losing bidder": "plantedloser",
    "email": "planted-person@secret.example",
    "unanswered question": "PLANTED-UNANSWERED",
    "score comment": "PLANTED-SCORE-COMMENT",
    "stripe transfer": "tr_PLANTED",
    "stripe charge": "ch_PLANTED",
    "stripe payment intent": "pi_PLANTED",
    "stripe checkout": "cs_PLANTED",
    "bank or Stripe account": "acct_PLANTED",
    "audit reason": "PLANTED-AUDIT-REASON",
    "audit address": "203.0.113.77",
    "private state change": "in_peer_review",
}
RELEASED_AT = datetime(2026, 3, 2, 15, 30, tzinfo=utcnow().tzinfo)


def _public_record(db: Session, fake_github: FakeGitHub) -> int:
    """A published opportunity awarded, paid, with an addendum and an answered question, beside
    everything private a file could leak. Returns the public opportunity's id."""
    work = awarded_work(db, fake_github, accepted=True)
    opportunity_id = work.opportunity_id
    db.add_all(
        [
            AuditEvent(
                action="opportunity.transition",
                subject_type="opportunity",
                subject_id=opportunity_id,
                from_state="draft",
                to_state="in_peer_review",
                details={"reason": PLANTED["audit reason"]},
                ip=PLANTED["audit address"],
            ),
            AuditEvent(
                action="opportunity.transition",
                subject_type="opportunity",
                subject_id=opportunity_id,
                from_state="in_peer_review",
                to_state="published",
            ),
            AuditEvent(
                action="opportunity.transition",
                subject_type="opportunity",
                subject_id=opportunity_id,
                from_state="evaluating",
                to_state="awarded",
                details={"reason": PLANTED["audit reason"]},
                ip=PLANTED["audit address"],
            ),
        ]
    )
    work.developer.email = PLANTED["email"]
    loser = make_user(db, login=PLANTED["losing bidder"], email=PLANTED["email"])
    opportunity = opportunity_of(db, work)
    losing = make_proposal(
        db,
        opportunity,
        loser,
        state="not_awarded",
        approach=PLANTED["proposal text"],
        experience=PLANTED["proposal experience"],
    )
    db.add(
        Score(
            proposal_id=losing.id,
            evaluator_user_id=work.owner.id,
            criterion_key="approach",
            score=3,
            comment=PLANTED["score comment"],
        )
    )
    answered = Question(
        opportunity_id=opportunity_id, asker_user_id=loser.id, body="Which browsers?"
    )
    db.add_all(
        [
            answered,
            Question(opportunity_id=opportunity_id, body=PLANTED["unanswered question"]),
        ]
    )
    db.flush()
    db.add_all(
        [
            Addendum(
                opportunity_id=opportunity_id,
                number=1,
                body="Q: Which browsers?\n\nA: The last two versions of each.",
                question_id=answered.id,
            ),
            Addendum(
                opportunity_id=opportunity_id,
                number=2,
                body="=cmd|' /C calc'!A0",  # a formula: must reach a spreadsheet as text
                new_deadline=utcnow() + timedelta(days=9),
            ),
            PayoutAccount(
                user_id=work.developer.id,
                provider_account_id=PLANTED["bank or Stripe account"],
                payouts_enabled=True,
            ),
        ]
    )
    award = evaluations.award_for(db, opportunity_id)
    assert award is not None
    payout = Payout(
        award_id=award.id,
        opportunity_id=opportunity_id,
        state="released",
        amount_cents=BID,
        currency="CAD",
        checkout_session_id=PLANTED["stripe checkout"],
        payment_intent_id=PLANTED["stripe payment intent"],
        charge_id=PLANTED["stripe charge"],
        developer_user_id=work.developer.id,
        released_at=RELEASED_AT,
    )
    db.add(payout)
    db.flush()
    db.add(
        PayoutTransfer(
            payout_id=payout.id,
            user_id=work.developer.id,
            basis_points=10_000,
            amount_cents=BID,
            destination_account_id=PLANTED["bank or Stripe account"],
            transfer_id=PLANTED["stripe transfer"],
            idempotency_key="PLANTED-KEY",
            state="sent",
        )
    )
    team = make_team(db)
    make_opportunity(
        db, team, title=PLANTED["draft title"], problem_statement=PLANTED["draft problem"]
    )
    db.commit()
    return opportunity_id


def _check_value(column: Column, value: Any) -> None:
    """A JSON value is of the type the dictionary gives its column."""
    if value is None:
        assert column.nullable, column.name
        return
    kind = column.type
    if kind.startswith("list of "):
        assert isinstance(value, list), column.name
        for item in value:
            _check_value(Column(column.name, kind.removeprefix("list of "), False, ""), item)
        return
    checks = {
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "text": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "date": lambda v: bool(date.fromisoformat(v)),
        "datetime": lambda v: datetime.fromisoformat(v).tzinfo is not None,
        "state_change": lambda v: (
            set(v) == {"state", "at"} and datetime.fromisoformat(v["at"]).tzinfo is not None
        ),
    }
    assert checks[kind](value), (column.name, value)


def _parse_cell(column: Column, cell: str) -> None:
    """A CSV cell reads back as the dictionary's type (empty only where it may be)."""
    if column.type.startswith("list of") or column.type == "text":
        return
    if cell == "":
        assert column.nullable, column.name
        return
    parse: dict[str, Callable[[str], object]] = {
        "integer": int,
        "number": float,
        "boolean": {"true": True, "false": False}.__getitem__,
        "date": date.fromisoformat,
        "datetime": datetime.fromisoformat,
    }
    parse[column.type](cell)


def test_every_file_reads_back_as_its_data_dictionary_says(
    client: TestClient, db: Session, fake_github: FakeGitHub, settings: Settings
) -> None:
    opportunity_id = _public_record(db, fake_github)
    for dataset in DATASETS:
        names = [column.name for column in dataset.columns]
        document = client.get(f"/opendata/{dataset.name}.json").json()
        assert document["name"] == dataset.name
        assert document["licence"] == "Open Government Licence – Canada"  # noqa: RUF001
        assert document["licence_url"].startswith("https://open.canada.ca/")
        assert document["records"] == len(document["items"]) >= 1, dataset.name
        for item in document["items"]:
            assert list(item) == names, dataset.name
            for column in dataset.columns:
                _check_value(column, item[column.name])

        response = client.get(f"/opendata/{dataset.name}.csv")
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert 'rel="license"' in response.headers["link"]
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0] == names
        assert len(rows) - 1 == document["records"]
        for row in rows[1:]:
            for column, cell in zip(dataset.columns, row, strict=True):
                _parse_cell(column, cell)

    opportunity = client.get("/opendata/opportunities.json").json()["items"][0]
    assert [change["state"] for change in opportunity["state_history"]] == [
        "published",
        "awarded",
    ]
    [award] = client.get("/opendata/awards.json").json()["items"]
    assert (award["opportunity_id"], award["winner_login"]) == (opportunity_id, "awardee")
    assert award["price_cents"] == BID
    assert award["accepted_at"] is not None
    [payment] = client.get("/opendata/payments.json").json()["items"]
    assert payment == {
        "opportunity_id": opportunity_id,
        "opportunity_url": f"{settings.base_url}/opportunities/{opportunity_id}",
        "team": payment["team"],
        "github_repository": REPO,
        "licence": "MIT",
        "amount_cents": BID,
        "currency": "CAD",
        "released_at": "2026-03-02T15:30:00Z",
    }
    addenda = client.get("/opendata/addenda.csv").content.decode("utf-8-sig")
    assert "'=cmd|" in addenda  # shown as text by a spreadsheet, never run
    assert [row["answers_question"] for row in csv.DictReader(io.StringIO(addenda))] == [
        "true",
        "false",
    ]


def test_no_private_value_appears_in_any_file(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    _public_record(db, fake_github)
    team_slug = client.get("/opendata/payments.json").json()["items"][0]["team"]
    addresses = [
        f"/opendata/{dataset.name}.{extension}"
        for dataset in DATASETS
        for extension in ("csv", "json")
    ] + ["/opendata/dictionary.json", "/data.json", "/code.json", f"/teams/{team_slug}/code.json"]
    for address in addresses:
        body = client.get(address).content
        assert body, address
        for what, value in PLANTED.items():
            assert value.encode() not in body, f"{what} in {address}"


def _validator(folder: str, main: str) -> Draft4Validator:
    """The standard's schema files as published, each known by its own id, so their relative
    $refs resolve here without the network."""
    resources = []
    for path in sorted((SCHEMAS / folder).glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents.get("id", path.name), DRAFT4.create_resource(contents)))
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / folder / main).read_text(encoding="utf-8"))
    return Draft4Validator(schema, registry=registry)


def test_data_json_is_a_valid_dcat_us_catalogue_of_every_dataset(
    client: TestClient, settings: Settings
) -> None:
    catalogue = client.get("/data.json").json()
    _validator("dcat-us-1.1", "catalog.json").validate(catalogue)
    downloads = {
        distribution["downloadURL"]
        for dataset in catalogue["dataset"]
        for distribution in dataset["distribution"]
    }
    assert downloads == {
        f"{settings.base_url}/opendata/{dataset.name}.{extension}"
        for dataset in DATASETS
        for extension in ("csv", "json")
    }
    assert {d["license"] for d in catalogue["dataset"]} == {
        "https://open.canada.ca/en/open-government-licence-canada"
    }
    assert 'href="/data.json"' in client.get("/opendata").text


def test_code_json_lists_the_repositories_that_received_paid_work(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    empty = client.get("/code.json").json()
    _validator("code-gov-2.0.0", "schema-2.0.0.json").validate(empty)
    assert empty["releases"] == []

    _public_record(db, fake_github)
    unpaid = make_opportunity(
        db, make_team(db), state="published", github_repository_full_name="gc-demo/unpaid"
    )
    db.commit()
    inventory = client.get("/code.json").json()
    _validator("code-gov-2.0.0", "schema-2.0.0.json").validate(inventory)
    [release] = inventory["releases"]
    assert release["repositoryURL"] == f"https://github.com/{REPO}"
    assert release["permissions"]["licenses"] == [
        {"name": "MIT", "URL": "https://spdx.org/licenses/MIT.html"}
    ]
    assert release["date"] == {"lastModified": "2026-03-02"}
    assert unpaid.github_repository_full_name not in json.dumps(inventory)

    team_slug = client.get("/opendata/payments.json").json()["items"][0]["team"]
    assert client.get(f"/teams/{team_slug}/code.json").json()["releases"] == [release]
    other = make_team(db)
    db.commit()
    per_team = client.get(f"/teams/{other.slug}/code.json").json()
    _validator("code-gov-2.0.0", "schema-2.0.0.json").validate(per_team)
    assert per_team["releases"] == []
    assert client.get("/teams/no-such-team/code.json").status_code == 404


@pytest.mark.parametrize(
    ("lang", "heading", "licence_sentence"),
    [
        ("en", "Payments released", "You may copy, adapt and publish every file"),
        ("fr", "Paiements versés", "Vous pouvez copier, adapter et publier"),
    ],
)
def test_the_page_lists_every_dataset_with_its_dictionary_and_licence(
    client: TestClient, lang: str, heading: str, licence_sentence: str
) -> None:
    page = client.get(f"/opendata?lang={lang}").text
    assert f'<html lang="{lang}">' in page
    assert heading in page
    assert licence_sentence in page
    assert 'rel="license"' in page
    for dataset in DATASETS:
        assert f'href="/opendata/{dataset.name}.csv"' in page
        assert f'href="/opendata/{dataset.name}.json"' in page
        for column in dataset.columns:
            assert f"<code>{column.name}</code>" in page
            assert f'<td lang="en">{column.meaning}</td>'.replace("'", "&#39;") in page
    # Every meaning has its French in the catalogue, not a copy of the English.
    for dataset in DATASETS:
        for column in dataset.columns:
            assert column.meaning_fr != column.meaning, column.name
