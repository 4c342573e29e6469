"""A team member's roles in words, in the reader's language."""

from __future__ import annotations

from app.i18n import gettext as _
from app.models import TeamRole


def role_label(role: TeamRole | str) -> str:
    labels = {
        TeamRole.OWNER: _("owner"),
        TeamRole.EDITOR: _("editor"),
        TeamRole.EVALUATOR: _("evaluator"),
        TeamRole.FINANCE: _("finance"),
    }
    return labels[TeamRole(role)]
