"""The kinds of notification in words, in the reader's language."""

from __future__ import annotations

from app.i18n import gettext as _


def kind_labels() -> dict[str, str]:
    return {
        "question_answered": _("Your question was answered"),
        "addendum": _("Addenda to opportunities you proposed on"),
        "deadline_extended": _("Deadline extensions"),
        "proposal_received": _("Proposals received by your team"),
        "deadline_passed": _("Deadlines passed (evaluators)"),
        "awarded": _("Your proposal was awarded"),
        "not_awarded": _("Your proposal was not awarded"),
        "delivery_quiet": _("Contracts with no news for a while"),
        "delivery_missed": _("Missed delivery dates"),
        "delivery_extended": _("New delivery dates"),
        "delivery_ended": _("Contracts ended after a missed delivery"),
        "claim_opened": _("Claims about delivery opened on your work"),
        "claim_resolved": _("Claims about delivery resolved"),
    }
