"""How subscription choices are worded."""

from __future__ import annotations

from app.i18n import gettext as _
from app.models import Frequency


def frequency_labels() -> dict[Frequency, str]:
    return {
        Frequency.INSTANT: _("An email for each new opportunity"),
        Frequency.DAILY: _("A daily digest (at most one email a day)"),
    }
