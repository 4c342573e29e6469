"""Where each thing that waits for someone is done: the page an email sends them to and the page
their "My work" or "Needs you" list links to are built here, once, so the two always agree."""

from __future__ import annotations


def your_proposal(opportunity_id: int) -> str:
    """The developer's own proposal: finish it, read the outcome, accept the contract."""
    return f"/opportunities/{opportunity_id}/proposal"


def evaluation(opportunity_id: int) -> str:
    """Declaring conflicts of interest, the proposals to score, the consensus and the award."""
    return f"/opportunities/{opportunity_id}/evaluation"


def score(proposal_id: int) -> str:
    return f"/proposals/{proposal_id}/evaluation"


def funding(opportunity_id: int) -> str:
    return f"/opportunities/{opportunity_id}/funding"


def opportunity(opportunity_id: int, section: str = "") -> str:
    return f"/opportunities/{opportunity_id}" + (f"#{section}" if section else "")


def addenda(opportunity_id: int) -> str:
    return opportunity(opportunity_id, "addenda")


def peer_review(opportunity_id: int) -> str:
    """The review form of a draft another team sent for peer review."""
    return f"/opportunities/{opportunity_id}/review"


def payment_record(opportunity_id: int) -> str:
    return f"/opportunities/{opportunity_id}/payment-record"


def held_payment(opportunity_id: int) -> str:
    """A held payment in the administrators' needs-attention queue."""
    return f"{NEEDS_ATTENTION}#held-{opportunity_id}"


def troubled_payout(payout_id: int) -> str:
    return f"{NEEDS_ATTENTION}#payout-{payout_id}"


PAYOUT_ACCOUNT = "/account/payouts"
ADMIN = "/admin"
NEEDS_ATTENTION = "/admin/attention"
MY_WORK = "/my-work"
NEEDS_YOU = "/needs-you"


def contract(opportunity_id: int) -> str:
    """The contract's delivery: its date, the check-ins, and the owner's choices after a miss."""
    return f"/opportunities/{opportunity_id}/delivery"


def claims(opportunity_id: int) -> str:
    """The claims about a contract, and the form that opens one (its two parties)."""
    return f"/opportunities/{opportunity_id}/claims"


def claim_review(claim_id: int) -> str:
    """Where administrators propose and confirm a claim's resolution."""
    return f"/admin/claims/{claim_id}"
