"""The one guarded state transition: a lifecycle table check, a compare-and-set UPDATE, and
exactly one audit event. Every state machine (opportunities, proposals, …) goes through it."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.errors import InvalidTransition
from app.i18n import gettext as _

S = TypeVar("S", bound=StrEnum)


class Stateful(Protocol):
    id: Any
    state: Any


def guarded_transition(
    session: Session,
    row: Stateful,
    to_state: S,
    allowed: Mapping[S, frozenset[S]],
    *,
    actor_user_id: int | None,
    subject_type: str,
    refused: str,
    extra_values: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Moves ``row`` to ``to_state`` or raises InvalidTransition and changes nothing.

    ``refused`` is the message for a transition the lifecycle forbids. The UPDATE only matches
    the state we read, so of two concurrent changes exactly one wins.
    """
    from_state: S = row.state
    if to_state not in allowed[from_state]:
        raise InvalidTransition(refused)
    model = type(row)
    values = {"state": to_state, **(extra_values or {})}
    result = session.execute(
        update(model).where(model.id == row.id, model.state == from_state).values(**values)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise InvalidTransition(
            _("This was changed by someone else in the meantime. Reload the page.")
        )
    for key, value in values.items():
        setattr(row, key, value)
    audit.record(
        session,
        actor_user_id=actor_user_id,
        action=f"{subject_type}.transition",
        subject_type=subject_type,
        subject_id=row.id,
        from_state=from_state,
        to_state=to_state,
        details=details,
    )
