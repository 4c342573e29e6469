"""Open data: the public record of the marketplace, as CSV for spreadsheets and JSON for code.
Every figure comes from the data alone (DESIGN's lesson from the BC Digital Marketplace).

Files are written as they are read: batch after batch from the database straight into the
response, so a large file never sits whole in memory."""

from __future__ import annotations

import csv
import io
import json
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.config import Settings
from app.evaluations import service as evaluations
from app.i18n import N_, translations_for
from app.models.base import utcnow
from app.opendata import repository
from app.opendata.schemas import (
    AddendumRecord,
    AwardRecord,
    OpportunityRecord,
    PaymentRecord,
    StateChange,
)
from app.opportunities.repository import skills_for

# A cell that starts like a formula is run by spreadsheets (CSV injection): such text is
# prefixed with an apostrophe, which they show as plain text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH_SIZE = 500

Row = TypeVar("Row")
Records = Iterator[Sequence[BaseModel]]


@dataclass(frozen=True)
class Column:
    """One line of the data dictionary."""

    name: str
    type: str
    nullable: bool
    meaning: str  # English; in French through the catalogue

    @property
    def meaning_fr(self) -> str:
        return translations_for("fr").gettext(self.meaning)


@dataclass(frozen=True)
class OpenDataset:
    name: str  # in the files' addresses: /opendata/<name>.csv and .json
    title: str  # English, marked for the catalogue
    description: str
    record: type[BaseModel]
    read: Callable[[Session, str], Records]

    @property
    def columns(self) -> list[Column]:
        return [
            Column(name, *_column_type(field.annotation), field.description or "")
            for name, field in self.record.model_fields.items()
        ]


_TYPES: dict[Any, str] = {
    int: "integer",
    float: "number",
    str: "text",
    bool: "boolean",
    date: "date",
    datetime: "datetime",
    StateChange: "state_change",
}


def _column_type(annotation: Any) -> tuple[str, bool]:
    """The dictionary's name of a field's type ("list of text"...), and whether it may be empty."""
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _column_type(inner[0])[0], True
    if get_origin(annotation) is list:
        return f"list of {_TYPES[get_args(annotation)[0]]}", False
    return _TYPES[annotation], False


def _walk(
    fetch: Callable[[int, int], Sequence[Row]], key: Callable[[Row], int]
) -> Iterator[Sequence[Row]]:
    """Every row, one batch at a time, each batch after the last key of the one before."""
    after = 0
    while batch := fetch(after, BATCH_SIZE):
        yield batch
        if len(batch) < BATCH_SIZE:
            return
        after = key(batch[-1])


def _opportunities(session: Session, base_url: str) -> Records:
    def fetch(after: int, limit: int) -> Sequence[repository.PublicRow]:
        return repository.public_opportunities(session, after, limit)

    for rows in _walk(fetch, lambda row: row[0].id):
        ids = [row[0].id for row in rows]
        skills = skills_for(session, ids)
        history = repository.public_state_history(session, ids)
        yield [
            OpportunityRecord(
                id=o.id,
                url=f"{base_url}/opportunities/{o.id}",
                title=o.title,
                title_fr=o.title_fr,
                team=team_slug,
                state=o.state,
                amount_cents=o.amount_cents,
                currency=o.currency,
                skills=skills.get(o.id, []),
                published_at=o.published_at,
                proposal_deadline=o.proposal_deadline,
                delivery_date=o.delivery_date,
                github_repository=o.github_repository_full_name,
                github_issue_number=o.github_issue_number,
                licence=o.license_spdx,
                awarded_to=login or "",
                awarded_price_cents=price,
                awarded_at=awarded_at,
                problem_statement=o.problem_statement,
                problem_statement_fr=o.problem_statement_fr,
                acceptance_criteria=o.acceptance_criteria,
                acceptance_criteria_fr=o.acceptance_criteria_fr,
                context_links=o.context_links.split(),
                remote=o.remote,
                location=o.location,
                state_history=[StateChange(state=s, at=at) for s, at in history.get(o.id, [])],
            )
            for o, team_slug, login, price, awarded_at in rows
        ]


def _awards(session: Session, base_url: str) -> Records:
    def fetch(after: int, limit: int) -> Sequence[repository.AwardRow]:
        return repository.awards(session, after, limit)

    for rows in _walk(fetch, lambda row: row[0].id):
        records = []
        for award, opportunity, team_slug in rows:
            # What the award notice on the opportunity's page says, and nothing more.
            notice = evaluations.public_notice(session, opportunity)
            if notice is None:
                continue
            records.append(
                AwardRecord(
                    opportunity_id=opportunity.id,
                    opportunity_url=f"{base_url}/opportunities/{opportunity.id}",
                    team=team_slug,
                    winner_login=notice.winner_login,
                    winner_name=notice.winner_name,
                    price_cents=notice.price_cents,
                    currency=notice.currency,
                    awarded_at=notice.awarded_at,
                    accepted_at=award.accepted_at,
                    score_total=float(notice.total),
                    proposals_received=notice.proposals_received,
                )
            )
        yield records


