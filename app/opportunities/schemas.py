"""Opportunity shapes: list filters, API input and output."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from starlette.datastructures import QueryParams

from app.i18n import gettext as _
from app.models import OpportunityState
from app.schemas import described
from app.text import parse_date, parse_local_datetime, parse_money_to_cents

PUBLIC_STATES = tuple(
    s
    for s in OpportunityState
    if s not in (OpportunityState.DRAFT, OpportunityState.IN_PEER_REVIEW)
)
MAX_CONTEXT_LINKS = 20


class Sort(StrEnum):
    NEWEST = "newest"
    DEADLINE = "deadline"
    AMOUNT_HIGH = "amount_high"
    AMOUNT_LOW = "amount_low"


class ListFilters(BaseModel):
    """What a listing asks for; the same for the HTML list and the API."""

    q: str = Field(default="", max_length=200)
    state: list[str] = Field(default_factory=list)
    skill: str = Field(default="", max_length=50)
    team: str = Field(default="", max_length=80)
    amount_min_cents: int | None = Field(default=None, ge=0, le=2**31 - 1)
    amount_max_cents: int | None = Field(default=None, ge=0, le=2**31 - 1)
    sort: Sort = Sort.NEWEST
    cursor: str = Field(default="", max_length=200)
    limit: int = Field(default=20, ge=1, le=100)
    project_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


def filters_from_query(params: QueryParams) -> tuple[ListFilters, list[str]]:
    """The listing's query string (its page and its feed), forgiving: a bad value is reported
    and ignored."""
    problems: list[str] = []
    amounts: dict[str, int | None] = {}
    for name in ("amount_min", "amount_max"):
        raw = params.get(name, "").strip()
        amounts[name] = parse_money_to_cents(raw) if raw else None
        if raw and amounts[name] is None:
            problems.append(_("“%(value)s” is not an amount; it was ignored.", value=raw))
    sort = params.get("sort", Sort.NEWEST.value)
    filters = ListFilters(
        q=params.get("q", "")[:200],
        state=[s for s in params.getlist("state") if s in PUBLIC_STATES],
        skill=params.get("skill", "")[:50],
        team=params.get("team", "")[:80],
        amount_min_cents=amounts["amount_min"],
        amount_max_cents=amounts["amount_max"],
        sort=Sort(sort) if sort in {s.value for s in Sort} else Sort.NEWEST,
        cursor=params.get("cursor", "")[:200],
    )
    return filters, problems


class OpportunityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    state: str
    title: str
    title_fr: str
    problem_statement: str
    problem_statement_fr: str
    context_links: list[str]
    acceptance_criteria: str
    acceptance_criteria_fr: str
    skills: list[str]
    remote: bool
    location: str
    amount_cents: int
    currency: str
    proposal_deadline: datetime
    delivery_date: date | None
    contract_delivery_date: date | None = Field(
        None,
        description="Once awarded, when the contract is due: the date set when the team "
        "extended it, else the awarded proposal's, else delivery_date.",
    )
    team_slug: str
    project_slug: str | None
    github_repository_id: int | None
    github_repository_full_name: str
    github_issue_number: int | None
    github_issue_url: str
    require_passing_checks: bool = Field(
        description="Pay only when the merged commit's checks (check runs and statuses) passed."
    )
    license_spdx: str
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    url: str


class OpportunityPage(BaseModel):
    items: list[OpportunityOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class DraftIn(BaseModel):
    """A draft as a team writes it, on its page or through the API: the one list of its fields.

    Amounts are integer cents in the platform currency. A rule the service words for the person
    (opportunities.service.validate_draft: a title, an amount under the cap, a deadline ahead,
    the links and skills) is not a constraint here, so the page can show its message; the API's
    `OpportunityIn` adds those constraints to its schema.
    """

    project: str = Field(default="", description="Slug of the team's project, if any.")
    title: str = Field(default="", max_length=200)
    title_fr: str = Field(default="", max_length=200)
    problem_statement: str = Field(default="", max_length=20_000)
    problem_statement_fr: str = Field(default="", max_length=20_000)
    context_links: list[str] = Field(default_factory=list)
    acceptance_criteria: str = Field(default="", max_length=20_000)
    acceptance_criteria_fr: str = Field(default="", max_length=20_000)
    skills: list[str] = Field(default_factory=list)
    remote: bool = True
    location: str = Field(default="", max_length=200)
    amount_cents: int | None = None
    proposal_deadline: datetime | None = None
    delivery_date: date | None = None
    github_issue_url: str = Field(default="", max_length=300)
    require_passing_checks: bool = Field(
        default=False,
        description="Pay only when the merged commit's checks (check runs and statuses) passed.",
    )
    license_spdx: str = Field(default="", max_length=60)


class OpportunityIn(DraftIn):
    model_config = described(
        "A draft as a team writes it. Amounts are integer cents in the platform currency.",
        extra="forbid",
    )

    title: str = Field(min_length=1, max_length=200)
    # Checked by the service, as the form's are (opportunities.service.context_links_problem).
    context_links: list[Annotated[str, WithJsonSchema({"type": "string", "format": "uri"})]] = (
        Field(
            default_factory=list,
            max_length=MAX_CONTEXT_LINKS,
            description="Web addresses (https:// or http://) a bidder needs.",
        )
    )
    skills: list[str] = Field(default_factory=list, max_length=15)
    amount_cents: int = Field(gt=0, le=2**31 - 1)
    proposal_deadline: AwareDatetime = Field(
        description="With its time zone, e.g. 2026-12-01T17:00:00-05:00."
    )


class DraftForm(DraftIn):
    """The draft as its page's form posts it: text, read into the values the API takes. A value
    that cannot be read (an amount that is not dollars, a date that is not one) becomes None, so
    the service says what is missing, as it does for the API."""

    model_config = ConfigDict(extra="ignore")  # the form also posts its token and its button

    @model_validator(mode="before")
    @classmethod
    def _read_text(cls, form: dict[str, str], info: ValidationInfo) -> dict[str, object]:
        # The form's date-time has no zone: it is the settings' (read_form(..., zone=...)).
        zone: ZoneInfo = (info.context or {})["zone"]
        return {
            **form,
            "context_links": form.get("context_links", "").splitlines(),
            "skills": form.get("skills", "").split(","),
            "remote": form.get("remote") == "on",  # an unticked checkbox is not posted
            "require_passing_checks": form.get("require_passing_checks") == "on",
            "amount_cents": parse_money_to_cents(form.get("amount", "")),
            "proposal_deadline": parse_local_datetime(form.get("proposal_deadline", ""), zone),
            "delivery_date": parse_date(form.get("delivery_date", "")),
        }


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)
