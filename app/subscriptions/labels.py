"""How subscription choices are worded."""

from __future__ import annotations

from app.i18n import gettext as _
from app.models import Frequency, SubscriptionState


def frequency_labels() -> dict[Frequency, str]:
    return {
        Frequency.INSTANT: _("An email for each new opportunity"),
        Frequency.DAILY: _("A daily digest (at most one email a day)"),
    }


def state_label(state: str) -> str:
    labels: dict[str, str] = {
        SubscriptionState.PENDING: _("waiting for confirmation"),
        SubscriptionState.CONFIRMED: _("confirmed"),
        SubscriptionState.ENDED: _("ended"),
    }
    return labels.get(state, state)  # a StrEnum member is equal to its text
