"""Audit events in words, in the reader's language: people read these, not the stored codes.
They compose every domain's state labels, so they live above the domains, with the trail's page."""

from __future__ import annotations

from collections.abc import Callable

from app.claims.labels import state_label as claim_state_label
from app.i18n import N_
from app.i18n import gettext as _
from app.models import AuditEvent
from app.opportunities.labels import state_label as opportunity_state_label
from app.payments.labels import state_label as payout_state_label
from app.proposals.labels import proposal_state_label
from app.subscriptions.labels import state_label as subscription_state_label

# Stored in English (N_), translated where shown. A code missing here is shown as it is stored:
# tests/test_page_layout.py fails on any action the code records without a label.
ACTION_LABELS = {
    "account.sign_in": N_("Signed in"),
    "account.sign_in_failed": N_("Sign-in refused"),
    "account.sign_out": N_("Signed out"),
    "account.sign_out_everywhere": N_("Signed out everywhere"),
    "account.terms_accepted": N_("Accepted the platform terms"),
    "account.token_created": N_("Created an API token"),
    "account.token_revoked": N_("Revoked an API token"),
    "account.profile_updated": N_("Updated the profile"),
    "account.deleted": N_("Deleted the account"),
    "account.made_admin": N_("Made a platform administrator"),
    "team.created": N_("Created the team"),
    "team.approved": N_("Approved the team"),
    "team.left": N_("Left the team"),
    "team.roles_changed": N_("Changed a member's roles"),
    "team.invitation_sent": N_("Sent an invitation"),
    "team.invitation_accepted": N_("Accepted an invitation"),
    "team.default_licence": N_("Changed the default licence of new opportunities"),
    "team.monthly_spending_limit": N_("Changed the team's monthly spending limit"),
    "spending.signed_off": N_("Signed off an amount (spending authority)"),
    "opportunity.create": N_("Created the draft"),
    "opportunity.update": N_("Edited the draft"),
    "opportunity.addendum": N_("Published an addendum"),
    "opportunity.seeded": N_("Loaded as demo data"),  # rows written by earlier demo data
    "opportunity.undone_after_release": N_("Work undone after its payment"),
    "opportunity.hold_dismissed": N_("Dismissed the hold: the work waits for the awardee's merge"),
    "review.submitted": N_("Sent a peer review"),
    "review.replied": N_("Replied to a peer review"),
    "evaluation.declared": N_("Declared on conflicts of interest"),
    "evaluation.submitted": N_("Submitted an evaluation"),
    "award.accepted": N_("Accepted the contract"),
    "award.co_authors_named": N_("Named the co-authors who share the payment"),
    "award.reassigned": N_("Awarded the next-ranked proposal"),
    "award.replaced": N_("Ended the contract and awarded the next-ranked proposal"),
    "award.delivery_extended": N_("Moved the contract's delivery date"),
    "delivery.check_in": N_("Checked in on the work"),
    "team.quiet_days_changed": N_("Changed the days without activity before a warning"),
    "payout.award_changed": N_("The payment held now follows the new award"),
    "payout.adjustment_refunded": N_("Refunded the difference to the team"),
    "payout.created": N_("Payment opened, awaiting funding"),
    "payout.checkout_started": N_("Started paying at checkout"),
    "payout.release_scheduled": N_("Scheduled the release of the payment"),
    "payout.release_approved": N_("Approved the release (a second administrator must confirm)"),
    "payout.release_confirmed": N_("Confirmed the release"),
    "payout.refund_requested": N_("Asked for a refund to the team"),
    "payout.unexpected_transfer": N_("An unexpected transfer was reported"),
    "payout.transfer_reversed": N_("The transfer was reversed"),
    "payout.divided": N_("Divided the payment as a claim's resolution decided"),
    "payout.partially_refunded": N_("Refunded the team's part of the payment"),
    "claim.opened": N_("Opened a claim about delivery"),
    "claim.resolution_proposed": N_("Proposed a claim's resolution"),
    "claim.resolved": N_("Confirmed a claim's resolution"),
    "payout_account.created": N_("Opened a payout account"),
    "payout_account.updated": N_("Payout account checked with the payment provider"),
    "subscription.created": N_("Subscribed to new opportunities by email"),
}

# A state change: what moved, and the words for its states.
_TRANSITIONS: dict[str, tuple[str, Callable[[str], str]]] = {
    "opportunity.transition": (N_("Opportunity moved to “%(state)s”"), opportunity_state_label),
    "proposal.transition": (N_("Proposal moved to “%(state)s”"), proposal_state_label),
    "payout.transition": (N_("Payment moved to “%(state)s”"), payout_state_label),
    "subscription.transition": (
        N_("Email subscription moved to “%(state)s”"),
        subscription_state_label,
    ),
    "claim.transition": (N_("Claim moved to “%(state)s”"), claim_state_label),
}

TRANSITION_ACTIONS = frozenset(_TRANSITIONS)


def event_label(event: AuditEvent) -> str:
    transition = _TRANSITIONS.get(event.action)
    if transition is not None and event.to_state:
        message, state_words = transition
        return _(message, state=state_words(event.to_state))
    label = ACTION_LABELS.get(event.action)
    return _(label) if label else event.action
