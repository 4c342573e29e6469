"""The rubric's criteria in words, in the reader's language."""

from __future__ import annotations

from app.i18n import gettext as _


def criterion_label(key: str) -> str:
    labels = {
        "understanding": _("Understanding of the problem"),
        "approach": _("Approach"),
        "experience": _("Relevant experience"),
        "price": _("Price"),
    }
    return labels.get(key, key)
