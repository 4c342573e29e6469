"""Issue 16, shared payouts: the awardee names co-authors with percentage shares before the
merge; at release each share is a transfer of its own to that person's payout account, the
shares add up to the contract to the cent, and the merge must come from one of them and be
merged by nobody among them. (1,000 duplicate deliveries of a shared payout: the storm test in
tests/test_exactly_once.py, "three shares".)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import PayoutTransfer
from app.payments.service import split_cents
from tests.support.factories import make_user
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe, deliver
from tests.support.pay_on_pull import (
    BID,
    PULL,
    REPO,
    Work,
    add_co_authors,
    api_pull,
    connect_payouts,
    delivery_headers,
    in_progress_work,
    ledger_balance,
    merged_payload,
    opportunity_of,
    payout_of,
    run_jobs,
)
from tests.support.web import app_of, post_form, sign_in


@st.composite
def _shares(draw: st.DrawFn) -> list[int]:
    """Two to ten shares in basis points, each at least 0.01 %, summing to 100 %."""
    count = draw(st.integers(2, 10))
    cuts = sorted(draw(st.sets(st.integers(1, 9_999), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 10_000]
    return [high - low for low, high in pairwise(bounds)]


@given(total=st.integers(1, 999_900), shares=_shares())
def test_shares_add_up_to_the_cent_and_each_is_within_a_cent_of_its_exact_part(
    total: int, shares: list[int]
) -> None:
    amounts = split_cents(total, shares)
    assert sum(amounts) == total
    for amount, points in zip(amounts, shares, strict=True):
        exact = Fraction(total * points, 10_000)
        assert exact - 1 < amount < exact + 1


def test_the_documented_rounding_gives_the_leftover_cent_to_the_largest_fraction_then_first() -> (
    None
):
    # 100 cents in three equal thirds (33.33 / 33.33 / 33.34 %): 33.33, 33.33, 33.34 cents.
    assert split_cents(100, [3_334, 3_333, 3_333]) == [34, 33, 33]
    # 10 cents in 3 equal-ish parts: fractions .34 .33 .33 → the first gets the extra cent.
    assert split_cents(10, [3_334, 3_333, 3_333]) == [4, 3, 3]
    # Equal fractions: the earlier share (the awardee's) first.
    assert split_cents(1, [5_000, 5_000]) == [1, 0]


@dataclass
class Scene:
    """Work in progress (awarded, accepted, funded) and what the tests drive it with."""

    client: TestClient
    db: Session
    settings: Settings
    fake_stripe: FakeStripe
    fake_github: FakeGitHub
    work: Work

    def __iter__(self) -> Iterator[Any]:
        """Unpacked in this order (a shallow tuple: the same client and session)."""
        return iter(
            (self.client, self.db, self.settings, self.fake_stripe, self.fake_github, self.work)
        )


@pytest.fixture
def scene(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> Scene:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    return Scene(client, db, settings, fake_stripe, fake_github, work)


def _jobs(client: TestClient, settings: Settings) -> None:
    run_jobs(app_of(client).state.session_factory, settings, 2)


def _merge(client: TestClient, fake_github: FakeGitHub, **pull: object) -> None:
    fake_github.pulls[(REPO, PULL)] = api_pull(**pull)
    body = merged_payload()
    assert client.post("/webhooks/github", content=body, headers=delivery_headers(body)).is_success


def _page(work: Work) -> str:
    return f"/opportunities/{work.opportunity_id}/co-authors"


def test_the_awardee_names_co_authors_on_a_page_and_each_is_paid_their_share(scene: Scene) -> None:
    client, db, settings, fake_stripe, fake_github, work = scene
    ana = make_user(db, github_id=7001, login="ana")
    ben = make_user(db, github_id=7002, login="ben")
    db.commit()
    for person in (ana, ben):  # each sets up payouts; Stripe tells us
        assert deliver(client, connect_payouts(db, settings, fake_stripe, person)).is_success
    _jobs(client, settings)

    sign_in(client, work.developer)
    page = client.get(_page(work))
    assert page.status_code == 200
    saved = post_form(client, _page(work), {"co_authors": "@ana 25\n7002 12,5 %"}, _page(work))
    assert saved.status_code == 303
    shown = client.get(saved.headers["location"]).text
    assert "@ana: 25 %" in shown
    assert "@ben: 12.50 %" in shown
    assert "62.50 %" in shown  # what the awardee keeps

    _merge(client, fake_github, user={"id": 7001, "login": "ana"})  # a co-author opened it
    _jobs(client, settings)
    paid = {
        t["destination"]: int(t["amount"]) for t in fake_stripe.transfers.values()
    }  # 240,000 cents: 25 % = 60,000; 12.5 % = 30,000; the rest 150,000
    assert sorted(paid.values()) == [30_000, 60_000, 150_000]
    assert sum(paid.values()) == BID
    _jobs(client, settings)  # no transfer event came: the worker asks Stripe instead
    assert payout_of(db, work).state == "paid"
    assert opportunity_of(db, work).state == "paid"
    assert ledger_balance(db, work) == 0
    rows = db.scalars(select(PayoutTransfer).order_by(PayoutTransfer.id)).all()
    assert [(r.basis_points, r.amount_cents, r.state) for r in rows] == [
        (6_250, 150_000, "confirmed"),
        (2_500, 60_000, "confirmed"),
        (1_250, 30_000, "confirmed"),
    ]


def test_mistakes_in_the_list_are_explained_and_nothing_is_saved(scene: Scene) -> None:
    client, db, _settings, _stripe, _github, work = scene
    make_user(db, github_id=7001, login="ana")
    db.commit()
    sign_in(client, work.developer)
    cases = {
        "ana": "Line 1: write a GitHub username or id",
        "nobody 10": "Line 1: nobody has no Dev Exchange account",
        "awardee 10": "Line 1: you keep the rest yourself",
        f"{work.owner.login} 10": "is in the team that posted the work",
        "ana 60\nana 20": "Name each co-author once",
        "ana 100": "Line 1: write a GitHub username or id",
        "ana 99.999": "Line 1: write a GitHub username or id",
    }
    for text, message in cases.items():
        refused = post_form(client, _page(work), {"co_authors": text}, _page(work))
        assert refused.status_code == 422, text
        assert message in refused.text, text
        assert 'href="#field-co_authors"' in refused.text
    db.expire_all()
    assert payout_of(db, work).state == "funded"
    assert client.get(_page(work)).text.count("@ana") == 0


def test_only_the_awardee_and_only_before_the_merge(scene: Scene) -> None:
    client, db, settings, fake_stripe, fake_github, work = scene
    make_user(db, github_id=7001, login="ana")
    stranger = make_user(db, github_id=7003, login="stranger")
    db.commit()
    sign_in(client, stranger)
    assert client.get(_page(work)).status_code == 404
    assert post_form(client, _page(work), {"co_authors": "ana 10"}, "/").status_code == 404

    sign_in(client, work.developer)
    _merge(client, fake_github)
    _jobs(client, settings)
    late = post_form(client, _page(work), {"co_authors": "ana 10"}, _page(work))
    assert late.status_code == 409
    assert len(fake_stripe.transfers) == 1


def test_a_merge_by_a_co_author_or_by_someone_outside_the_shares_is_held(scene: Scene) -> None:
    client, db, settings, fake_stripe, fake_github, work = scene
    add_co_authors(db, settings, fake_stripe, work, {7001: "20"})
    _merge(client, fake_github, user={"id": 5001, "login": "awardee"}, merged_by={"id": 7001})
    _jobs(client, settings)
    assert opportunity_of(db, work).state == "on_hold"
    assert fake_stripe.transfers == {}


def test_a_co_author_who_cannot_receive_payouts_holds_the_release(scene: Scene) -> None:
    client, db, settings, fake_stripe, fake_github, work = scene
    ana = make_user(db, github_id=7001, login="ana")
    db.commit()
    sign_in(client, work.developer)
    assert post_form(client, _page(work), {"co_authors": "ana 50"}, _page(work)).status_code == 303
    assert ana.id
    _merge(client, fake_github)
    _jobs(client, settings)
    assert opportunity_of(db, work).state == "on_hold"
    assert fake_stripe.transfers == {}
    assert ledger_balance(db, work) == 0
