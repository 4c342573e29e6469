"""Issue 16, done means 6: anonymised evaluation. After the deadline an evaluator reads every
proposal, but until they have submitted their scores no route they can call, page or API, in
either language, tells them who sent it: no name, login, GitHub id or avatar. The proposals are
"Proposal A, B, ..." in the order they were submitted. Once the evaluator has submitted their
evaluation of every proposal, the consensus names the bidders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.models import Opportunity, Project, Proposal, Team, User
from app.models.base import utcnow
from app.notifications import service as notifications
from app.opportunities import tasks
from app.proposals.service import letter
from tests.support.factories import make_opportunity, make_team, make_user
from tests.support.route_walk import SPACES, audit_lines_about, get_urls, seen
from tests.support.web import post_form, sign_in

LANGUAGES = ("en", "fr")


@dataclass(frozen=True)
class Bidder:
    login: str
    name: str
    display_name: str
    github_id: int
    price: str

    @property
    def avatar_url(self) -> str:
        return f"https://avatars.githubusercontent.com/u/{self.github_id}?v=4"

    def identity(self) -> tuple[str, ...]:
        """Everything that tells an evaluator who sent a proposal."""
        return (
            self.login,
            self.name,
            self.name.split()[-1],
            self.display_name,
            str(self.github_id),
            self.avatar_url,
        )


# The first to submit is Proposal A, the second Proposal B.
FIRST = Bidder("wilhelmina-tarrow", "Wilhelmina Tarrowgate", "Mina T. Studio", 582_039_417, "4200")
SECOND = Bidder("barnaby-quellin", "Barnaby Quellinford", "Quellin Works", 493_716_208, "3900")
BIDDERS = {"first_bidder": FIRST, "second_bidder": SECOND}


@dataclass
class Scenario:
    opportunity: Opportunity
    team: Team
    project: Project
    people: dict[str, User]
    proposals: dict[str, int]  # bidder persona → proposal id


@pytest.fixture
def scenario(client: TestClient, db: Session, engine: Engine, settings: Settings) -> Scenario:
    """Two bids and two questions sent through the pages before the deadline (so every
    notification and audit event a real bid makes exists); then the deadline job; then the
    evaluators declare no conflict."""
    team = make_team(db, slug="blind-team", name="Blind Team")
    project = Project(team_id=team.id, slug="blind", name="Blind")
    db.add(project)
    db.flush()
    people = {
        persona: make_user(
            db,
            login=b.login,
            name=b.name,
            display_name=b.display_name,
            github_id=b.github_id,
            avatar_url=b.avatar_url,
        )
        for persona, b in BIDDERS.items()
    }
    people |= {
        "owner": make_user(db, roles={team: ["owner"]}),
        "evaluator": make_user(db, roles={team: ["evaluator"]}),
        "second_evaluator": make_user(db, roles={team: ["evaluator"]}),
        # An owner who also evaluates: blind like any evaluator until they have scored.
        "owner_evaluator": make_user(db, roles={team: ["owner", "evaluator"]}),
        "admin_evaluator": make_user(db, is_admin=True, roles={team: ["evaluator"]}),
    }
    opp = make_opportunity(
        db,
        team,
        title="Blind evaluation",
        state="published",
        amount_cents=500_000,
        project_id=project.id,
    )
    db.commit()
    for persona, bidder in BIDDERS.items():
        sign_in(client, people[persona])
        url = f"/opportunities/{opp.id}/proposal"
        form = {
            "approach": f"Approach of {persona}",
            "experience": "Forms",
            # What the form offers: the bidder's GitHub profile.
            "links": f"https://github.com/{bidder.login}",
            "price": bidder.price,
            "delivery_date": "",
            "accept_terms": "on",
            "attest_eligibility": "on",
            "action": "submit",
        }
        assert post_form(client, url, form, page=url).status_code == 303
        asked = post_form(client, f"/opportunities/{opp.id}/questions", {"question": persona})
        assert asked.status_code == 303
    db.execute(
        update(Opportunity)
        .where(Opportunity.id == opp.id)
        .values(proposal_deadline=utcnow() - timedelta(minutes=1))
    )
    db.commit()
    assert tasks.close_past_deadlines(sessionmaker(engine), settings) == 1
    for persona in ("evaluator", "second_evaluator", "owner_evaluator", "admin_evaluator"):
        sign_in(client, people[persona])
        declared = post_form(
            client,
            f"/opportunities/{opp.id}/evaluation/declaration",
            {"conflict": "no"},
            page=f"/opportunities/{opp.id}/evaluation",
        )
        assert declared.status_code == 303
    client.cookies.clear()
    db.expire_all()
    proposals = {
        persona: db.scalars(
            select(Proposal.id).where(Proposal.author_user_id == people[persona].id)
        ).one()
        for persona in BIDDERS
    }
    return Scenario(opp, team, project, people, proposals)


def _get_urls(client: TestClient, scenario: Scenario, settings: Settings) -> list[str]:
    unsubscribe = notifications.unsubscribe_token(
        settings, scenario.people["evaluator"].id, "proposal_received"
    )
    return get_urls(
        client,
        {
            "opportunity_id": [scenario.opportunity.id],
            "proposal_id": list(scenario.proposals.values()),
            "slug": [scenario.team.slug],
            "project_slug": [scenario.project.slug],
            # Claims exist only on contracts, after the award: none can name a sealed bid.
            "claim_id": [1],
        },
        {"": unsubscribe},
    )


def _lines_about_the_bids(html: str, scenario: Scenario) -> str:
    ids = list(scenario.proposals.values())
    return "\n".join(audit_lines_about(html, scenario.opportunity.id, ids))


def _leaks(client: TestClient, urls: list[str], scenario: Scenario | None = None) -> list[str]:
    found = []
    for language in LANGUAGES:
        for url in urls:
            text = seen(client, url, language)
            if url == "/admin" and scenario is not None:
                about_the_bids = _lines_about_the_bids(text, scenario)
                if "<tr" in text:  # an administrator's page: the bids' lines are there
                    assert about_the_bids, "the audit trail shows the bids' submissions"
                text = about_the_bids
            found += [
                f"{url} ({language}): {secret}"
                for bidder in BIDDERS.values()
                for secret in bidder.identity()
                if secret in text
            ]
    return found


def _submit_scores(client: TestClient, proposal_id: int) -> None:
    data = {f"score_{k}": "4" for k in ("understanding", "approach", "experience")}
    page = f"/proposals/{proposal_id}/evaluation"
    answer = post_form(client, page, data | {"action": "submit"}, page=page)
    assert answer.status_code == 303, answer.text


# An administrator may evaluate for a team too: the audit trail must not name the bidders.
@pytest.mark.parametrize("persona", ["evaluator", "admin_evaluator"])
def test_until_they_submit_no_route_names_a_bidder_to_the_evaluator(
    persona: str, client: TestClient, scenario: Scenario, settings: Settings
) -> None:
    urls = _get_urls(client, scenario, settings)
    assert len(urls) > 50
    sign_in(client, scenario.people[persona])
    opp = scenario.opportunity
    a, b = scenario.proposals["first_bidder"], scenario.proposals["second_bidder"]

    # The evaluator can read both proposals, as "Proposal A" and "Proposal B", in the order
    # they were submitted, in both languages.
    page = seen(client, f"/opportunities/{opp.id}/evaluation", "en")
    assert re.search(rf'href="/proposals/{a}/evaluation">Proposal A<', page)
    assert re.search(rf'href="/proposals/{b}/evaluation">Proposal B<', page)
    assert "Proposition A" in seen(client, f"/opportunities/{opp.id}/evaluation", "fr")
    assert "Score proposal B" in seen(client, f"/proposals/{b}/evaluation", "en")
    assert "Approach of second_bidder" in seen(client, f"/proposals/{b}", "en")
    api = client.get(f"/api/v1/opportunities/{opp.id}/evaluation").json()
    assert [(p["proposal_id"], p["label"]) for p in api["proposals"]] == [(a, "A"), (b, "B")]
    assert client.get(f"/api/v1/proposals/{a}").json()["approach"] == "Approach of first_bidder"

    leaks = _leaks(client, urls, scenario)
    # A refused score form shows the proposal again: still no name.
    refused = post_form(
        client, f"/proposals/{a}/evaluation", {"action": "submit"}, page=f"/proposals/{a}"
    )
    assert refused.status_code == 422
    leaks += [
        f"refused score: {s}"
        for bidder in BIDDERS.values()
        for s in bidder.identity()
        if s in SPACES.sub(" ", refused.text)
    ]
    assert not leaks, "\n".join(leaks)

    # Half-way (one of two submitted) the bidders are still anonymous.
    _submit_scores(client, a)
    assert not _leaks(
        client,
        [
            f"/opportunities/{opp.id}/evaluation",
            f"/api/v1/opportunities/{opp.id}/consensus",
            f"/api/v1/opportunities/{opp.id}/evaluation",
            f"/proposals/{a}",
            f"/proposals/{b}",
            f"/api/v1/proposals/{a}",
            "/admin",
        ],
        scenario,
    )


def test_names_appear_at_consensus_for_the_evaluator_who_submitted_only(
    client: TestClient, scenario: Scenario
) -> None:
    opp = scenario.opportunity
    a, b = scenario.proposals["first_bidder"], scenario.proposals["second_bidder"]
    sign_in(client, scenario.people["evaluator"])
    _submit_scores(client, a)
    _submit_scores(client, b)

    for language in LANGUAGES:
        page = seen(client, f"/opportunities/{opp.id}/evaluation", language)
        assert f"@{FIRST.login}" in page
        assert f"@{SECOND.login}" in page
    ranking = client.get(f"/api/v1/opportunities/{opp.id}/consensus")
    assert ranking.status_code == 200
    assert {(row["label"], row["developer_login"]) for row in ranking.json()} == {
        ("A", FIRST.login),
        ("B", SECOND.login),
    }
    assert f"https://github.com/{FIRST.login}" in seen(client, f"/proposals/{a}", "en")
    assert client.get(f"/api/v1/proposals/{a}").json()["links"] == [
        f"https://github.com/{FIRST.login}"
    ]

    # The other evaluators have submitted nothing: still anonymous for them, the owner who
    # evaluates too included.
    for persona in ("second_evaluator", "owner_evaluator"):
        sign_in(client, scenario.people[persona])
        assert not _leaks(
            client,
            [
                f"/opportunities/{opp.id}/evaluation",
                f"/api/v1/opportunities/{opp.id}/consensus",
                f"/api/v1/opportunities/{opp.id}/evaluation",
                f"/proposals/{a}",
                f"/api/v1/proposals/{a}",
                "/admin",
            ],
            scenario,
        ), persona

    # The owner, who evaluates nothing, sees who bid (they award).
    sign_in(client, scenario.people["owner"])
    page = seen(client, f"/opportunities/{opp.id}/evaluation", "en")
    assert f"@{FIRST.login}" in page
    assert f"@{SECOND.login}" in page


def test_letters_go_on_past_z_as_spreadsheet_columns_do() -> None:
    assert [letter(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]
