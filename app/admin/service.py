"""The audit trail as administrators read it: who did what to which thing, in words, with links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.admin import repository
from app.admin.labels import event_label
from app.evaluations import service as evaluations
from app.i18n import get_locale
from app.i18n import gettext as _
from app.models import AuditEvent, User
from app.text import Localized, localized


@dataclass(frozen=True)
class Subject:
    kind: str  # what the title names, when the title alone does not say: "Proposal 12"
    title: Localized
    href: str | None


@dataclass(frozen=True)
class AuditLine:
    event: AuditEvent
    label: str
    actor: User | None  # None: Dev Exchange itself (a job, a webhook) or a deleted account
    subject: Subject | None  # None: the row is gone
    # A bidder's own move on a sealed proposal: who made it stays hidden until the deadline.
    sealed_bid: bool = False
    # ...and from an administrator who evaluates the work blind, until they have scored it.
    blind_bid: bool = False


def audit_trail(session: Session, reader: User) -> list[AuditLine]:
    events = repository.recent_audit_events(session)
    subjects = _subjects(session, events)
    people = repository.users_by_id(
        session, {e.actor_user_id for e in events if e.actor_user_id is not None}
    )
    sealed = evaluations.sealed_bids(session, _ids(events, "proposal"))
    blind = evaluations.blind_bids(session, _ids(events, "proposal") - sealed, reader)
    return [
        AuditLine(
            event,
            event_label(event),
            _actor(event, people, sealed | blind),
            subjects.get((event.subject_type, event.subject_id)),
            sealed_bid=_is_bid_in(event, sealed),
            blind_bid=_is_bid_in(event, blind),
        )
        for event in events
    ]


def _is_bid_in(event: AuditEvent, hidden: set[int]) -> bool:
    return event.subject_type == "proposal" and event.subject_id in hidden


def _actor(event: AuditEvent, people: dict[int, User], hidden: set[int]) -> User | None:
    if event.actor_user_id is None or _is_bid_in(event, hidden):
        return None
    return people.get(event.actor_user_id)


def _ids(events: Sequence[AuditEvent], subject_type: str) -> set[int]:
    return {e.subject_id for e in events if e.subject_type == subject_type}


def _subjects(session: Session, events: Sequence[AuditEvent]) -> dict[tuple[str, int], Subject]:
    """Every event's subject that still exists, loaded with one query per kind of subject."""
    of_proposal = repository.opportunity_of_proposals(session, _ids(events, "proposal"))
    of_payout = repository.opportunity_of_payouts(session, _ids(events, "payout"))
    opportunities = repository.opportunities_by_id(
        session, _ids(events, "opportunity") | set(of_proposal.values()) | set(of_payout.values())
    )

    def about(opportunity_id: int, kind: str = "", page: str = "") -> Subject | None:
        o = opportunities.get(opportunity_id)
        title = localized(o.title, o.title_fr) if o else None
        return Subject(kind, title, f"/opportunities/{opportunity_id}{page}") if title else None

    found: dict[tuple[str, int], Subject | None] = {
        ("opportunity", opportunity_id): about(opportunity_id)
        for opportunity_id in _ids(events, "opportunity")
    }
    for proposal_id, opportunity_id in of_proposal.items():
        kind = _("Proposal %(number)s", number=proposal_id)
        found[("proposal", proposal_id)] = about(opportunity_id, kind)
    for payout_id, opportunity_id in of_payout.items():
        found[("payout", payout_id)] = about(opportunity_id, _("Payment"), "/money")
    for team in repository.teams_by_id(session, _ids(events, "team")).values():
        name = localized(team.name, team.name_fr)
        found[("team", team.id)] = Subject("", name, f"/teams/{team.slug}")
    for person in repository.users_by_id(session, _ids(events, "user")).values():
        # A person's name is in no particular language: it takes the page's.
        name = Localized(f"{person.shown_name} (@{person.login})", get_locale())
        found[("user", person.id)] = Subject("", name, None)
    return {key: subject for key, subject in found.items() if subject is not None}
