"""Issue 5, done means 4: every notification once per event, to the right people, in their
language; a failing mail server delays delivery and loses nothing; one-click unsubscribe."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.models import Notification, User
from app.models.base import utcnow
from app.notifications.service import notify
from app.notifications.tasks import deliver_pending
from app.opportunities import service as opportunities
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user
from tests.support.smtp import SmtpServer
from tests.support.web import post_form, sign_in

FORM = {
    "approach": "Plan",
    "price": "1000",
    "accept_terms": "on",
    "attest_eligibility": "on",
    "action": "submit",
}


def _notes(db: Session, kind: str | None = None) -> list[tuple[int, str, str]]:
    db.expire_all()
    query = select(Notification).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return [(n.user_id, n.kind, n.subject) for n in db.scalars(query)]


def test_proposal_received_goes_once_to_owners_and_evaluators(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]}, preferred_locale="fr")
    evaluator = make_user(db, roles={team: ["evaluator"]})
    make_user(db, roles={team: ["editor", "finance"]})
    developer = make_user(db)
    opp = make_opportunity(db, team, state="published", title="Forms")
    db.commit()
    sign_in(client, developer)
    url = f"/opportunities/{opp.id}/proposal"
    assert post_form(client, url, FORM).status_code == 303
    assert post_form(client, url, {**FORM, "price": "900"}).status_code == 303  # an edit
    assert _notes(db) == [
        (owner.id, "proposal_received", "Nouvelle proposition pour Forms"),
        (evaluator.id, "proposal_received", "New proposal for Forms"),
    ]


def test_deadline_award_and_outcome_notifications(
    client: TestClient, db: Session, settings: Settings
) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]})
    evaluator = make_user(db, roles={team: ["evaluator"]})
    winner, loser = make_user(db), make_user(db, preferred_locale="fr")
    opp = make_opportunity(
        db,
        team,
        state="published",
        title="Forms",
        proposal_deadline=utcnow() - timedelta(seconds=1),
    )
    good = make_proposal(db, opp, winner, price_cents=1000)
    other = make_proposal(db, opp, loser, price_cents=2000)
    db.commit()
    opportunities.close_past_deadlines(db, utcnow())
    opportunities.close_past_deadlines(db, utcnow())  # twice: still one notification
    db.commit()
    assert [n[:2] for n in _notes(db, "deadline_passed")] == [(evaluator.id, "deadline_passed")]

    sign_in(client, evaluator)
    post_form(client, f"/opportunities/{opp.id}/evaluation/declaration", {"conflict": "no"})
    for proposal in (good.id, other.id):
        post_form(
            client,
            f"/proposals/{proposal}/evaluation",
            {
                "score_understanding": "4",
                "score_approach": "4",
                "score_experience": "4",
                "action": "submit",
            },
        )
    sign_in(client, owner)
    assert (
        post_form(client, f"/opportunities/{opp.id}/award", {"proposal": str(good.id)}).status_code
        == 303
    )
    assert _notes(db, "awarded") == [(winner.id, "awarded", "Your proposal was awarded: Forms")]
    assert _notes(db, "not_awarded") == [(loser.id, "not_awarded", "Résultat pour Forms")]


def test_answers_and_addenda_reach_the_asker_and_the_bidders(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    asker, drafting, submitted = make_user(db), make_user(db), make_user(db)
    opp = make_opportunity(db, team, state="published", title="Forms")
    make_proposal(db, opp, drafting, state="draft")
    make_proposal(db, opp, submitted)
    db.commit()
    sign_in(client, asker)
    assert (
        post_form(
            client, f"/opportunities/{opp.id}/questions", {"question": "Is there test data?"}
        ).status_code
        == 303
    )
    sign_in(client, editor)
    page = client.get(f"/opportunities/{opp.id}")
    question_id = int(page.text.split('action="/questions/')[1].split("/")[0])
    assert (
        post_form(
            client, f"/questions/{question_id}/answer", {"answer": "Yes, in the repo."}
        ).status_code
        == 303
    )
    later = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    assert (
        post_form(
            client,
            f"/opportunities/{opp.id}/addenda",
            {"body": "More time.", "new_deadline": later},
        ).status_code
        == 303
    )

    assert [n[0] for n in _notes(db, "question_answered")] == [asker.id]
    assert sorted(n[0] for n in _notes(db, "addendum")) == sorted([drafting.id, submitted.id] * 2)
    assert [n[0] for n in _notes(db, "deadline_extended")] == [submitted.id]
    public = TestClient(client.app).get(f"/opportunities/{opp.id}").text
    assert "Addendum 1" in public
    assert "Is there test data?" in public
    assert "Addendum 2" in public
    assert asker.login not in public  # questions are published without the asker's name
    addenda = TestClient(client.app).get(f"/api/v1/opportunities/{opp.id}/addenda").json()
    assert [a["number"] for a in addenda] == [1, 2]


def test_emails_go_out_through_smtp_in_the_recipients_language(
    db: Session, settings: Settings, factory: sessionmaker[Session], smtp: SmtpServer
) -> None:
    user = make_user(db, email="lea@example.gc.ca", preferred_locale="fr")
    _note(db, user, "awarded", "Votre proposition a été retenue")
    db.commit()
    config = settings.model_copy(update={"smtp_url": smtp.url})
    assert deliver_pending(factory, config) == 1
    assert deliver_pending(factory, config) == 0  # sent once
    [message] = smtp.messages
    assert message["To"] == "lea@example.gc.ca"
    assert message["Subject"] == "Votre proposition a été retenue"
    assert message["List-Unsubscribe"].startswith("<http")
    assert "Ne plus recevoir ces courriels" in message.get_content()


def _note(db: Session, user: User, kind: str, subject: str) -> None:
    db.add(
        Notification(
            user_id=user.id,
            kind=kind,
            dedupe_key=f"{kind}:t:{user.id}",
            locale=user.preferred_locale,
            subject=subject,
            body="Body",
            email_state="pending",
        )
    )


def test_a_failing_mail_server_delays_but_loses_nothing(
    db: Session, settings: Settings, factory: sessionmaker[Session], smtp: SmtpServer
) -> None:
    user = make_user(db, email="sam@example.com")
    _note(db, user, "awarded", "Awarded")
    db.commit()
    down = settings.model_copy(update={"smtp_url": "smtp://127.0.0.1:9"})  # nothing listens
    assert deliver_pending(factory, down) == 0
    [row] = db.scalars(select(Notification)).all()
    db.refresh(row)
    assert (row.email_state, row.email_attempts) == ("pending", 1)
    assert row.next_attempt_at > utcnow()
    up = settings.model_copy(update={"smtp_url": smtp.url})
    assert deliver_pending(factory, up) == 0  # not due yet: backoff
    db.execute(update(Notification).values(next_attempt_at=utcnow()))
    db.commit()
    assert deliver_pending(factory, up) == 1
    assert len(smtp.messages) == 1


def test_one_click_unsubscribe_per_kind(
    client: TestClient,
    db: Session,
    settings: Settings,
    factory: sessionmaker[Session],
    smtp: SmtpServer,
) -> None:
    user = make_user(db, email="sam@example.com")
    _note(db, user, "not_awarded", "Outcome")
    db.commit()
    deliver_pending(factory, settings.model_copy(update={"smtp_url": smtp.url}))
    link = smtp.messages[0]["List-Unsubscribe"].strip("<>")
    path = link.split("127.0.0.1:8000", 1)[1]
    mail_client = TestClient(client.app)  # no cookies, as a mail client posts
    assert mail_client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    stored = db.get(User, user.id)
    assert stored is not None
    notify(db, [stored], "not_awarded", "later", lambda: ("S", "B"))
    notify(db, [stored], "awarded", "later", lambda: ("S", "B"))
    db.commit()
    states = dict(
        db.execute(
            select(Notification.kind, Notification.email_state).where(
                Notification.dedupe_key.like("%:later:%")
            )
        ).all()
    )
    assert states == {"not_awarded": "skipped", "awarded": "pending"}
    assert mail_client.get("/unsubscribe/not-a-token").status_code == 404
