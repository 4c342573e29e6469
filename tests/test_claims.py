"""Issue 16, claims (disagreements about delivery; a "dispute" is a card chargeback, not this).
Either side of a contract opens a claim with a reason; while the money is held it holds the
payment, the administrators and the other side are told, and two administrators resolve it:
release, partial release (part to the developer side, the rest refunded to the team) or refund.
The amounts below are worked out from the design, not read from the code: a contract of
2,400.00 (the bid) with a platform fee of 10 %, taken in proportion to what is released."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import AuditEvent, Claim, LedgerEntry, Notification, User
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
    delivery_headers,
    in_progress_work,
    ledger_balance,
    merged_payload,
    opportunity_of,
    payout_of,
    run_jobs,
)
from tests.support.web import app_of, csrf_token, post_form, sign_in

CONTRACT = BID  # 2,400.00
FEE = 24_000  # 10 % of the contract


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"platform_fee_basis_points": 1000})


def _jobs(client: TestClient, settings: Settings, times: int = 2) -> None:
    run_jobs(app_of(client).state.session_factory, settings, times=times)


def _api(client: TestClient, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.request(method, url, json=body or {}, headers={"x-csrftoken": csrf_token(client)})


def _admins(db: Session) -> tuple[User, User]:
    first, second = make_user(db, is_admin=True), make_user(db, is_admin=True)
    db.commit()
    return first, second


def _ledger(db: Session, work: Work) -> dict[tuple[str, str], int]:
    db.expire_all()
    rows = db.scalars(
        select(LedgerEntry).where(LedgerEntry.payout_id == payout_of(db, work).id)
    ).all()
    return {(row.movement, row.account): row.amount_cents for row in rows}


def _snapshot(db: Session, fake_stripe: FakeStripe, work: Work) -> tuple[Any, ...]:
    db.expire_all()
    lines = db.scalar(select(func.count()).select_from(LedgerEntry))
    return (
        len(fake_stripe.transfers),
        len(fake_stripe.refunds),
        lines,
        payout_of(db, work).state,
        opportunity_of(db, work).state,
    )


@pytest.fixture
def work(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> Work:
    found, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    return found


def _open(client: TestClient, who: User, work: Work, reason: str = "Not delivered") -> Any:
    sign_in(client, who)
    return _api(
        client, "POST", f"/api/v1/opportunities/{work.opportunity_id}/claims", {"reason": reason}
    )


def _resolve(
    client: TestClient, db: Session, claim_id: int, resolution: str, cents: int | None = None
) -> None:
    first, second = _admins(db)
    body = {"resolution": resolution, "developer_cents": cents}
    sign_in(client, first)
    assert _api(client, "POST", f"/api/v1/claims/{claim_id}/propose", body).status_code == 200
    # The proposer cannot confirm their own proposal.
    assert _api(client, "POST", f"/api/v1/claims/{claim_id}/confirm", body).status_code == 409
    sign_in(client, second)
    assert _api(client, "POST", f"/api/v1/claims/{claim_id}/confirm", body).status_code == 200


def test_a_claim_holds_unreleased_money_and_tells_the_admins_and_the_other_side(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    work: Work,
) -> None:
    admin, _second = _admins(db)
    response = _open(client, work.owner, work, "The pull request does not do what was asked.")
    assert response.status_code == 201, response.text
    claim = response.json()
    assert (claim["side"], claim["state"], claim["money_held"]) == ("team", "open", True)
    assert opportunity_of(db, work).state == "on_hold"
    # The awardee's merge now comes, verified: no money leaves while the claim is open.
    fake_github.pulls[(REPO, PULL)] = api_pull()
    client.post(
        "/webhooks/github", content=merged_payload(), headers=delivery_headers(merged_payload())
    )
    _jobs(client, settings)
    assert (opportunity_of(db, work).state, payout_of(db, work).state) == ("on_hold", "funded")
    assert fake_stripe.transfer_requests == []
    # Told: the administrators and the awardee, once each; not the one who opened it.
    told = db.scalars(select(Notification.user_id).where(Notification.kind == "claim_opened")).all()
    assert sorted(told) == sorted([admin.id, _second.id, work.developer.id])
    # A second claim while one is open is refused; the other side sees the open one.
    assert _open(client, work.developer, work).status_code == 409
    listed = _api(client, "GET", f"/api/v1/opportunities/{work.opportunity_id}/claims").json()
    assert [c["id"] for c in listed] == [claim["id"]]
    # The queue shows it, and its own hold actions are refused while the claim is open.
    sign_in(client, admin)
    page = client.get("/admin/attention").text
    assert f"/admin/claims/{claim['id']}" in page
    assert (
        post_form(client, f"/admin/attention/{work.opportunity_id}/dismiss", {}).status_code == 409
    )
    refund = post_form(client, f"/admin/attention/{work.opportunity_id}/refund", {"reason": "x"})
    assert refund.status_code == 409
    # On the opportunity's trail.
    actions = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.subject_type == "opportunity", AuditEvent.subject_id == work.opportunity_id
        )
    ).all()
    assert "claim.opened" in actions


def test_only_the_two_sides_open_a_claim_and_a_reason_is_required(
    client: TestClient, db: Session, work: Work
) -> None:
    stranger = make_user(db)
    db.commit()
    assert _open(client, stranger, work).status_code == 404
    assert _open(client, work.developer, work, "   ").status_code == 422
    assert _open(client, work.finance, work).status_code == 201
    assert opportunity_of(db, work).state == "on_hold"


@pytest.mark.parametrize(
    ("resolution", "developer_cents", "transfers", "refunds", "ledger", "final"),
    [
        (
            "release",
            None,
            [CONTRACT - FEE],
            [],
            {("release", "developer"): CONTRACT - FEE, ("release", "platform:fees"): FEE},
            ("paid", "paid"),
        ),
        (
            # 1,000.00 to the developer side: the fee in proportion is 100.00, so the transfer is
            # 900.00, and 1,400.00 goes back to the team.
            "partial",
            100_000,
            [90_000],
            [140_000],
            {
                ("release", "developer"): 90_000,
                ("release", "platform:fees"): 10_000,
                ("partial_refund", "team"): 140_000,
                ("partial_refund", "platform:holding"): -140_000,
            },
            ("paid", "paid"),
        ),
        (
            "refund",
            None,
            [],
            [CONTRACT],
            {("refund", "team"): CONTRACT},
            ("cancelled", "refunded"),
        ),
    ],
)
def test_each_resolution_moves_the_money_exactly_as_decided_once(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    work: Work,
    resolution: str,
    developer_cents: int | None,
    transfers: list[int],
    refunds: list[int],
    ledger: dict[tuple[str, str], int],
    final: tuple[str, str],
) -> None:
    claim = _open(client, work.developer, work, "The team stopped answering.").json()
    _resolve(client, db, claim["id"], resolution, developer_cents)
    _jobs(client, settings)
    assert sorted(t["amount"] for t in fake_stripe.transfers.values()) == transfers
    assert sorted(r["amount"] for r in fake_stripe.refunds.values()) == refunds
    lines = _ledger(db, work)
    team = f"team:{work.team.id}"
    expected = {
        (movement, team if account == "team" else f"developer:{work.developer.id}")
        if account in ("team", "developer")
        else (movement, account): cents
        for (movement, account), cents in ledger.items()
    }
    assert {key: lines[key] for key in expected} == expected
    assert ledger_balance(db, work) == 0
    # Nothing stays held: the holding account is back to zero.
    assert sum(v for (_m, account), v in lines.items() if account == "platform:holding") == 0
    assert (opportunity_of(db, work).state, payout_of(db, work).state) == final
    # The jobs again, and the same confirmation again: nothing changes.
    before = _snapshot(db, fake_stripe, work)
    _jobs(client, settings, times=2)
    body = {"resolution": resolution, "developer_cents": developer_cents}
    assert _api(client, "POST", f"/api/v1/claims/{claim['id']}/confirm", body).status_code == 409
    assert _snapshot(db, fake_stripe, work) == before


def test_a_partial_release_is_shared_by_the_co_authors_split(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    work: Work,
) -> None:
    (co_author,) = add_co_authors(db, settings, fake_stripe, work, {6001: "25"})
    claim = _open(client, work.owner, work).json()
    # 1,000.01 to the developer side: fee 24,000 x 100,001 / 240,000 = 10,000.41 → 10,000;
    # 90,001 shared 75 / 25: 67,500.75 and 22,500.25 → 67,501 (the larger fraction) and 22,500.
    _resolve(client, db, claim["id"], "partial", 100_001)
    _jobs(client, settings)
    paid = {t["destination"]: t["amount"] for t in fake_stripe.transfers.values()}
    assert sorted(paid.values()) == [22_500, 67_501]
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [139_999]
    lines = _ledger(db, work)
    assert lines[("release", f"developer:{co_author.id}")] == 22_500
    assert lines[("release", f"developer:{work.developer.id}")] == 67_501
    assert ledger_balance(db, work) == 0


def test_a_partial_refund_reported_by_stripe_does_not_refund_the_whole(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    work: Work,
) -> None:
    claim = _open(client, work.owner, work).json()
    _resolve(client, db, claim["id"], "partial", 200_000)
    _jobs(client, settings)
    (refund,) = fake_stripe.refunds.values()
    charge = fake_stripe.charges[refund["charge"]]
    assert (refund["amount"], charge["refunded"]) == (40_000, False)
    deliver(client, fake_stripe.event("refund.created", refund))
    deliver(client, fake_stripe.event("charge.refunded", charge))
    _jobs(client, settings)
    assert payout_of(db, work).state == "paid"
    assert _ledger(db, work)[("partial_refund", f"team:{work.team.id}")] == 40_000
    assert ledger_balance(db, work) == 0


def test_a_claim_after_the_money_left_is_recorded_and_moves_nothing(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    work: Work,
) -> None:
    fake_github.pulls[(REPO, PULL)] = api_pull()
    client.post(
        "/webhooks/github", content=merged_payload(), headers=delivery_headers(merged_payload())
    )
    _jobs(client, settings)
    assert opportunity_of(db, work).state == "paid"
    before = _snapshot(db, fake_stripe, work)
    claim = _open(client, work.owner, work, "It broke the build a week later.").json()
    assert claim["money_held"] is False
    assert opportunity_of(db, work).state == "paid"
    _resolve(client, db, claim["id"], "refund")
    _jobs(client, settings)
    assert _snapshot(db, fake_stripe, work) == before
    sign_in(client, work.owner)
    link = f'href="/opportunities/{work.opportunity_id}/claims"'
    assert link in client.get(f"/opportunities/{work.opportunity_id}").text
    page = client.get(f"/opportunities/{work.opportunity_id}/claims").text
    assert "no money moves" in page


def test_over_the_pages_in_french_a_claim_is_opened_and_resolved_by_two_admins(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    work: Work,
) -> None:
    """End to end through the pages a person uses."""
    first, second = _admins(db)
    oid = work.opportunity_id
    sign_in(client, work.developer)
    assert (
        f'href="/opportunities/{oid}/claims"' in client.get(f"/opportunities/{oid}/proposal").text
    )
    page = client.get(f"/opportunities/{oid}/claims")
    assert page.status_code == 200
    assert 'for="field-reason"' in page.text
    refused = post_form(client, f"/opportunities/{oid}/claims", {"reason": ""})
    assert refused.status_code == 422
    assert 'href="#field-reason"' in refused.text
    opened = post_form(client, f"/opportunities/{oid}/claims", {"reason": "No answer since June."})
    assert opened.status_code == 303
    claim_id = db.scalars(select(Claim.id).where(Claim.opportunity_id == oid)).one()
    sign_in(client, first)
    review = client.get(f"/admin/claims/{claim_id}")
    assert review.status_code == 200
    assert "No answer since June." in review.text
    bad = post_form(
        client,
        f"/admin/claims/{claim_id}/propose",
        {"resolution": "partial", "developer_amount": "2400.00"},
    )
    assert bad.status_code == 422
    assert 'href="#field-developer_amount"' in bad.text
    proposed = post_form(
        client,
        f"/admin/claims/{claim_id}/propose",
        {"resolution": "partial", "developer_amount": "1 200,00"},
    )
    assert proposed.status_code == 303
    assert "second administrator" in client.get(f"/admin/claims/{claim_id}").text
    sign_in(client, second)
    french = client.get(f"/admin/claims/{claim_id}?lang=fr").text.lower()
    assert "réclamation" in french
    assert "litige" not in french
    confirmed = post_form(
        client,
        f"/admin/claims/{claim_id}/confirm",
        {"resolution": "partial", "developer_cents": "120000"},
    )
    assert confirmed.status_code == 303
    _jobs(client, settings)
    # 1,200.00 to the developer: fee 120.00, transfer 1,080.00; 1,200.00 back to the team.
    assert [t["amount"] for t in fake_stripe.transfers.values()] == [108_000]
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [120_000]
    assert ledger_balance(db, work) == 0
    assert (opportunity_of(db, work).state, payout_of(db, work).state) == ("paid", "paid")
