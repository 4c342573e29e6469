"""The demo (`devex demo-data`, loaded by `make run`) tells one consistent story: each state it
shows was reached through the site's own services, so every link a person is shown on a demo
opportunity leads somewhere, and every held payment can be released.

Runs on PostgreSQL and on SQLite, which `make run` uses."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Match

from app import jobs
from app.config import Environment, Settings
from app.db import make_engine, make_session_factory
from app.demo import load_demo_data
from app.evaluations import service as evaluations
from app.main import create_app
from app.models import Award, LedgerEntry, Opportunity, Payout, Proposal, TeamMembership, User
from app.payments import repository as payments_repository
from tests.support.web import app_of, post_form, sign_in

FUNDED_STATES = {"in_progress", "merged", "paid", "on_hold"}
AWARDED_STATES = {"awarded"} | FUNDED_STATES
# What a failed merge verification says when the awardee merged their own pull request
# (DESIGN, pay-on-pull rule 2); the demo's held work was held for it.
SELF_MERGE = "the pull request was merged by its author, the awardee"
# Statuses a link someone is shown must never answer: it leads nowhere, or the state it
# depends on is not there.
BROKEN = {404, 405, 409}


@dataclass
class Demo:
    client: TestClient
    db: Session
    sessions: sessionmaker[Session]
    settings: Settings


@pytest.fixture
def demo(any_db_url: str, settings: Settings) -> Iterator[Demo]:
    """The demo loaded as `make run` loads it: local mode, the simulated payment gateway."""
    local = settings.model_copy(
        update={
            "database_url": any_db_url,
            "env": Environment.LOCAL,
            "stripe_secret_key": "",
            "stripe_webhook_secret": "",
        }
    )
    engine = make_engine(any_db_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        load_demo_data(session, local)
        session.commit()
    app = create_app(local)
    # A server error is a finding of the walk, reported with the others, not an exception.
    with (
        TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client,
        sessions() as db,
    ):
        yield Demo(client, db, sessions, local)
    engine.dispose()


class _Page(HTMLParser):
    """The links and forms of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.get_forms: list[str] = []
        self.post_forms: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if tag == "form" and found.get("action"):
            method = (found.get("method") or "get").lower()
            (self.post_forms if method == "post" else self.get_forms).append(str(found["action"]))


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _in_site(base: str, href: str) -> str | None:
    """The site path (and query) a link leads to; None for other sites, anchors on the same
    page and the language switch (the same page again, in the other language)."""
    if href.startswith("#") or "lang=" in href:
        return None
    target = urlsplit(urljoin(f"http://testserver{base}", href))
    if target.netloc != "testserver":
        return None
    return target.path + (f"?{target.query}" if target.query else "")


def _has_post_route(client: TestClient, path: str) -> bool:
    scope = {"type": "http", "path": path, "method": "POST"}
    return any(route.matches(scope)[0] is Match.FULL for route in app_of(client).routes)


# Pages about one opportunity or proposal, and the administrators' queue: each person's walk
# follows their links as deep as they go.
ABOUT_THE_WORK = re.compile(r"^/(opportunities/\d+|proposals/\d+|admin/attention)(/|\?|$)")


@dataclass
class Walk:
    """What signed-in people find by following the links they are shown. The site's other
    pages they link to (the listing by skill, teams, the navigation) are checked once, for
    whoever is shown them first: they do not depend on the demo's states."""

    client: TestClient
    elsewhere: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def walk(self, who: str, starts: list[str]) -> None:
        seen: set[str] = set()
        queue = deque((start, "the start") for start in starts)
        for _step in range(2000):  # bounded: a person's demo pages are a few dozen
            if not queue:
                return
            path, shown_on = queue.popleft()
            about_the_work = bool(ABOUT_THE_WORK.match(path))
            visited = seen if about_the_work else self.elsewhere
            if path in visited:
                continue
            visited.add(path)
            response = self.client.get(path)
            if response.status_code in BROKEN or response.status_code >= 500:
                self.problems.append(
                    f"{who}: {path} (linked from {shown_on}) answered {response.status_code}"
                )
            elif about_the_work and "html" in response.headers["content-type"]:
                queue.extend((target, path) for target in self._follow(who, path, response.text))
        raise AssertionError(f"{who}: the walk never ended")

    def _follow(self, who: str, path: str, html: str) -> list[str]:
        """Where the page's links and forms lead; a form that posts where no route takes
        it is a problem at once (posting the others would change the demo as we walk it)."""
        page = _parse(html)
        for action in page.post_forms:
            target = _in_site(path, action)
            if target is not None and not _has_post_route(self.client, target.split("?")[0]):
                self.problems.append(f"{who}: a form on {path} posts to {target}: no such page")
        found = (_in_site(path, href) for href in page.links + page.get_forms)
        return [target for target in found if target is not None]


