"""A team member's roles in words, in the reader's language."""

from __future__ import annotations

from app.i18n import gettext as _
from app.models import SignoffPurpose, TeamRole


def role_label(role: TeamRole | str) -> str:
    labels = {
        TeamRole.OWNER: _("owner"),
        TeamRole.EDITOR: _("editor"),
        TeamRole.EVALUATOR: _("evaluator"),
        TeamRole.FINANCE: _("finance"),
        TeamRole.APPROVER: _("approver"),
    }
    return labels[TeamRole(role)]


def signoff_label(purpose: SignoffPurpose | str) -> str:
    labels = {
        SignoffPurpose.PUBLISH: _("publishing"),
        SignoffPurpose.FUND: _("funding the award"),
    }
    return labels[SignoffPurpose(purpose)]
