"""A peer review's checklist and sections in words, in the reader's language."""

from __future__ import annotations

from app.i18n import gettext as _


def checklist_labels() -> dict[str, str]:
    return {
        "states_a_problem": _("It states a problem, not a prescribed solution"),
        "links_context_and_data": _("It links the context and data a bidder needs"),
        "criteria_are_testable": _("The acceptance criteria are testable"),
        "effort_fits_amount": _("The effort fits the amount"),
        "security_and_quality_stated": _("Security and quality expectations are stated"),
        "licence_named": _("The licence is named"),
    }


def section_labels() -> dict[str, str]:
    return {
        "problem": _("The problem"),
        "context": _("Context and data"),
        "criteria": _("Acceptance criteria"),
        "amount": _("Amount and effort"),
    }
