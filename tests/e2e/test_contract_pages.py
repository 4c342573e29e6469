"""The contract's pages, in English and French, checked by axe-core: the awardee's delivery page
(check-ins) and co-authors page (with a mistake explained), the owner's view of the contract
and the team's delivery setting."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from app.config import Settings
from tests.e2e.conftest import check, sign_in_as
from tests.support.factories import make_user
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe
from tests.support.pay_on_pull import in_progress_work


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_contract_pages_read_well_for_the_awardee_and_the_owner(
    page: Page,
    live_server: str,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    lang: str,
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    oid = work.opportunity_id

    sign_in_as(page, live_server, work.developer.name or "", lang)
    page.goto(f"{live_server}/opportunities/{oid}/delivery")
    check(page, f"{lang}-contract-awardee")
    page.goto(f"{live_server}/opportunities/{oid}/co-authors")
    check(page, f"{lang}-co-authors")
    page.locator("#field-co_authors").fill("nobody-here 10")
    page.locator('main form button[type="submit"]').click()
    expect(page.get_by_role("alert")).to_be_visible()
    check(page, f"{lang}-co-authors-errors")

    sign_in_as(page, live_server, work.owner.name or "", lang)
    page.goto(f"{live_server}/opportunities/{oid}/delivery")
    check(page, f"{lang}-contract-owner")
    page.goto(f"{live_server}/teams/{work.team.slug}/settings/delivery")
    check(page, f"{lang}-team-delivery-settings")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_claim_reads_well_for_its_sides_and_the_administrators(
    page: Page,
    live_server: str,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    lang: str,
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    admin = make_user(db, is_admin=True, name="Ada Admin", terms_version="2026-11")
    db.commit()
    claims = f"{live_server}/opportunities/{work.opportunity_id}/claims"

    sign_in_as(page, live_server, work.owner.name or "", lang)
    page.goto(claims)
    check(page, f"{lang}-claims-empty")
    page.locator('main form button[type="submit"]').click()  # no reason: explained
    expect(page.get_by_role("alert")).to_be_visible()
    check(page, f"{lang}-claims-errors")
    page.locator("#field-reason").fill("The pull request was merged without the tests we asked.")
    page.locator('main form button[type="submit"]').click()
    check(page, f"{lang}-claims-open")

    sign_in_as(page, live_server, work.developer.name or "", lang)
    page.goto(claims)
    check(page, f"{lang}-claims-awardee")

    sign_in_as(page, live_server, admin.name or "", lang)
    page.goto(f"{live_server}/admin/attention")
    page.locator('main a[href^="/admin/claims/"]').first.click()
    check(page, f"{lang}-claim-review")
