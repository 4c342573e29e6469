"""How a quarter is written for people: "Q4 2026", « T4 2026 » (its identifier in addresses
and the CSV stays "2026-Q4")."""

from __future__ import annotations

from app.i18n import gettext as _
from app.metrics.schemas import Quarter


def quarter_label(quarter: Quarter | str) -> str:
    found = Quarter.parse(quarter) if isinstance(quarter, str) else quarter
    if found is None:
        return str(quarter)
    return _("Q%(number)s %(year)s", number=found.number, year=found.year)
