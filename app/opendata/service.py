"""Open data: the public record of the marketplace, as CSV for spreadsheets and JSON for code.
Every figure comes from the data alone (DESIGN's lesson from the BC Digital Marketplace)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.opendata import repository
from app.opendata.schemas import Dataset, OpportunityRecord
from app.opportunities.repository import skills_for

# A cell that starts like a formula is run by spreadsheets (CSV injection): such text is
# prefixed with an apostrophe, which they show as plain text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def opportunities(session: Session, base_url: str) -> Dataset:
    rows = repository.public_opportunities(session)
    skills = skills_for(session, [row[0].id for row in rows])
    items = [
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
        )
        for o, team_slug, login, price, awarded_at in rows
    ]
    return Dataset(name="opportunities", records=len(items), generated_at=utcnow(), items=items)


def as_csv(records: Sequence[OpportunityRecord]) -> str:
    """Columns in the JSON field order; lists joined with "; "; empty cells for nothing."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(OpportunityRecord.model_fields)
    for record in records:
        writer.writerow(_cell(value) for value in record.model_dump(mode="json").values())
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = "; ".join(value) if isinstance(value, list) else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text
