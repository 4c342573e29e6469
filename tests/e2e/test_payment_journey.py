"""Journey 4, in English and in French, with axe-core on every page: the developer accepts and
sets up payouts, finance funds, a (simulated) merged pull request, and the work is paid.

It runs the way `make run` does: local mode, no Stripe keys (the simulated gateway), jobs in
the web process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Award, Opportunity
from app.models.base import utcnow
from tests.e2e.conftest import check, local_mode_server, sign_in_as
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user


@pytest.fixture
def local_server(settings: Settings, engine: object) -> Iterator[str]:
    server, _local = local_mode_server(settings)
    yield server.url
    server.stop()


def _awarded(db: Session) -> int:
    team = make_team(db, slug="notify")
    make_user(db, name="Olivia Owner", roles={team: ["owner"]}, terms_version="2026-11")
    make_user(db, name="Fiona Finance", roles={team: ["finance"]}, terms_version="2026-11")
    make_user(db, name="Abe Approver", roles={team: ["approver"]}, terms_version="2026-11")
    developer = make_user(db, login="dana-dev", name="Dana Developer", terms_version="2026-11")
    opportunity = make_opportunity(db, team, state="awarded", title="Bounce handling")
    proposal = make_proposal(db, opportunity, developer, state="awarded")
    db.add(
        Award(
            opportunity_id=opportunity.id,
            proposal_id=proposal.id,
            reason="Top-ranked proposal.",
            accept_by=utcnow() + timedelta(days=5),
        )
    )
    db.commit()
    return opportunity.id


def _state(db: Session, opportunity_id: int) -> str:
    db.expire_all()
    found = db.get(Opportunity, opportunity_id)
    assert found is not None
    return found.state


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_finance_funds_a_merge_is_simulated_and_the_work_is_paid(
    page: Page, local_server: str, db: Session, lang: str
) -> None:
    oid = _awarded(db)
    base = local_server

    sign_in_as(page, base, "Dana Developer", lang)
    page.goto(f"{base}/opportunities/{oid}/proposal")
    check(page, f"{lang}-award-to-accept")
    page.locator('form[action$="/award/accept"] button').click()
    page.locator('main a[href="/account/payouts"]').click()
    check(page, f"{lang}-payout-account")
    page.locator('form[action="/account/payouts/connect"] button').click()
    expect(page.locator(".badge.state-paid")).to_be_visible()
    check(page, f"{lang}-payout-account-ready")

    # The team's approver signs off the awarded price first (issue 16).
    sign_in_as(page, base, "Abe Approver", lang)
    page.goto(f"{base}/opportunities/{oid}/funding")
    check(page, f"{lang}-funding-sign-off")
    page.locator(f'form[action="/opportunities/{oid}/funding/sign-off"] button').click()

    sign_in_as(page, base, "Fiona Finance", lang)
    page.goto(f"{base}/opportunities/{oid}")
    page.locator(f'main a[href="/opportunities/{oid}/funding"]').click()
    check(page, f"{lang}-funding")
    page.locator(f'form[action="/opportunities/{oid}/funding"] button').click()
    check(page, f"{lang}-simulated-checkout")
    page.locator("main form button").click()
    check(page, f"{lang}-funded")
    assert _state(db, oid) == "in_progress"

    sign_in_as(page, base, "Olivia Owner", lang)
    page.goto(f"{base}/opportunities/{oid}")
    page.locator('form[action$="/simulate-merge"] button').click()
    check(page, f"{lang}-merge-recorded")
    deadline = time.monotonic() + 30
    while _state(db, oid) != "paid":  # the in-process worker releases the payment
        assert time.monotonic() < deadline, f"not paid: {_state(db, oid)}"
        time.sleep(0.2)
    page.goto(f"{base}/opportunities/{oid}")
    expect(page.locator(".badge.state-paid")).to_be_visible()
    check(page, f"{lang}-paid")

    sign_in_as(page, base, "Fiona Finance", lang)
    page.goto(f"{base}/opportunities/{oid}/money")
    check(page, f"{lang}-money-trail")
    page.locator(f'main a[href="/opportunities/{oid}/payment-record"]').click()
    expect(page.locator("main")).to_contain_text("dana-dev")
    check(page, f"{lang}-payment-record")
    # Made to be printed: on paper the record and its ledger stay, the site's chrome goes.
    page.emulate_media(media="print")
    expect(page.locator(".record")).to_be_visible()
    expect(page.locator("main table")).to_be_visible()
    expect(page.locator(".site-footer")).to_be_hidden()
    expect(page.locator(".site-header nav")).to_be_hidden()
    page.emulate_media(media="screen")
    # 400 % zoom of a 1280 px window (WCAG 1.4.10): everything reflows into 320 px.
    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.set_viewport_size({"width": 1280, "height": 900})
