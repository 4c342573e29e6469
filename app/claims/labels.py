"""Claim states, sides and resolutions in words, in the reader's language."""

from __future__ import annotations

from app.i18n import gettext as _
from app.models import ClaimSide, ClaimState, Resolution


def state_label(state: str) -> str:
    labels = {
        ClaimState.OPEN: _("open"),
        ClaimState.PROPOSED: _("resolution proposed, waiting for a second administrator"),
        ClaimState.RESOLVED: _("resolved"),
    }
    return labels.get(ClaimState(state), state) if state in set(ClaimState) else state


def side_label(side: str) -> str:
    labels = {ClaimSide.DEVELOPER: _("the developer"), ClaimSide.TEAM: _("the team")}
    return labels.get(ClaimSide(side), side) if side in set(ClaimSide) else side


def resolution_label(resolution: str) -> str:
    labels = {
        Resolution.RELEASE: _("release the whole payment to the developer side"),
        Resolution.PARTIAL: _("release part of the payment, refund the rest to the team"),
        Resolution.REFUND: _("refund the team in full and cancel the work"),
    }
    return labels.get(Resolution(resolution), resolution) if resolution in set(Resolution) else ""
