"""Opportunity queries. Listings use keyset pagination so any page costs the same at any size."""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Integer,
    Row,
    Select,
    and_,
    any_,
    bindparam,
    delete,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.models import (
    Award,
    Opportunity,
    OpportunitySkill,
    OpportunityState,
    Project,
    Proposal,
    Team,
)
from app.models.opportunity import SEARCH_CONFIG, SEARCH_VECTOR
from app.opportunities.schemas import PUBLIC_STATES, ListFilters, Sort

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_SEARCH_WORDS = 8


# A public listing's query and its rows: an opportunity with its team's slug and name and its
# project's slug.
Listing = Select[Opportunity, str, str, str | None]
ListingRow = Row[Opportunity, str, str, str | None]


class BadCursor(ValueError):
    """A pagination cursor that this service did not write (or wrote for another sort)."""


@dataclass(frozen=True)
class Listed:
    """An opportunity with what a list row shows beside it, loaded in the same query."""

    opportunity: Opportunity
    team_slug: str
    team_name: str
    project_slug: str | None
    skills: list[str]
    # The current contract's delivery date, once awarded (contract_delivery_dates).
    contract_delivery_date: date | None = None


@dataclass(frozen=True)
class ListPage:
    items: list[Listed]
    next_cursor: str | None


_SORTS: dict[Sort, tuple[InstrumentedAttribute[Any], bool]] = {
    # sort → (key column, descending); ties break on id in the same direction
    Sort.NEWEST: (Opportunity.published_at, True),
    Sort.DEADLINE: (Opportunity.proposal_deadline, False),
    Sort.AMOUNT_HIGH: (Opportunity.amount_cents, True),
    Sort.AMOUNT_LOW: (Opportunity.amount_cents, False),
}


def search_words(query: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(query)][:MAX_SEARCH_WORDS]


# Searching PostgreSQL for "matches, in listing order", the planner guesses how common the
# words are; guessing a rare word or a typo common, it walks the whole listing in order looking
# for matches that are not there (160 ms at 100k rows, 2 ms at 1k). So a search walks the head
# of the listing itself, in windows that end at these ranks, checking each row: a word in
# more than one row of a hundred fills its page in the first, one seen there but scarcer goes
# on through the second. A word not seen in the first window, or rarer than the second can
# fill a page with, is read through the full-text index, which knows its few matches; at most
# SEARCH_CANDIDATES of them are sorted. Each step reads a bounded number of rows, whatever the
# table's size and the planner's guess.
SEARCH_WINDOWS = (1000, 4000)
SEARCH_CANDIDATES = 1000


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _matches(session: Session, words: list[str]) -> ColumnElement[bool]:
    if _is_postgres(session):
        return _text_match(words)
    # SQLite: every word must appear (prefix semantics approximated by substring).
    return and_(*(Opportunity.search_document.contains(word, autoescape=True) for word in words))


def _text_match(words: list[str], *, indexed: bool = True) -> ColumnElement[bool]:
    """Every word matches a word of the opportunity's text, or begins one. Not indexed, the
    test is one the full-text index cannot answer, so the planner checks the rows it walks
    instead of first reading every match of a common word from the index."""
    config: ColumnClause[Any] = literal_column(f"'{SEARCH_CONFIG}'::regconfig")
    tsquery = " & ".join(f"{word}:*" for word in words)
    vector: ColumnElement[Any] = literal_column(f"{Opportunity.__tablename__}.{SEARCH_VECTOR}")
    if not indexed:
        vector = func.coalesce(vector, literal_column("''::tsvector"))
    return vector.op("@@")(func.to_tsquery(config, tsquery))


def _rare_match(session: Session, words: list[str]) -> ColumnElement[bool] | None:
    """The match for a word known to be rare at the head of the listing: the ids of all its
    matches when the full-text index finds no more than SEARCH_CANDIDATES, so the planner
    sorts those rows and never walks the table for them; else the plain match. None when
    nothing matches at all (a typo)."""
    matching = session.scalars(
        select(Opportunity.id)
        .where(Opportunity.published_at.is_not(None), _text_match(words))
        .limit(SEARCH_CANDIDATES + 1)
    ).all()
    if not matching:
        return None
    if len(matching) > SEARCH_CANDIDATES:
        return _text_match(words)
    return Opportunity.id == any_(bindparam("matching_ids", list(matching), type_=ARRAY(Integer)))


