""" "My work" and "Needs you", over HTTP: each person sees exactly what waits for them (not another
team's work, not another developer's), the navigation's count matches the list, the API says
the same as the page, and the emails about a thing link where its item does.

The expected items are written here from the scenario below and the issue's description of who
does what; they are not computed by the code under test."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import (
    Award,
    ConflictDeclaration,
    EvaluationSubmission,
    Notification,
    Opportunity,
    Payout,
    Proposal,
    Question,
    Review,
    ReviewRequest,
    SpendingSignoff,
    Team,
    User,
)
from app.models.base import utcnow
from app.opportunities import service as opportunities
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user
from tests.support.web import app_of, post_form, sign_in

ACTION_LINK = re.compile(r'class="button work-action" href="([^"]+)"')
NAV_LINK = re.compile(r'<a href="(/my-work|/needs-you)"[^>]*>(.*?)</a>', re.DOTALL)
TAG = re.compile(r"<[^>]+>")
HIDDEN_FROM_READERS = re.compile(r'<span[^>]*aria-hidden="true"[^>]*>.*?</span>')


@dataclass
class World:
    teams: dict[str, Team]
    people: dict[str, User]
    ids: dict[str, int]  # opportunity and proposal ids by name


def _award(db: Session, opportunity: Opportunity, proposal_id: int, **fields: object) -> Award:
    award = Award(
        opportunity_id=opportunity.id,
        proposal_id=proposal_id,
        reason="Top-ranked proposal.",
        accept_by=utcnow() + timedelta(days=5),
        **fields,
    )
    db.add(award)
    db.flush()
    return award


def _evaluated(db: Session, proposal_id: int, evaluator: User) -> None:
    db.add(EvaluationSubmission(proposal_id=proposal_id, evaluator_user_id=evaluator.id))


def _declared(db: Session, opportunity: Opportunity, evaluator: User) -> None:
    db.add(
        ConflictDeclaration(opportunity_id=opportunity.id, user_id=evaluator.id, has_conflict=False)
    )


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    """Two teams, two developers, an administrator, and work in every state that waits for one
    of them. Team A ("forms") has one person per role; team B ("data") an owner and an editor."""
    a = make_team(db, slug="forms", name="Forms Team")
    b = make_team(db, slug="data", name="Data Team")
    make_team(db, slug="pending", name="Pending Team", approved_at=None)
    terms = settings.terms_version
    people = {
        "olivia": make_user(db, login="olivia", roles={a: ["owner"]}, terms_version=terms),
        "ed": make_user(db, login="ed", roles={a: ["editor"]}, terms_version=terms),
        "eve": make_user(db, login="eve", roles={a: ["evaluator"]}, terms_version=terms),
        "fiona": make_user(db, login="fiona", roles={a: ["finance"]}, terms_version=terms),
        # Signs off publishing and funding (issue 16).
        "abe": make_user(db, login="abe", roles={a: ["approver"]}, terms_version=terms),
        "bob": make_user(db, login="bob", roles={b: ["owner", "approver"]}, terms_version=terms),
        "pat": make_user(db, login="pat", roles={b: ["editor"]}, terms_version=terms),
        "dana": make_user(db, login="dana-bidder", name="Dana Bidder", terms_version=terms),
        "devon": make_user(db, login="devon-bidder", name="Devon Bidder", terms_version=terms),
        "ada": make_user(db, login="ada", is_admin=True, terms_version=terms),
    }
    dana, devon, eve = people["dana"], people["devon"], people["eve"]
    past = utcnow() - timedelta(hours=2)
    ids: dict[str, int] = {}

    def opportunity(name: str, team: Team, **fields: Any) -> Opportunity:
        found = make_opportunity(db, team, title=name, **fields)
        ids[name] = found.id
        return found

    opportunity("A draft", a, state="draft")
    in_review = opportunity("A in review", a, state="in_peer_review")
    request = ReviewRequest(opportunity_id=in_review.id, audience="all")
    db.add(request)
    db.flush()
    db.add(
        Review(
            request_id=request.id,
            opportunity_id=in_review.id,
            reviewer_user_id=people["pat"].id,
            comments={"problem": "Say who is affected."},
        )
    )
    open_ = opportunity("A open", a, state="published")
    db.add(Question(opportunity_id=open_.id, asker_user_id=devon.id, body="Is there test data?"))
    make_proposal(db, open_, dana)  # submitted, sealed until the deadline
    make_proposal(db, open_, devon, state="draft", submitted_at=None)
    to_declare = opportunity("A to declare", a, state="evaluating", proposal_deadline=past)
    for bidder in (dana, devon):
        make_proposal(db, to_declare, bidder, state="under_evaluation")
    to_score = opportunity("A to score", a, state="evaluating", proposal_deadline=past)
    _declared(db, to_score, eve)
    scored = make_proposal(db, to_score, dana, state="under_evaluation")
    ids["next to score"] = make_proposal(db, to_score, devon, state="under_evaluation").id
    _evaluated(db, scored.id, eve)
    opportunity("A without proposals", a, state="evaluating", proposal_deadline=past)
    ready = opportunity("A ready", a, state="evaluating", proposal_deadline=past)
    _declared(db, ready, eve)
    _evaluated(db, make_proposal(db, ready, devon, state="under_evaluation").id, eve)
    awarded = opportunity("A awarded", a, state="awarded", proposal_deadline=past)
    a_award = _award(
        db, awarded, make_proposal(db, awarded, dana, state="awarded", price_cents=42_000).id
    )
    # Its price is signed off: finance may fund it.
    db.add(
        SpendingSignoff(
            team_id=a.id,
            opportunity_id=awarded.id,
            award_id=a_award.id,
            purpose="fund",
            amount_cents=42_000,
            currency="CAD",
            signed_by_user_id=people["abe"].id,
        )
    )
    opportunity("A on hold", a, state="on_hold", proposal_deadline=past)
    paid = opportunity("A paid", a, state="paid", proposal_deadline=past)
    paid_award = _award(
        db, paid, make_proposal(db, paid, dana, state="awarded").id, accepted_at=utcnow()
    )
    db.add(
        Payout(
            award_id=paid_award.id,
            opportunity_id=paid.id,
            amount_cents=50_000,
            currency="CAD",
            state="paid",
        )
    )
    opportunity("B draft", b, state="draft")
    b_awarded = opportunity("B awarded", b, state="awarded", proposal_deadline=past)
    _award(db, b_awarded, make_proposal(db, b_awarded, devon, state="awarded").id)
    db.commit()
    return World({"forms": a, "data": b}, people, ids)


def _expected_needs_you(w: World) -> dict[str, list[tuple[str, str]]]:
    """Who must act on what, and on which page, from the scenario."""
    i = w.ids
    return {
        # An owner who is not an approver does not publish (issue 16).
        "olivia": [
            ("reply_to_reviews", f"/opportunities/{i['A in review']}#reviews"),
            ("answer_question", f"/opportunities/{i['A open']}#answer-"),
            ("reopen_or_close", f"/opportunities/{i['A without proposals']}/evaluation"),
            ("award", f"/opportunities/{i['A ready']}/evaluation"),
            ("work_on_hold", f"/opportunities/{i['A on hold']}"),
        ],
        "ed": [
            ("reply_to_reviews", f"/opportunities/{i['A in review']}#reviews"),
            ("answer_question", f"/opportunities/{i['A open']}#answer-"),
            ("work_on_hold", f"/opportunities/{i['A on hold']}"),
        ],
        "eve": [
            ("declare_conflicts", f"/opportunities/{i['A to declare']}/evaluation"),
            ("score_proposals", f"/proposals/{i['next to score']}/evaluation"),
        ],
        "fiona": [
            ("fund_award", f"/opportunities/{i['A awarded']}/funding"),
            ("work_on_hold", f"/opportunities/{i['A on hold']}"),
        ],
        # Team B's award is not signed off yet: its approver (Bob) is asked to, its finance
        # (nobody) is not asked to pay.
        "abe": [("approve_draft", f"/opportunities/{i['A draft']}#team-actions")],
        # Bob reviews team A's draft as a peer (a member of another approved team).
        "bob": [
            ("review_draft", f"/opportunities/{i['A in review']}/review"),
            ("approve_draft", f"/opportunities/{i['B draft']}#team-actions"),
            ("sign_off_funding", f"/opportunities/{i['B awarded']}/funding"),
        ],
        "pat": [],  # already reviewed team A's draft
        "dana": [],
        "devon": [],
        "ada": [
            ("approve_team", "/admin"),
            ("held_payment", f"/admin/attention#held-{i['A on hold']}"),
        ],
    }


def _expected_my_work(w: World) -> dict[str, list[tuple[str, str]]]:
    i = w.ids
    return {
        "dana": [
            ("accept_award", f"/opportunities/{i['A awarded']}/proposal"),
            ("set_up_payouts", "/account/payouts"),
        ],
        "devon": [
            ("accept_award", f"/opportunities/{i['B awarded']}/proposal"),
            ("set_up_payouts", "/account/payouts"),
            ("finish_proposal", f"/opportunities/{i['A open']}/proposal"),
        ],
        **{name: [] for name in ("olivia", "ed", "eve", "fiona", "abe", "bob", "pat", "ada")},
    }


def _links(expected: list[tuple[str, str]], actual: list[str]) -> list[str]:
    """The question's id is not known to the oracle: its link is matched up to the anchor."""
    prefixes = [link for _kind, link in expected]
    return [
        next((p for p in prefixes if a.startswith(p) and p.endswith("#answer-")), a) for a in actual
    ]


