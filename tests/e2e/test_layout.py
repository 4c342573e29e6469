"""Issue 14, defect 11, measured in a browser: buttons, choices and hints have room around them
(GOV.UK Frontend's spacing: no two targets touch), at a phone's width and a desktop's; and the
word count speaks to screen readers only when typing pauses or the limit is crossed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import FloatRect, Locator, Page, expect
from sqlalchemy.orm import Session

from tests.e2e.conftest import check, sign_in_as
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user

TERMS = "2026-11"
MIN_GAP = 8  # px between two targets, whichever way they are laid out
WIDTHS = [320, 1280]


def _box(locator: Locator) -> FloatRect:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not shown"
    return box


def gap(first: Locator, second: Locator) -> float:
    """The room between two boxes, stacked or side by side; negative when they overlap."""
    a, b = _box(first), _box(second)
    vertical = max(b["y"] - (a["y"] + a["height"]), a["y"] - (b["y"] + b["height"]))
    horizontal = max(b["x"] - (a["x"] + a["width"]), a["x"] - (b["x"] + b["width"]))
    return max(vertical, horizontal)


def assert_apart(*targets: Locator) -> None:
    for i, first in enumerate(targets):
        for second in targets[i + 1 :]:
            assert gap(first, second) >= MIN_GAP, f"{first} touches {second}"


def _developer_with_a_draft(db: Session) -> int:
    team = make_team(db)
    opp = make_opportunity(db, team, state="published", amount_cents=500_000)
    sam = make_user(db, name="Sam Developer", terms_version=TERMS)
    make_proposal(db, opp, sam, state="draft", submitted_at=None)
    db.commit()
    return opp.id


@pytest.mark.parametrize("width", WIDTHS)
def test_proposal_buttons_have_room(page: Page, live_server: str, db: Session, width: int) -> None:
    opportunity_id = _developer_with_a_draft(db)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(page, live_server, "Sam Developer")
    page.goto(f"{live_server}/opportunities/{opportunity_id}/proposal")
    assert_apart(
        page.locator('button[value="submit"]'),
        page.locator('button[value="save"]'),
        page.locator('form[action$="/proposal/withdraw"] button'),
    )
    # The two checkboxes are separate targets, each label beside its own box.
    assert_apart(page.locator("#field-accept_terms"), page.locator("#field-attest_eligibility"))
    check(page, f"layout-proposal-{width}")


def test_choices_are_spaced_and_a_hint_sits_under_its_label(
    page: Page, live_server: str, db: Session
) -> None:
    team = make_team(db, slug="forms")
    make_user(db, name="Olivia Owner", roles={team: ["owner"]}, terms_version=TERMS)
    make_user(db, name="Eddie Editor", roles={team: ["editor"]}, terms_version=TERMS)
    db.commit()

    page.goto(f"{live_server}/demo-sign-in")
    radios = page.locator("main .check")
    assert radios.count() >= 2
    for i in range(radios.count() - 1):
        assert gap(radios.nth(i), radios.nth(i + 1)) >= MIN_GAP
    check(page, "layout-demo-sign-in")

    sign_in_as(page, live_server, "Eddie Editor")
    page.goto(f"{live_server}/teams/forms/opportunities/new")
    label = _box(page.locator('label[for="field-require_passing_checks"]'))
    hint = _box(page.locator("#hint-require_passing_checks"))
    assert hint["y"] >= label["y"] + label["height"] - 1, "the hint is under the label"
    assert abs(hint["x"] - label["x"]) <= 1, "the hint lines up with the label"
    assert_apart(page.locator("#field-remote"), page.locator("#field-require_passing_checks"))
    check(page, "layout-opportunity-form")


@pytest.mark.parametrize("width", WIDTHS)
def test_team_members_buttons_have_room(
    page: Page, live_server: str, db: Session, width: int
) -> None:
    team = make_team(db, slug="forms")
    make_user(db, name="Olivia Owner", roles={team: ["owner"]}, terms_version=TERMS)
    db.commit()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(page, live_server, "Olivia Owner")
    page.goto(f"{live_server}/teams/forms/members")
    assert_apart(
        page.locator('form[action$="/invitations"] button'),
        page.locator('form[action$="/leave"] button'),
    )
    roles = page.locator("main form.card .check")
    for i in range(roles.count() - 1):
        assert gap(roles.nth(i), roles.nth(i + 1)) >= MIN_GAP
    check(page, f"layout-members-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_needs_attention_actions_do_not_run_together(
    page: Page, live_server: str, db: Session, width: int
) -> None:
    team = make_team(db)
    held = make_opportunity(db, team, state="on_hold", title="Held work")
    make_user(db, name="Ada Admin", is_admin=True, terms_version=TERMS)
    db.commit()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(page, live_server, "Ada Admin")
    page.goto(f"{live_server}/admin/attention")
    actions = f"/admin/attention/{held.id}"
    reason = page.locator(f"#reason-{held.id}")
    assert_apart(
        page.locator(f'form[action="{actions}/release"] button'),
        page.locator(f'form[action="{actions}/dismiss"] button'),
        reason,
        page.locator(f'form[action="{actions}/refund"] button'),
    )
    label = _box(page.locator(f'label[for="reason-{held.id}"]'))
    assert _box(reason)["y"] >= label["y"] + label["height"] - 1, "the label is above its field"
    check(page, f"layout-attention-{width}")


def test_the_word_count_speaks_after_a_pause_or_at_the_limit(
    page: Page, live_server: str, db: Session
) -> None:
    opportunity_id = _developer_with_a_draft(db)
    sign_in_as(page, live_server, "Sam Developer")
    # The pause is measured on the page's clock, which stands still unless the test moves it.
    start = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
    page.clock.install(time=start)
    page.clock.pause_at(start + timedelta(seconds=1))
    page.goto(f"{live_server}/opportunities/{opportunity_id}/proposal")
    approach = page.locator("#field-approach")
    shown = page.locator("#approach-count")
    status = page.locator("#approach-count-status")
    expect(status).to_have_attribute("aria-live", "polite")
    assert shown.get_attribute("aria-live") is None

    approach.fill("")
    approach.press_sequentially("One two three")
    expect(shown).to_have_text("3 of 400 words")
    expect(status).to_have_text("")  # nothing said while typing
    page.clock.run_for(500)
    approach.press_sequentially(" four")
    page.clock.run_for(1000)
    expect(status).to_have_text("")  # still typing: each key restarts the pause
    page.clock.run_for(600)
    expect(status).to_have_text("4 of 400 words")

    approach.fill("word " * 401)  # crossing the limit is said at once
    expect(status).to_have_text("401 of 400 words")
    page.clock.resume()  # axe-core waits on timers of its own
    check(page, "layout-word-count")
