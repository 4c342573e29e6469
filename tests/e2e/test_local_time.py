"""Times are shown in the reader's own time zone once the page's script runs (issue 14, defect 2:
the script threw on every page, so readers always saw the platform's zone)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from tests.support.factories import make_opportunity, make_team

# 00:30 UTC on 16 January is still the 15th, 6:30 p.m. Central Standard Time, in Regina (no
# daylight saving time there), and 7:30 p.m. in the platform's zone (Toronto), which the server
# writes without the script.
DEADLINE = datetime(2027, 1, 16, 0, 30, tzinfo=UTC)
SHOWN = {
    "en": ("January 15, 2027", "6:30", "CST"),
    "fr": ("15 janvier 2027", "18 h 30", "HNC"),
}


@pytest.fixture
def context_options() -> dict[str, Any]:
    return {"viewport": {"width": 1280, "height": 900}, "timezone_id": "America/Regina"}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_deadline_is_shown_in_the_readers_time_zone(
    page: Page, live_server: str, db: Session, lang: str
) -> None:
    team = make_team(db)
    opp = make_opportunity(db, team, state="published", proposal_deadline=DEADLINE)
    db.commit()

    page.goto(f"{live_server}/opportunities/{opp.id}?lang={lang}")
    deadline = page.locator(f'time[datetime^="{DEADLINE:%Y-%m-%d}"]')
    for part in SHOWN[lang]:
        expect(deadline).to_contain_text(part)