def _nav_text(client: TestClient, path: str) -> str | None:
    """The menu link's name as a screen reader reads it (what is hidden from it left out)."""
    html = client.get("/").text
    for href, inner in NAV_LINK.findall(html):
        if href == path:
            return " ".join(TAG.sub("", HIDDEN_FROM_READERS.sub("", inner)).split())
    return None


def _nav(label: str, count: int) -> str:
    return f"{label} ({count} to do)" if count else label


def test_each_person_sees_exactly_their_own_work(client: TestClient, world: World) -> None:
    needs_you, my_work = _expected_needs_you(world), _expected_my_work(world)
    for name, person in world.people.items():
        sign_in(client, person)
        expected = needs_you[name]
        api = client.get("/api/v1/me/needs-you").json()
        listed = [(item["kind"], item["link"]) for item in api["items"]]
        assert [k for k, _l in listed] == [k for k, _l in expected], name
        assert _links(expected, [link for _k, link in listed]) == [link for _k, link in expected]
        assert api["count"] == len(expected), name
        page = client.get("/needs-you").text
        assert _links(expected, ACTION_LINK.findall(page)) == [link for _k, link in expected]

        expected = my_work[name]
        api = client.get("/api/v1/me/work").json()
        assert [(item["kind"], item["link"]) for item in api["to_do"]] == expected, name
        assert api["count"] == len(expected), name
        assert ACTION_LINK.findall(client.get("/my-work").text) == [link for _k, link in expected]

        # The navigation counts the same lists; "Needs you" is offered to team members,
        # administrators, and anyone something waits for.
        assert _nav_text(client, "/my-work") == _nav("My work", len(my_work[name])), name
        shows = name not in ("dana", "devon")
        wanted = _nav("Needs you", len(needs_you[name])) if shows else None
        assert _nav_text(client, "/needs-you") == wanted, name