def _personas(db: Session) -> dict[int, tuple[str, list[str]]]:
    """Who is shown each opportunity's links, and where they start: its team's owners,
    finance people and evaluators, its awardee and, once it is public, an administrator,
    who starts at the needs-attention queue too."""
    people: dict[int, tuple[str, list[str]]] = {}

    def add(user: User, role: str, start: str) -> None:
        who, starts = people.get(user.id, (f"@{user.login}", []))
        roles = who.split()[:-1]
        who = " ".join([*roles, role, who.split()[-1]]) if role not in roles else who
        people[user.id] = (who, [*starts, start])

    admin = db.scalars(select(User).where(User.is_admin).order_by(User.id)).first()
    assert admin is not None
    add(admin, "admin", "/admin/attention")
    for opportunity in _opportunities(db):
        start = f"/opportunities/{opportunity.id}"
        for role, user in db.execute(
            select(TeamMembership.role, User)
            .join(User, User.id == TeamMembership.user_id)
            .where(TeamMembership.team_id == opportunity.team_id)
        ).all():
            if role in ("owner", "finance", "evaluator"):
                add(user, role, start)
        found = payments_repository.awardee_of(db, opportunity.id)
        if found is not None:
            add(found[1], "awardee", start)
        if opportunity.published_at is not None:
            add(admin, "admin", start)
    return people


def _opportunities(db: Session) -> list[Opportunity]:
    return list(db.scalars(select(Opportunity).order_by(Opportunity.id)).all())


def _walk_every_demo_opportunity(demo: Demo) -> None:
    people = _personas(demo.db)
    assert len(people) >= 9  # owners and finance, evaluators, developers, an administrator
    walk = Walk(demo.client)
    for user_id, (who, starts) in people.items():
        user = demo.db.get(User, user_id)
        assert user is not None
        demo.client.cookies.clear()
        sign_in(demo.client, user)
        walk.walk(who, list(dict.fromkeys(starts)))
    assert not walk.problems, "\n".join(walk.problems)


def _ranked_first(db: Session, opportunity: Opportunity) -> int:
    rows = evaluations.consensus(db, opportunity)
    assert rows
    assert rows[0].ranked is not None
    assert rows[0].ranked.rank == 1
    return rows[0].proposal.id


def _movements(db: Session, payout: Payout) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for entry in db.scalars(select(LedgerEntry).where(LedgerEntry.payout_id == payout.id)):
        found.setdefault(entry.movement, []).append(entry.amount_cents)
    return found


def _check_the_facts(db: Session) -> None:
    """Awards follow the ranking, and work shown as funded, merged, held or paid has the
    payment and the ledger lines that say so (DESIGN: double entry, each payout sums to 0)."""
    for opportunity in _opportunities(db):
        if opportunity.state not in AWARDED_STATES:
            continue
        award = db.scalars(select(Award).where(Award.opportunity_id == opportunity.id)).first()
        assert award is not None, opportunity.title
        if award.proposal_id != _ranked_first(db, opportunity):
            assert "top-ranked" not in award.reason.lower(), opportunity.title
        if opportunity.state not in FUNDED_STATES:
            continue
        payout = payments_repository.payout_for(db, opportunity.id)
        winning = db.get(Proposal, award.proposal_id)
        assert payout is not None, opportunity.title
        assert winning is not None
        # The contract is the winning bid, which may be below the opportunity's budget.
        assert payout.amount_cents == winning.price_cents, opportunity.title
        assert payout.charge_id, opportunity.title
        assert payout.funded_at is not None
        movements = _movements(db, payout)
        assert sorted(movements["funding"]) == [-payout.amount_cents, payout.amount_cents]
        assert payments_repository.ledger_balance(db, payout.id) == 0
        if opportunity.state == "paid":
            assert payout.state == "paid", opportunity.title
            assert sum(c for c in movements["release"] if c > 0) == payout.amount_cents
        else:
            assert payout.state == "funded", opportunity.title
            assert "release" not in movements, opportunity.title


def _finance_of(db: Session, opportunity: Opportunity, role: str = "finance") -> User:
    finance = db.scalars(
        select(User)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .where(TeamMembership.team_id == opportunity.team_id, TeamMembership.role == role)
    ).first()
    assert finance is not None, opportunity.title
    return finance


