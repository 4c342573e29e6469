"""Pay-on-pull rule 6: the service tells the story on the GitHub issue, in both languages and
without private details (no amounts beyond the public award, no reasons for a hold)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import IssueComment, Opportunity
from app.text import format_money

SIGNATURE = "— Dev Exchange / Échange Dev"


def _queue(session: Session, opportunity: Opportunity, key: str, body: str) -> None:
    """Queued in the caller's transaction, posted by a job after the commit; once per key."""
    if not opportunity.issue_link_verified:
        return
    full_key = f"{opportunity.id}:{key}"
    if session.scalars(select(IssueComment.id).where(IssueComment.key == full_key)).first():
        return
    body = f"{body}\n\n{marker(full_key)}"
    session.add(IssueComment(key=full_key, opportunity_id=opportunity.id, body=body))
    session.flush()  # sessions do not autoflush: the next check in this transaction must see it


def marker(key: str) -> str:
    """Invisible in the rendered comment; lets the posting job find a comment that reached
    GitHub although our record of it was lost (a crash before the commit)."""
    return f"<!-- dev-exchange:{key} -->"


def awarded(
    session: Session, opportunity: Opportunity, proposal_id: int, login: str, base_url: str
) -> None:
    link = f"{base_url}/opportunities/{opportunity.id}"
    _queue(
        session,
        opportunity,
        f"awarded:{proposal_id}",
        f"This issue was awarded to @{login} on Dev Exchange: {link}\n"
        "The payment is released when their pull request that closes this issue is merged.\n\n"
        f"Ce ticket a été attribué à @{login} sur Échange Dev : {link}\n"
        "Le paiement est versé quand sa demande de tirage qui ferme ce ticket est fusionnée.\n\n"
        f"{SIGNATURE}",
    )


def released(session: Session, opportunity: Opportunity, amount_cents: int) -> None:
    """``amount_cents`` is the contract's amount (the awarded price), not the budget."""
    amount_en = format_money(amount_cents, opportunity.currency, "en_CA")
    amount_fr = format_money(amount_cents, opportunity.currency, "fr_CA")
    _queue(
        session,
        opportunity,
        "released",
        f"The merge was verified and the payment of {amount_en} has been released.\n\n"
        f"La fusion a été vérifiée et le paiement de {amount_fr} a été versé.\n\n{SIGNATURE}",
    )


def held(session: Session, opportunity: Opportunity) -> None:
    # One comment per hold: numbered, so a later hold is told as well (the comment is queued in
    # the hold's own transaction, so a repeated step cannot count one hold twice).
    earlier = session.scalar(
        select(func.count(IssueComment.id)).where(
            IssueComment.opportunity_id == opportunity.id,
            IssueComment.key.like(f"{opportunity.id}:held:%"),
        )
    )
    _queue(
        session,
        opportunity,
        f"held:{(earlier or 0) + 1}",
        "The payment is on hold until an administrator has looked at it.\n\n"
        f"Le paiement est suspendu jusqu'à ce qu'un administrateur l'examine.\n\n{SIGNATURE}",
    )
