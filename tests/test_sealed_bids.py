"""Issue 13, point 5: sealed bids. Before the deadline no route, page or API, tells anyone but
the bidder who bid, at what price or in which rank, in either language; after it, the owner who
awards and the evaluators who declared no conflict see what they need."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import service as accounts
from app.config import Settings
from app.models import Opportunity, Project, Proposal, Team, User
from app.models.base import utcnow
from app.notifications import service as notifications
from app.opportunities import tasks
from app.teams import service as teams_service
from tests.support.factories import make_opportunity, make_team, make_user
from tests.support.route_walk import audit_lines_about, get_urls, seen
from tests.support.web import post_form, sign_in

LANGUAGES = ("en", "fr")
# Every way a price can be written: cents, the decimal point, English grouping (third), French
# grouping and decimal comma (fourth); spaces of any kind are folded to one plain space before
# searching.
FIRST_PRICE_FORMS = ("421357", "4213.57", "4,213.57", "4 213,57", "4213,57", "4 213.57")
SECOND_PRICE_FORMS = ("318746", "3187.46", "3,187.46", "3 187,46", "3187,46", "3 187.46")
# What reveals a ranking: the consensus table (its caption in either language, its total
# column) and the API's rank field with a value.
RANKING = re.compile(
    r'Ranking of the proposals|Classement des propositions|Total /100|"rank":\s*\d'
)


@dataclass(frozen=True)
class Bidder:
    login: str
    name: str
    github_id: int
    price: str  # as typed in the form
    price_forms: tuple[str, ...]
    approach: str

    @property
    def english_price(self) -> str:
        return self.price_forms[2]

    @property
    def french_price(self) -> str:
        return self.price_forms[3]

    def secrets(self) -> tuple[str, ...]:
        """Everything that tells someone this person bid, or what they bid."""
        surname = self.name.split()[-1]
        return (
            self.login,
            self.name,
            surname,
            str(self.github_id),
            self.approach,
            *self.price_forms,
        )


FIRST = Bidder(
    "zephyrine-quill",
    "Zéphyrine Quillfeather",
    731_904_862,
    "4213.57",
    FIRST_PRICE_FORMS,
    "SEALED-APPROACH-ZQ",
)
SECOND = Bidder(
    "octavio-brambleton",
    "Octavio Brambleton",
    648_215_937,
    "3 187,46",
    SECOND_PRICE_FORMS,
    "SEALED-APPROACH-OB",
)


@dataclass
class Sealed:
    opportunity: Opportunity
    team: Team
    project: Project
    people: dict[str, User]
    proposals: dict[str, int]  # bidder persona → proposal id
    invitation_token: str


def _propose(client: TestClient, opp: Opportunity, bidder: Bidder) -> None:
    url = f"/opportunities/{opp.id}/proposal"
    form = {
        "approach": bidder.approach,
        "experience": "Accessible forms",
        "links": "",
        "price": bidder.price,
        "delivery_date": "",
        "accept_terms": "on",
        "attest_eligibility": "on",
        "action": "submit",
    }
    assert post_form(client, url, form, page=url).status_code == 303


@pytest.fixture
def sealed(client: TestClient, db: Session, settings: Settings) -> Sealed:
    """Two bids sent through the form, a question, the evaluator's declaration: all before the
    deadline, as real people would, so every notification and audit event exists too."""
    team = make_team(db, slug="sealed-team", name="Sealed Team")
    other_team = make_team(db, slug="other-team")
    project = Project(team_id=team.id, slug="forms", name="Forms")
    db.add(project)
    db.flush()
    people = {
        "first_bidder": make_user(
            db, login=FIRST.login, name=FIRST.name, github_id=FIRST.github_id
        ),
        "second_bidder": make_user(
            db, login=SECOND.login, name=SECOND.name, github_id=SECOND.github_id
        ),
        "developer": make_user(db),
        "owner": make_user(db, roles={team: ["owner"]}),
        "editor": make_user(db, roles={team: ["editor"]}),
        "evaluator": make_user(db, roles={team: ["evaluator"]}),
        "finance": make_user(db, roles={team: ["finance"]}),
        "other_team": make_user(db, roles={other_team: ["owner"]}),
        "admin": make_user(db, is_admin=True),
    }
    opp = make_opportunity(
        db,
        team,
        title="A sealed-bid opportunity",
        state="published",
        amount_cents=500_000,
        project_id=project.id,
    )
    db.commit()
    for persona, bidder in (("first_bidder", FIRST), ("second_bidder", SECOND)):
        sign_in(client, people[persona])
        _propose(client, opp, bidder)
        asked = post_form(
            client, f"/opportunities/{opp.id}/questions", {"question": f"Test data? {persona}"}
        )
        assert asked.status_code == 303
    sign_in(client, people["evaluator"])
    declared = post_form(
        client,
        f"/opportunities/{opp.id}/evaluation/declaration",
        {"conflict": "no"},
        page=f"/opportunities/{opp.id}/evaluation",
    )
    assert declared.status_code == 303
    client.cookies.clear()
    _invitation, token = teams_service.invite(
        db,
        people["owner"],
        team,
        email="someone@example.gc.ca",
        role="editor",
        settings=settings,
        client=accounts.ClientInfo(),
    )
    db.commit()
    db.expire_all()
    proposals = {
        persona: proposal.id
        for persona in ("first_bidder", "second_bidder")
        for proposal in db.scalars(
            select(Proposal).where(Proposal.author_user_id == people[persona].id)
        )
    }
    assert sorted(db.scalars(select(Proposal.price_cents))) == [318_746, 421_357]
    return Sealed(opp, team, project, people, proposals, token)


def _get_urls(client: TestClient, sealed: Sealed, settings: Settings) -> list[str]:
    unsubscribe = notifications.unsubscribe_token(
        settings, sealed.people["owner"].id, "proposal_received"
    )
    return get_urls(
        client,
        {
            "opportunity_id": [sealed.opportunity.id],
            "proposal_id": list(sealed.proposals.values()),
            "slug": [sealed.team.slug],
            "project_slug": [sealed.project.slug],
            # Claims exist only on contracts, after the award: none can name a sealed bid.
            "claim_id": [1],
        },
        {"invitation": sealed.invitation_token, "": unsubscribe},
    )


def _lines_about_the_bids(html: str, sealed: Sealed) -> str:
    lines = audit_lines_about(html, sealed.opportunity.id, list(sealed.proposals.values()))
    assert len(lines) >= 2, "the audit trail shows both bids' submissions"
    return "\n".join(lines)


def _sign_in_as(client: TestClient, sealed: Sealed, persona: str) -> None:
    client.cookies.clear()
    if persona != "anonymous":
        sign_in(client, sealed.people[persona])


PERSONAS = (
    "anonymous",
    "developer",
    "first_bidder",
    "second_bidder",
    "owner",
    "editor",
    "evaluator",
    "finance",
    "other_team",
    "admin",
)


@pytest.mark.parametrize("persona", PERSONAS)
def test_before_the_deadline_nobody_but_the_bidder_learns_anything_of_a_bid(
    persona: str, client: TestClient, sealed: Sealed, settings: Settings
) -> None:
    secrets = [
        *([] if persona == "first_bidder" else FIRST.secrets()),
        *([] if persona == "second_bidder" else SECOND.secrets()),
    ]
    urls = _get_urls(client, sealed, settings)
    assert len(urls) > 50
    _sign_in_as(client, sealed, persona)
    leaks = []
    for language in LANGUAGES:
        assert (
            client.get("/", headers={"accept-language": language}).headers["content-language"]
            == language
        )
        for url in urls:
            text = seen(client, url, language)
            if url == "/admin" and persona == "admin":
                text = _lines_about_the_bids(text, sealed)
            leaks += [f"{url} ({language}): {secret}" for secret in secrets if secret in text]
            leaks += [f"{url} ({language}): ranking {m}" for m in RANKING.findall(text)]
    assert not leaks, f"as {persona}:\n" + "\n".join(leaks)


@pytest.mark.parametrize(
    ("persona", "bidder"), [("first_bidder", FIRST), ("second_bidder", SECOND)]
)
def test_each_bidder_still_sees_their_own_bid(
    persona: str, bidder: Bidder, client: TestClient, sealed: Sealed
) -> None:
    _sign_in_as(client, sealed, persona)
    proposal_id = sealed.proposals[persona]
    api = client.get(f"/api/v1/opportunities/{sealed.opportunity.id}/proposal").json()
    assert (api["approach"], api["price_cents"]) == (bidder.approach, int(bidder.price_forms[0]))
    english = seen(client, f"/proposals/{proposal_id}", "en")
    french = seen(client, f"/proposals/{proposal_id}", "fr")
    assert bidder.approach in english
    assert bidder.english_price in english
    assert bidder.french_price in french


def test_before_the_deadline_an_award_answers_the_same_whatever_proposal_it_names(
    client: TestClient, sealed: Sealed
) -> None:
    """An award's refusal must not tell the owner which proposal ids are bids, or which ranks
    first: before the deadline every attempt gets the same answer."""
    _sign_in_as(client, sealed, "owner")
    url = f"/api/v1/opportunities/{sealed.opportunity.id}/award"
    token = client.cookies.get("csrftoken") or ""
    answers = {
        (response.status_code, response.json()["detail"])
        for proposal_id in (*sealed.proposals.values(), 999_999)
        for reason in ("", "Because")
        for response in [
            client.post(
                url,
                json={"proposal_id": proposal_id, "reason": reason},
                headers={"x-csrftoken": token},
            )
        ]
    }
    assert len(answers) == 1, answers
    [(status, detail)] = answers
    assert status == 409
    assert "sealed until the deadline" in detail


def _close_the_deadline(db: Session, engine: Engine, settings: Settings, opp: Opportunity) -> None:
    """The clock moves past the deadline, then the deadline job runs, as the worker would."""
    db.execute(
        update(Opportunity)
        .where(Opportunity.id == opp.id)
        .values(proposal_deadline=utcnow() - timedelta(minutes=1))
    )
    db.commit()
    assert tasks.close_past_deadlines(sessionmaker(engine), settings) == 1


def test_after_the_deadline_the_owner_and_a_conflict_free_evaluator_see_what_they_need(
    client: TestClient, db: Session, engine: Engine, settings: Settings, sealed: Sealed
) -> None:
    opp = sealed.opportunity
    _close_the_deadline(db, engine, settings, opp)

    # The owner who awards: who bid, at what price, in which rank.
    _sign_in_as(client, sealed, "owner")
    ranking = client.get(f"/api/v1/opportunities/{opp.id}/consensus")
    assert ranking.status_code == 200
    rows = {row["developer_login"]: row for row in ranking.json()}
    assert {login: row["price_cents"] for login, row in rows.items()} == {
        FIRST.login: 421_357,
        SECOND.login: 318_746,
    }
    assert sorted(row["rank"] for row in rows.values()) == [1, 2]
    english = seen(client, f"/opportunities/{opp.id}/evaluation", "en")
    french = seen(client, f"/opportunities/{opp.id}/evaluation", "fr")
    for bidder in (FIRST, SECOND):
        assert f"@{bidder.login}" in english
        assert bidder.english_price in english
        assert bidder.french_price in french
    assert "Ranking of the proposals" in english
    assert "Classement des propositions" in french

    # The evaluator who declared no conflict: every proposal to score, with its approach and
    # price.
    _sign_in_as(client, sealed, "evaluator")
    page = seen(client, f"/opportunities/{opp.id}/evaluation", "en")
    for persona, bidder in (("first_bidder", FIRST), ("second_bidder", SECOND)):
        proposal_id = sealed.proposals[persona]
        assert f'href="/proposals/{proposal_id}/evaluation"' in page
        scoring = seen(client, f"/proposals/{proposal_id}/evaluation", "en")
        assert bidder.approach in scoring
        assert bidder.english_price in scoring


def test_after_the_deadline_others_still_see_no_bid(
    client: TestClient, db: Session, engine: Engine, settings: Settings, sealed: Sealed
) -> None:
    """The deadline opens the bids to the team's evaluation, not to everyone."""
    opp = sealed.opportunity
    _close_the_deadline(db, engine, settings, opp)
    for persona in ("anonymous", "developer", "other_team", "editor", "finance"):
        _sign_in_as(client, sealed, persona)
        for url in (
            f"/opportunities/{opp.id}",
            f"/api/v1/opportunities/{opp.id}",
            f"/opportunities/{opp.id}/evaluation",
            f"/api/v1/opportunities/{opp.id}/consensus",
        ):
            text = seen(client, url, "en")
            assert not [s for s in (*FIRST.secrets(), *SECOND.secrets()) if s in text], (
                persona,
                url,
            )
