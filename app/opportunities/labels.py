"""An opportunity's states in words, in the reader's language."""

from __future__ import annotations

from app.i18n import gettext as _
from app.models import OpportunityState as S


def state_label(state: S | str) -> str:
    labels = {
        S.DRAFT: _("draft"),
        S.IN_PEER_REVIEW: _("in peer review"),
        S.PUBLISHED: _("open for proposals"),
        S.EVALUATING: _("evaluating"),
        S.AWARDED: _("awarded"),
        S.IN_PROGRESS: _("in progress"),
        S.MERGED: _("merged"),
        S.PAID: _("paid"),
        S.CANCELLED: _("cancelled"),
        S.UNSUCCESSFUL: _("closed without award"),
        S.ON_HOLD: _("on hold"),
        S.MISSED_DELIVERY: _("missed delivery"),
    }
    return labels[S(state)]