def test_the_count_is_read_out_with_its_meaning_in_french(client: TestClient, world: World) -> None:
    sign_in(client, world.people["olivia"])
    html = client.get("/?lang=fr").text
    assert (
        '<a href="/needs-you">Vous attend<span class="visually-hidden"> (5 à faire)</span>'
        '<span class="nav-count" aria-hidden="true"> (5)</span></a>'
    ) in html
    page = client.get("/needs-you").text
    assert "Questions auxquelles répondre (1)" in page
    assert "Is there test data?" in page


def test_no_bidder_is_named_or_counted_before_the_deadline(
    client: TestClient, world: World
) -> None:
    """Sealed bids: the team's lists never name a bidder, and say nothing about the proposals
    of work still open for proposals (two were sent to "A open": one submitted, one draft)."""
    for name in ("olivia", "ed", "eve", "fiona", "bob", "pat", "ada"):
        sign_in(client, world.people[name])
        for path in ("/needs-you", "/api/v1/me/needs-you"):
            text = client.get(path).text
            for bidder in ("dana-bidder", "Dana Bidder", "devon-bidder", "Devon Bidder"):
                assert bidder not in text, (name, path)
        items = client.get("/api/v1/me/needs-you").json()["items"]
        about_open = [i for i in items if i["opportunity_id"] == world.ids["A open"]]
        assert all(i["kind"] == "answer_question" for i in about_open), name
        assert all(i["remaining"] is None for i in about_open), name


