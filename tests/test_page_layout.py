"""Issue 14, defect 11, what the pages say: a sentence instead of an empty table, the proposal
page's wording after the deadline, the audit trail in words, and a word count that does not talk
over the typing. The spacing itself is measured in a browser: tests/e2e/test_layout.py."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.admin.labels import ACTION_LABELS, TRANSITION_ACTIONS
from app.audit import service as audit
from app.models import Award, Payout
from app.models.base import utcnow
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user
from tests.support.web import sign_in

APP = Path(__file__).resolve().parents[1] / "app"


def test_no_tokens_is_a_sentence_not_an_empty_table(client: TestClient, db: Session) -> None:
    person = make_user(db)
    db.commit()
    sign_in(client, person)
    html = client.get("/account/tokens").text
    assert "No tokens yet." in html
    assert "<table" not in html


def test_no_proposal_to_rank_is_a_sentence_not_an_empty_table(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner", "evaluator"]})
    opp = make_opportunity(
        db, team, state="evaluating", proposal_deadline=utcnow() - timedelta(hours=1)
    )
    db.commit()
    sign_in(client, owner)
    html = client.get(f"/opportunities/{opp.id}/evaluation").text
    assert "No proposal to rank." in html
    assert "<table" not in html


def _proposal_page(client: TestClient, db: Session, *, deadline_passed: bool) -> str:
    team = make_team(db)
    developer = make_user(db)
    when = utcnow() + (timedelta(hours=-1) if deadline_passed else timedelta(days=3))
    state = "evaluating" if deadline_passed else "published"
    opp = make_opportunity(db, team, state=state, proposal_deadline=when)
    make_proposal(db, opp, developer, state="under_evaluation" if deadline_passed else "submitted")
    db.commit()
    sign_in(client, developer)
    response = client.get(f"/opportunities/{opp.id}/proposal")
    assert response.status_code == 200
    return response.text


def test_after_the_deadline_the_proposal_page_no_longer_offers_changes(
    client: TestClient, db: Session
) -> None:
    html = _proposal_page(client, db, deadline_passed=True)
    assert "you can change or withdraw it" not in html
    assert "yours can no longer be changed or withdrawn" in html
    assert "Withdraw my proposal" not in html


def test_before_the_deadline_the_proposal_page_says_it_can_change(
    client: TestClient, db: Session
) -> None:
    html = _proposal_page(client, db, deadline_passed=False)
    assert "you can change or withdraw it" in html
    assert "Withdraw my proposal" in html


def test_the_word_count_is_not_announced_on_every_keystroke(
    client: TestClient, db: Session
) -> None:
    html = _proposal_page(client, db, deadline_passed=False)
    count = re.search(r'<p [^>]*data-word-count-for="field-approach"[^>]*>', html)
    assert count, "the visible word count is on the page"
    assert "aria-live" not in count.group(0)  # it changes with every key
    status_id = re.search(r'data-word-count-status="([^"]+)"', count.group(0))
    assert status_id
    status = re.search(rf'<p [^>]*id="{status_id.group(1)}"[^>]*>', html)
    assert status
    assert 'aria-live="polite"' in status.group(0)  # fed by the script at pauses


def test_the_audit_trail_names_people_actions_and_subjects(client: TestClient, db: Session) -> None:
    admin = make_user(db, is_admin=True, login="ada-admin", name="Ada Admin")
    team = make_team(db, name="Forms Team", slug="forms-team")
    editor = make_user(db, login="eddie", name="Eddie Editor", roles={team: ["editor"]})
    opp = make_opportunity(db, team, title="Fix focus loss")
    proposal = make_proposal(db, opp, make_user(db))
    award = Award(opportunity_id=opp.id, proposal_id=proposal.id, reason="", accept_by=utcnow())
    db.add(award)
    db.flush()
    payout = Payout(award_id=award.id, opportunity_id=opp.id, amount_cents=100_000, currency="CAD")
    db.add(payout)
    db.flush()
    for action, subject_type, subject_id, to_state in (
        ("opportunity.create", "opportunity", opp.id, None),
        ("opportunity.transition", "opportunity", opp.id, "published"),
        ("proposal.transition", "proposal", proposal.id, "submitted"),
        ("payout.refund_requested", "payout", payout.id, None),
        ("team.invitation_sent", "team", team.id, None),
    ):
        audit.record(
            db,
            actor_user_id=editor.id,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            to_state=to_state,
        )
    db.commit()
    sign_in(client, admin)

    html = client.get("/admin?lang=en").text
    trail = html[html.index("Audit trail") :]
    for words in (
        "Created the draft",
        "Opportunity moved to “open for proposals”",
        "Proposal moved to “submitted”",
        "Asked for a refund to the team",
        "Sent an invitation",
        "Signed in",  # the administrator's own sign-in, recorded by the app
        "Eddie Editor (@eddie)",
        "Ada Admin (@ada-admin)",
        f'<a href="/opportunities/{opp.id}">Fix focus loss</a>',
        f'Proposal {proposal.id}: <a href="/opportunities/{opp.id}">Fix focus loss</a>',
        f'Payment: <a href="/opportunities/{opp.id}/money">Fix focus loss</a>',
        '<a href="/teams/forms-team">Forms Team</a>',
    ):
        assert words in trail, words
    for code in ("opportunity.create", "proposal.transition", "account.sign_in", "published"):
        assert code not in trail, code

    french = unescape(client.get("/admin?lang=fr").text)
    assert "Occasion passée à « ouverte aux propositions »" in french
    assert "A créé l'ébauche" in french
    # The English title on a French page says it is English.
    assert f'<a href="/opportunities/{opp.id}" lang="en">Fix focus loss</a>' in french


def _recorded_actions() -> set[str]:
    """Every audit action the code can record: the literal codes, and `<subject>.transition`
    for each kind of row the guarded transition moves."""
    pattern = re.compile(
        r'"((?:account|team|opportunity|proposal|review|evaluation|award|payout|payout_account|claim)'
        r'\.[a-z_]+)"'
    )
    source = "\n".join(p.read_text() for p in APP.rglob("*.py") if p.name != "labels.py")
    found = set(pattern.findall(source))
    transitions = re.findall(r'subject_type="([a-z_]+)",\s*refused=', source)
    found |= {f"{kind}.transition" for kind in transitions}
    # Not an audit action: a Stripe event we react to has a name of the same shape.
    return found - {"account.updated"}


def test_every_recorded_action_has_words_for_people() -> None:
    missing = _recorded_actions() - set(ACTION_LABELS) - TRANSITION_ACTIONS
    assert not missing, f"add these to app/admin/labels.py: {sorted(missing)}"