def _payments(session: Session, base_url: str) -> Records:
    def fetch(after: int, limit: int) -> Sequence[repository.PaymentRow]:
        return repository.released_payments(session, after, limit)

    for rows in _walk(fetch, lambda row: row.id):
        yield [
            PaymentRecord(
                opportunity_id=row.opportunity_id,
                opportunity_url=f"{base_url}/opportunities/{row.opportunity_id}",
                team=row.slug,
                github_repository=row.github_repository_full_name,
                licence=row.license_spdx,
                amount_cents=row.amount_cents,
                currency=row.currency,
                released_at=row.released_at,
            )
            for row in rows
        ]


def _addenda(session: Session, base_url: str) -> Records:
    def fetch(after: int, limit: int) -> Sequence[repository.AddendumRow]:
        return repository.addenda(session, after, limit)

    for rows in _walk(fetch, lambda row: row[0]):
        yield [
            AddendumRecord(
                opportunity_id=opportunity_id,
                opportunity_url=f"{base_url}/opportunities/{opportunity_id}",
                number=number,
                published_at=created_at,
                new_deadline=new_deadline,
                answers_question=question_id is not None,
                body=body,
            )
            for _id, opportunity_id, created_at, new_deadline, question_id, body, number in rows
        ]


DATASETS = (
    OpenDataset(
        "opportunities",
        N_("Opportunities"),
        N_(
            "Every opportunity ever published, whatever its state now, with its public "
            "changes of state and the public facts of its award."
        ),
        OpportunityRecord,
        _opportunities,
    ),
    OpenDataset(
        "awards",
        N_("Awards"),
        N_(
            "Every award: who won, at what price, when, with what score among how many "
            "proposals, as each award notice says."
        ),
        AwardRecord,
        _awards,
    ),
    OpenDataset(
        "payments",
        N_("Payments released"),
        N_("Every payment released to a developer for merged work: the amount and the date."),
        PaymentRecord,
        _payments,
    ),
    OpenDataset(
        "addenda",
        N_("Questions and addenda"),
        N_(
            "Every addendum to a published opportunity, including each answered question "
            "(published without the asker's name)."
        ),
        AddendumRecord,
        _addenda,
    ),
)
BY_NAME = {dataset.name: dataset for dataset in DATASETS}


def as_csv(dataset: OpenDataset, batches: Records) -> Iterator[str]:
    """Columns in the dictionary's order; lists joined with "; "; empty cells for nothing. The
    byte-order mark lets spreadsheet programs read the accents as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(dataset.record.model_fields)
    yield "\ufeff" + _drain(out)
    for batch in batches:
        writer.writerows(
            [_cell(value) for value in record.model_dump(mode="json").values()] for record in batch
        )
        yield _drain(out)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "; ".join(map(_item, value)) if isinstance(value, list) else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _item(value: object) -> str:
    """A list's item in one cell: a state change as "state time"."""
    return " ".join(map(str, value.values())) if isinstance(value, dict) else str(value)


def as_json(dataset: OpenDataset, settings: Settings, batches: Records) -> Iterator[str]:
    """The DatasetFile shape, written as the rows come; the count closes the object."""
    head = {
        "name": dataset.name,
        "title": dataset.title,
        "licence": settings.opendata_licence_name,
        "licence_url": settings.opendata_licence_url,
        "generated_at": utcnow().isoformat(),
    }
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "items": ['
    count = 0
    for batch in batches:
        rows = [record.model_dump_json() for record in batch]
        if rows:
            yield ("," if count else "") + ",".join(rows)
        count += len(rows)
    yield f'], "records": {count}}}'


def dictionary(settings: Settings) -> dict[str, Any]:
    """The data dictionary of every dataset, in both languages, for programs."""
    return {
        "licence": settings.opendata_licence_name,
        "licence_url": settings.opendata_licence_url,
        "datasets": [
            {
                "name": dataset.name,
                "title": dataset.title,
                "title_fr": translations_for("fr").gettext(dataset.title),
                "columns": [
                    {
                        "name": column.name,
                        "type": column.type,
                        "nullable": column.nullable,
                        "meaning": column.meaning,
                        "meaning_fr": column.meaning_fr,
                    }
                    for column in dataset.columns
                ],
            }
            for dataset in DATASETS
        ],
    }
