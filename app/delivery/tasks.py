"""The delivery job: each contract in progress, one at a time, claimed (SKIP LOCKED) and
committed on its own, so two workers never warn twice and one failure stops nothing else."""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.delivery import repository, service
from app.errors import AppError
from app.models import Opportunity, OpportunityState
from app.models.base import utcnow

log = structlog.get_logger("devex.delivery")


def watch_contracts(session_factory: sessionmaker[Session], _settings: Settings) -> int:
    """Warns both sides of a quiet contract (once per quiet period) and moves work past its
    delivery date with no verified merge to missed delivery. Returns what it changed."""
    changed = 0
    with session_factory() as session:
        for opportunity_id in repository.in_progress_ids(session):
            claimed = session.scalars(
                select(Opportunity)
                .where(
                    Opportunity.id == opportunity_id,
                    Opportunity.state == OpportunityState.IN_PROGRESS,
                )
                .with_for_update(skip_locked=True)
            ).first()
            if claimed is None:
                session.rollback()
                continue
            try:
                outcome = service.watch(session, claimed, utcnow())
            except AppError as exc:  # a lost race (merged meanwhile): the next run sees it
                session.rollback()
                log.info("contract not watched", opportunity_id=opportunity_id, error=str(exc))
                continue
            session.commit()
            changed += bool(outcome)
    return changed