def _check_the_payment_records(demo: Demo) -> None:
    """The printable record of paid work, for the team's finance people, the developer who
    was paid and the administrators (the developer is not shown the page's link)."""
    db = demo.db
    admin = _admins(db)[0]
    paid = [o for o in _opportunities(db) if o.state == "paid"]
    assert paid
    for opportunity in paid:
        found = payments_repository.awardee_of(db, opportunity.id)
        assert found is not None
        for person in (_finance_of(db, opportunity), found[1], admin):
            demo.client.cookies.clear()
            sign_in(demo.client, person)
            record = demo.client.get(f"/opportunities/{opportunity.id}/payment-record")
            assert record.status_code == 200, (opportunity.title, person.login)
            if person is not found[1]:
                trail = demo.client.get(f"/opportunities/{opportunity.id}/money").text
                assert "Nothing has been funded" not in trail, opportunity.title


def test_every_demo_state_has_its_facts_and_every_link_shown_leads_somewhere(
    demo: Demo,
) -> None:
    _check_the_facts(demo.db)
    _check_the_payment_records(demo)
    _walk_every_demo_opportunity(demo)


def _admins(db: Session) -> list[User]:
    return list(db.scalars(select(User).where(User.is_admin).order_by(User.id)).all())


def _release_held_payments(demo: Demo) -> None:
    """Each held payment lists its reasons in the queue; one administrator approves its
    release, a second confirms it, and the worker's jobs pay it."""
    db = demo.db
    held = [o for o in _opportunities(db) if o.state == "on_hold"]
    assert held
    first, second = _admins(db)[:2]
    demo.client.cookies.clear()
    sign_in(demo.client, first)
    queue = demo.client.get("/admin/attention").text
    for opportunity in held:
        card = queue.split(f'id="held-{opportunity.id}"', 1)[1].split("</article>", 1)[0]
        reasons = card.split("<ul>", 1)[1].split("</ul>", 1)[0]
        assert f"<li>{SELF_MERGE}</li>" in reasons, opportunity.title
    for opportunity in held:
        for admin in (first, second):
            demo.client.cookies.clear()
            sign_in(demo.client, admin)
            release = f"/admin/attention/{opportunity.id}/release"
            response = post_form(demo.client, release, {}, "/admin/attention")
            assert response.status_code == 303, response.text
        db.expire_all()
        payout = payments_repository.payout_for(db, opportunity.id)
        assert payout is not None
        assert payout.state == "releasing", opportunity.title
    jobs.run_periodic_jobs_once(demo.sessions, demo.settings)
    db.expire_all()
    for opportunity in held:
        db.refresh(opportunity)
        payout = payments_repository.payout_for(db, opportunity.id)
        assert payout is not None
        assert (opportunity.state, payout.state) == ("paid", "paid"), opportunity.title
        assert payments_repository.ledger_balance(db, payout.id) == 0


def _fund_awarded_work(demo: Demo) -> None:
    """The team's approver signs off the awarded price; then the finance person's "Fund this
    work" leads to the simulated checkout; paying there funds the work, which starts if its
    developer has accepted the contract."""
    db = demo.db
    awarded = [o for o in _opportunities(db) if o.state == "awarded"]
    assert awarded
    for opportunity in awarded:
        funding = f"/opportunities/{opportunity.id}/funding"
        demo.client.cookies.clear()
        sign_in(demo.client, _finance_of(db, opportunity, "approver"))
        signed = post_form(demo.client, f"{funding}/sign-off", {}, funding)
        assert signed.status_code == 303, signed.text
        demo.client.cookies.clear()
        sign_in(demo.client, _finance_of(db, opportunity))
        started = post_form(demo.client, funding, {}, funding)
        assert started.status_code == 303, started.text
        checkout = urlsplit(started.headers["location"]).path
        assert demo.client.get(checkout).status_code == 200
        assert post_form(demo.client, checkout, {}, checkout).status_code == 303
        db.expire_all()
        payout = payments_repository.payout_for(db, opportunity.id)
        assert payout is not None
        assert payout.state == "funded", opportunity.title
        award = db.scalars(select(Award).where(Award.opportunity_id == opportunity.id)).one()
        db.refresh(opportunity)
        expected = "in_progress" if award.accepted_at else "awarded"
        assert opportunity.state == expected, opportunity.title


def test_money_waiting_on_people_in_the_demo_moves_when_they_act(demo: Demo) -> None:
    _release_held_payments(demo)
    _fund_awarded_work(demo)
