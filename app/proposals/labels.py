"""Proposal states in words, in the reader's language."""

from __future__ import annotations

from app.i18n import gettext as _
from app.models import ProposalState as P


def proposal_state_label(state: str) -> str:
    labels = {
        P.DRAFT: _("draft, not submitted"),
        P.SUBMITTED: _("submitted"),
        P.WITHDRAWN: _("withdrawn"),
        P.UNDER_EVALUATION: _("being evaluated"),
        P.AWARDED: _("awarded"),
        P.NOT_AWARDED: _("not awarded"),
        P.DISQUALIFIED: _("disqualified"),
    }
    return labels[P(state)]
