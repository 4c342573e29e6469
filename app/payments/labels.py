"""A payment's states in words, in the reader's language."""

from __future__ import annotations

from app.i18n import gettext as _
from app.models import PayoutState as P


def state_label(state: P | str) -> str:
    labels = {
        P.AWAITING_FUNDING: _("awaiting funding"),
        P.FUNDED: _("funded, held until the merge"),
        P.RELEASING: _("being released"),
        P.RELEASED: _("released"),
        P.PAID: _("paid"),
        P.REFUNDED: _("refunded"),
        P.TRANSFER_FAILED: _("transfer failed"),
        P.DISPUTED: _("disputed"),
        P.CANCELLED: _("cancelled before funding"),
    }
    return labels[P(state)]