def test_my_work_lists_proposals_contracts_and_payments(client: TestClient, world: World) -> None:
    sign_in(client, world.people["dana"])
    work = client.get("/api/v1/me/work").json()
    i = world.ids
    assert sorted(p["opportunity_id"] for p in work["proposals"]) == sorted(
        [i["A open"], i["A to declare"], i["A to score"], i["A awarded"], i["A paid"]]
    )
    contracts = {c["opportunity_id"]: c for c in work["contracts"]}
    assert set(contracts) == {i["A awarded"], i["A paid"]}
    assert contracts[i["A awarded"]]["price_cents"] == 42_000
    assert contracts[i["A awarded"]]["payout_state"] is None
    assert (
        contracts[i["A paid"]]["payment_record"] == f"/opportunities/{i['A paid']}/payment-record"
    )
    page = client.get("/my-work").text
    assert f'href="/opportunities/{i["A paid"]}/payment-record"' in page
    assert 'href="/account/payouts"' in page
    # Not another developer's: Devon's proposals and awards are not Dana's.
    assert i["B awarded"] not in contracts


def test_the_award_notice_offers_the_contract_to_the_awardee_only(
    client: TestClient, world: World
) -> None:
    oid = world.ids["A awarded"]
    accept = f'action="/opportunities/{oid}/award/accept"'
    assert accept not in client.get(f"/opportunities/{oid}").text  # anonymous
    for name in ("devon", "olivia", "fiona"):
        sign_in(client, world.people[name])
        assert accept not in client.get(f"/opportunities/{oid}").text, name
    sign_in(client, world.people["dana"])
    assert accept in client.get(f"/opportunities/{oid}").text
    response = post_form(client, f"/opportunities/{oid}/award/accept", {}, f"/opportunities/{oid}")
    assert response.status_code == 303
    kinds = [item["kind"] for item in client.get("/api/v1/me/work").json()["to_do"]]
    assert kinds == ["set_up_payouts"]  # accepted: the payout account is what is left
    assert accept not in client.get(f"/opportunities/{oid}").text
    assert _nav_text(client, "/my-work") == "My work (1 to do)"


def test_the_account_page_links_the_payout_account_and_my_work(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.people["dana"])
    page = client.get("/account").text
    assert 'href="/account/payouts"' in page
    assert 'href="/my-work"' in page


def test_emails_link_where_the_items_do(
    client: TestClient, world: World, db: Session, settings: Settings
) -> None:
    """The award email and the evaluators' deadline email, sent by the real flows, lead to the
    page the awardee's and the evaluator's items link to."""
    oid = world.ids["A ready"]
    sign_in(client, world.people["olivia"])
    chosen = db.scalars(select(Proposal.id).where(Proposal.opportunity_id == oid)).one()
    response = post_form(
        client,
        f"/opportunities/{oid}/award",
        {"proposal": str(chosen)},
        f"/opportunities/{oid}/evaluation",
    )
    assert response.status_code == 303, response.text
    sign_in(client, world.people["devon"])
    items = client.get("/api/v1/me/work").json()["to_do"]
    accept = [
        i["link"] for i in items if i["kind"] == "accept_award" and i["opportunity_id"] == oid
    ]
    emailed = _notification_links(db, world.people["devon"], "awarded")
    assert accept == emailed == [f"/opportunities/{oid}/proposal"]

    closing = make_opportunity(
        db,
        world.teams["forms"],
        state="published",
        proposal_deadline=utcnow() - timedelta(minutes=1),
    )
    make_proposal(db, closing, world.people["dana"])  # submitted; evaluated after the deadline
    db.commit()
    opportunities.close_past_deadlines(db, utcnow())
    db.commit()
    sign_in(client, world.people["eve"])
    items = client.get("/api/v1/me/needs-you").json()["items"]
    declare = [i["link"] for i in items if i["opportunity_id"] == closing.id]
    emailed = _notification_links(db, world.people["eve"], "deadline_passed")
    assert declare == emailed == [f"/opportunities/{closing.id}/evaluation"]


