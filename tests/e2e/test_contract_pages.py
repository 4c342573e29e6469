"""The contract's pages, in English and French, checked by axe-core: the awardee's delivery page
(check-ins) and co-authors page (with a mistake explained), the owner's view of the contract
and the team's delivery setting."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from app.config import Settings
from tests.e2e.conftest import check, sign_in_as
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