def _encode_cursor(sort: Sort, opportunity: Opportunity) -> str:
    column, _desc = _SORTS[sort]
    value = getattr(opportunity, column.key)
    raw = json.dumps(
        [sort.value, value.isoformat() if isinstance(value, datetime) else value, opportunity.id]
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(sort: Sort, cursor: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, value, last_id = json.loads(base64.urlsafe_b64decode(padded))
        if cursor_sort != sort.value or not isinstance(last_id, int):
            raise BadCursor(cursor)
        if sort in (Sort.NEWEST, Sort.DEADLINE):
            return datetime.fromisoformat(value), last_id
        if not isinstance(value, int):
            raise BadCursor(cursor)
        return value, last_id
    except (ValueError, TypeError) as exc:
        raise BadCursor(cursor) from exc


def _after(sort: Sort, position: tuple[Any, int]) -> ColumnElement[bool]:
    """The rows that come after this (sort key, id) position in the listing's order."""
    column, descending = _SORTS[sort]
    value, last_id = position
    if descending:
        return or_(column < value, and_(column == value, Opportunity.id < last_id))
    return or_(column > value, and_(column == value, Opportunity.id > last_id))


def _order(sort: Sort) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    column, descending = _SORTS[sort]
    if descending:
        return column.desc(), Opportunity.id.desc()
    return column.asc(), Opportunity.id.asc()


def _conditions(filters: ListFilters) -> list[ColumnElement[bool]]:
    """What the listing's filters ask, on the opportunities table alone (no join), so that the
    search's first step can read the sort's index without touching a row."""
    conditions: list[ColumnElement[bool]] = [Opportunity.published_at.is_not(None)]
    states = [s for s in filters.state if s in PUBLIC_STATES]
    if states:
        conditions.append(Opportunity.state.in_(states))
    if filters.team:
        team = select(Team.id).where(Team.slug == filters.team).scalar_subquery()
        conditions.append(Opportunity.team_id == team)
    if filters.project_id is not None:
        conditions.append(Opportunity.project_id == filters.project_id)
    if filters.amount_min_cents is not None:
        conditions.append(Opportunity.amount_cents >= filters.amount_min_cents)
    if filters.amount_max_cents is not None:
        conditions.append(Opportunity.amount_cents <= filters.amount_max_cents)
    if filters.skill:
        skill = filters.skill.strip().lower()
        conditions.append(
            select(OpportunitySkill.opportunity_id)
            .where(
                OpportunitySkill.opportunity_id == Opportunity.id, OpportunitySkill.skill == skill
            )
            .exists()
        )
    return conditions


def _listing(*conditions: ColumnElement[bool]) -> Listing:
    return (
        select(Opportunity, Team.slug, Team.name, Project.slug)
        .join(Team, Team.id == Opportunity.team_id)
        .outerjoin(Project, Project.id == Opportunity.project_id)
        .where(*conditions)
    )


def _first(session: Session, stmt: Listing, sort: Sort, count: int) -> list[ListingRow]:
    return list(session.execute(stmt.order_by(*_order(sort)).limit(count)).all())


def _position_at(
    session: Session, conditions: list[ColumnElement[bool]], sort: Sort, rank: int
) -> tuple[Any, int] | None:
    """The (sort key, id) of the listing's row at this rank (1 = first), or None when the
    listing is shorter: read from the sort's index alone."""
    column, _descending = _SORTS[sort]
    keys = select(column, Opportunity.id).where(*conditions).order_by(*_order(sort))
    row = session.execute(keys.offset(rank - 1).limit(1)).first()
    return None if row is None else (row[0], row[1])


def _search_rows(
    session: Session,
    conditions: list[ColumnElement[bool]],
    sort: Sort,
    words: list[str],
    count: int,
) -> list[ListingRow]:
    """The first `count` matching rows of the listing, in its order (see SEARCH_WINDOWS)."""
    if not _is_postgres(session):  # SQLite: no planner to fool
        return _first(session, _listing(*conditions, _matches(session, words)), sort, count)
    found: list[ListingRow] = []
    past: ColumnElement[bool] = true()  # the rows after the windows walked so far
    for step, rank in enumerate(SEARCH_WINDOWS):
        if step and not found:
            break  # not one match at the head: a rare word or a typo
        edge = _position_at(session, conditions, sort, rank)
        window = [*conditions, past, _text_match(words, indexed=False)]
        if edge is not None:
            window.append(~_after(sort, edge))
        found += _first(session, _listing(*window), sort, count - len(found))
        if len(found) == count or edge is None:  # a full page, or the listing walked to its end
            return found
        past = _after(sort, edge)
    rare = _rare_match(session, words)
    if rare is None:
        return found
    rest = _listing(*conditions, past, rare)
    return found + _first(session, rest, sort, count - len(found))


def list_public(session: Session, filters: ListFilters) -> ListPage:
    conditions = _conditions(filters)
    if filters.cursor:
        conditions.append(_after(filters.sort, _decode_cursor(filters.sort, filters.cursor)))
    words = search_words(filters.q)
    wanted = filters.limit + 1
    if words:
        rows = _search_rows(session, conditions, filters.sort, words, wanted)
    else:
        rows = _first(session, _listing(*conditions), filters.sort, wanted)
    has_more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    items = _listed(session, rows)
    next_cursor = _encode_cursor(filters.sort, rows[-1][0]) if has_more and rows else None
    return ListPage(items=items, next_cursor=next_cursor)


def published_between(
    session: Session, after: datetime, until: datetime, filters: ListFilters
) -> list[Listed]:
    """Opportunities published in (after, until] that still take proposals and match the
    filters, oldest first: what a subscriber has not heard about yet."""
    open_for_proposals = filters.model_copy(update={"state": [OpportunityState.PUBLISHED]})
    conditions = _conditions(open_for_proposals)
    words = search_words(filters.q)
    if words:
        conditions.append(_matches(session, words))
    stmt = _listing(
        *conditions, Opportunity.published_at > after, Opportunity.published_at <= until
    )
    rows = session.execute(stmt.order_by(Opportunity.published_at, Opportunity.id)).all()
    return _listed(session, rows)


def _listed(
    session: Session, rows: Sequence[Row[Opportunity, str, str, str | None]]
) -> list[Listed]:
    """List rows with their skills and contract dates, loaded in two more queries."""
    skills = skills_for(session, [row[0].id for row in rows])
    dates = contract_delivery_dates(session, [row[0] for row in rows])
    return [
        Listed(
            opportunity,
            team_slug,
            team_name,
            project_slug,
            skills.get(opportunity.id, []),
            dates.get(opportunity.id),
        )
        for opportunity, team_slug, team_name, project_slug in rows
    ]


def get_listed(session: Session, opportunity_id: int) -> Listed | None:
    row = session.execute(
        select(Opportunity, Team.slug, Team.name, Project.slug)
        .join(Team, Team.id == Opportunity.team_id)
        .outerjoin(Project, Project.id == Opportunity.project_id)
        .where(Opportunity.id == opportunity_id)
    ).first()
    if row is None:
        return None
    opportunity, team_slug, team_name, project_slug = row
    skills = skills_for(session, [opportunity.id]).get(opportunity.id, [])
    due = contract_delivery_date(session, opportunity)
    return Listed(opportunity, team_slug, team_name, project_slug, skills, due)


def contract_delivery_dates(
    session: Session, opportunities: Sequence[Opportunity]
) -> dict[int, date | None]:
    """When each awarded opportunity's current contract is due, in one query: the date the
    owner set when extending it, else the awarded proposal's, else the opportunity's. Absent
    for work without a current award."""
    by_id = {opportunity.id: opportunity for opportunity in opportunities}
    if not by_id:
        return {}
    rows = session.execute(
        select(Award.opportunity_id, Award.delivery_date, Proposal.delivery_date)
        .join(Proposal, Proposal.id == Award.proposal_id)
        .where(Award.opportunity_id.in_(by_id), Award.ended_at.is_(None))
    ).all()
    return {
        opportunity_id: extended or proposed or by_id[opportunity_id].delivery_date
        for opportunity_id, extended, proposed in rows
    }


def contract_delivery_date(session: Session, opportunity: Opportunity) -> date | None:
    return contract_delivery_dates(session, [opportunity]).get(opportunity.id)


def skills_for(session: Session, opportunity_ids: Sequence[int]) -> dict[int, list[str]]:
    if not opportunity_ids:
        return {}
    found: dict[int, list[str]] = defaultdict(list)
    for opportunity_id, skill in session.execute(
        select(OpportunitySkill.opportunity_id, OpportunitySkill.skill)
        .where(OpportunitySkill.opportunity_id.in_(opportunity_ids))
        .order_by(OpportunitySkill.skill)
    ):
        found[opportunity_id].append(skill)
    return found


def replace_skills(session: Session, opportunity_id: int, skills: Sequence[str]) -> None:
    session.execute(
        delete(OpportunitySkill).where(OpportunitySkill.opportunity_id == opportunity_id)
    )
    session.add_all(OpportunitySkill(opportunity_id=opportunity_id, skill=s) for s in skills)


def public_skills(session: Session, limit: int = 200) -> list[str]:
    """Skills of public opportunities, alphabetically.

    A recursive "loose index scan": each step jumps to the next skill in the skill index that
    belongs to a public opportunity, so the cost grows with the number of distinct skills, not
    with the number of opportunities. Skills used only by drafts never appear.
    """
    skills = select(_next_public_skill(None).label("skill")).cte("skills", recursive=True)
    skills = skills.union_all(
        select(_next_public_skill(skills.c.skill)).where(skills.c.skill.is_not(None))
    )
    rows = session.scalars(select(skills.c.skill).where(skills.c.skill.is_not(None)).limit(limit))
    return list(rows)


def _next_public_skill(after: Any) -> Any:
    inner = (
        select(OpportunitySkill.skill)
        .join(Opportunity, Opportunity.id == OpportunitySkill.opportunity_id)
        .where(Opportunity.published_at.is_not(None))
        .order_by(OpportunitySkill.skill)
        .limit(1)
    )
    if after is not None:
        inner = inner.where(OpportunitySkill.skill > after)
    return inner.scalar_subquery()


def drafts_of_teams(session: Session, team_ids: Sequence[int]) -> Sequence[Opportunity]:
    return session.scalars(
        select(Opportunity)
        .where(Opportunity.team_id.in_(team_ids), Opportunity.published_at.is_(None))
        .order_by(Opportunity.updated_at.desc())
    ).all()


def public_counts_by_state(session: Session) -> dict[OpportunityState, int]:
    rows = session.execute(
        select(Opportunity.state, func.count())
        .where(Opportunity.published_at.is_not(None))
        .group_by(Opportunity.state)
    ).all()
    return dict(rows)


def total_paid_cents(session: Session, currency: str) -> int:
    """Computed from the data alone: no offsets, no configuration. Each paid opportunity
    counts for its contract, the winning bid, which may be below its budget."""
    total = session.scalar(
        select(func.coalesce(func.sum(Proposal.price_cents), 0))
        .join(Award, Award.proposal_id == Proposal.id)
        .join(Opportunity, Opportunity.id == Award.opportunity_id)
        .where(Opportunity.state == OpportunityState.PAID, Opportunity.currency == currency)
    )
    return int(total or 0)


def past_deadline_ids(session: Session, now: datetime) -> Sequence[int]:
    return session.scalars(
        select(Opportunity.id).where(
            Opportunity.state == OpportunityState.PUBLISHED, Opportunity.proposal_deadline <= now
        )
    ).all()


def merge_check_due(now: datetime) -> list[ColumnElement[bool]]:
    """Work in progress whose issue GitHub should be asked about now (see
    payonpull.tasks.check_started_work)."""
    return [
        Opportunity.state == OpportunityState.IN_PROGRESS,
        Opportunity.merge_check_due_at.is_not(None),
        Opportunity.merge_check_due_at <= now,
    ]