def _notification_links(db: Session, user: User, kind: str) -> list[str]:
    db.expire_all()
    return list(
        db.scalars(
            select(Notification.link).where(
                Notification.user_id == user.id, Notification.kind == kind
            )
        )
    )


def _more_of_everything(db: Session, world: World, bidder: User) -> None:
    """One more item of each kind for someone holding every role in team A."""
    team, past = world.teams["forms"], utcnow() - timedelta(hours=2)
    make_opportunity(db, team, state="draft")
    asked = make_opportunity(db, team, state="published")
    db.add(Question(opportunity_id=asked.id, asker_user_id=bidder.id, body="When?"))
    evaluating = make_opportunity(db, team, state="evaluating", proposal_deadline=past)
    make_proposal(db, evaluating, bidder, state="under_evaluation")
    make_opportunity(db, team, state="evaluating", proposal_deadline=past)
    awarded = make_opportunity(db, team, state="awarded", proposal_deadline=past)
    _award(db, awarded, make_proposal(db, awarded, bidder, state="awarded").id)
    make_opportunity(db, team, state="on_hold", proposal_deadline=past)
    make_team(db, approved_at=None)
    db.commit()


def _statements(client: TestClient, path: str) -> tuple[int, int]:
    """How many SQL statements one request runs, and how many items it lists."""
    engine = app_of(client).state.engine
    seen: list[str] = []

    def count(*_args: object) -> None:
        seen.append("statement")

    event.listen(engine, "before_cursor_execute", count)
    try:
        body = client.get(path).json()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen), body["count"]


def test_the_lists_cost_the_same_queries_however_much_waits(
    client: TestClient, world: World, db: Session, settings: Settings
) -> None:
    """No query per item: twice the work to list runs exactly as many statements."""
    busy = make_user(
        db,
        login="busy",
        is_admin=True,
        roles={world.teams["forms"]: ["owner", "editor", "evaluator", "finance"]},
        terms_version=settings.terms_version,
    )
    db.commit()
    sign_in(client, busy)
    before = {
        path: _statements(client, path) for path in ("/api/v1/me/needs-you", "/api/v1/me/work")
    }
    _more_of_everything(db, world, world.people["dana"])
    _more_of_everything(db, world, busy)  # busy bids elsewhere too: more in "My work"
    after = {path: _statements(client, path) for path in before}
    for path, (statements, _items) in after.items():
        assert statements == before[path][0], path
    assert after["/api/v1/me/needs-you"][1] > before["/api/v1/me/needs-you"][1]
    assert after["/api/v1/me/work"][1] > before["/api/v1/me/work"][1]


def test_a_signed_in_page_holds_one_database_connection(client: TestClient, world: World) -> None:
    """The navigation's counts are read through the page's own connection. A second one per
    request deadlocks a busy process: every request holds one and waits for another until the
    pool gives up (seen as 30-second proposal forms under load)."""
    engine = app_of(client).state.engine
    held: list[int] = [0]
    most: list[int] = [0]

    def checkout(*_args: object) -> None:
        held[0] += 1
        most[0] = max(most[0], held[0])

    def checkin(*_args: object) -> None:
        held[0] -= 1

    sign_in(client, world.people["eve"])
    expected = _nav("Needs you", len(_expected_needs_you(world)["eve"]))
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        for path in ("/", "/opportunities", "/needs-you", "/my-work"):
            assert client.get(path).status_code == 200, path
        assert _nav_text(client, "/needs-you") == expected  # the counts are still there
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)
    assert most[0] == 1
