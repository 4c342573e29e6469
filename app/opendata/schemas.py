"""The rows of the open datasets, the same in CSV and JSON. Each field's description is its
meaning in the data dictionary (English here, French from the catalogue): the columns, their
order, types and meanings are a published contract, so a column is only ever added at the end."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from app.i18n import N_
from app.schemas import described


class StateChange(BaseModel):
    state: str
    at: datetime


class OpportunityRecord(BaseModel):
    id: int = Field(description=N_("Number of the opportunity on Dev Exchange"))
    url: str = Field(description=N_("Its page"))
    title: str = Field(description=N_("Title in English"))
    title_fr: str = Field(description=N_("Title in French, when the team wrote one"))
    team: str = Field(description=N_("The team that posted it (the end of its page address)"))
    state: str = Field(
        description=N_(
            "Where it stands: published, evaluating, awarded, in_progress, merged, paid, "
            "cancelled, unsuccessful or on_hold"
        )
    )
    amount_cents: int = Field(description=N_("Fixed price, taxes included, in cents"))
    currency: str = Field(description=N_("Currency of every amount (ISO code)"))
    skills: list[str] = Field(
        description=N_("Skills asked for, separated by semicolons in the CSV")
    )
    published_at: datetime | None = Field(description=N_("When it was first published (UTC)"))
    proposal_deadline: datetime = Field(description=N_("Deadline for proposals (UTC)"))
    delivery_date: date | None = Field(description=N_("Expected delivery date, if any"))
    github_repository: str = Field(description=N_("The GitHub repository of the work"))
    github_issue_number: int | None = Field(description=N_("The GitHub issue the work closes"))
    licence: str = Field(description=N_("The repository's open-source licence (SPDX identifier)"))
    awarded_to: str = Field(
        description=N_("GitHub login of the developer who won it, once awarded")
    )
    awarded_price_cents: int | None = Field(
        description=N_("The winning proposal's price, in cents")
    )
    awarded_at: datetime | None = Field(description=N_("When it was awarded (UTC)"))
    problem_statement: str = Field(description=N_("The problem to solve, in English"))
    problem_statement_fr: str = Field(description=N_("The problem to solve, in French"))
    acceptance_criteria: str = Field(description=N_("The acceptance criteria, in English"))
    acceptance_criteria_fr: str = Field(description=N_("The acceptance criteria, in French"))
    context_links: list[str] = Field(
        description=N_("Web addresses for context, separated by semicolons in the CSV")
    )
    remote: bool = Field(description=N_("Whether the work can be done remotely"))
    location: str = Field(description=N_("Where the work is done, if anywhere in particular"))
    state_history: list[StateChange] = Field(
        description=N_(
            "Each public change of state with its time (UTC), oldest first; in the CSV, "
            "“state time” pairs separated by semicolons"
        )
    )


class AwardRecord(BaseModel):
    opportunity_id: int = Field(description=N_("Number of the opportunity awarded"))
    opportunity_url: str = Field(description=N_("The opportunity's page"))
    team: str = Field(description=N_("The team that posted it (the end of its page address)"))
    winner_login: str = Field(description=N_("GitHub login of the developer who won it"))
    winner_name: str = Field(description=N_("The name the winner shows on their public profile"))
    price_cents: int = Field(description=N_("The winning proposal's price, in cents"))
    currency: str = Field(description=N_("Currency of every amount (ISO code)"))
    awarded_at: datetime = Field(description=N_("When it was awarded (UTC)"))
    accepted_at: datetime | None = Field(
        description=N_("When the winner accepted the contract (UTC), once they have")
    )
    score_total: float = Field(description=N_("The winning proposal's total score, out of 100"))
    proposals_received: int = Field(description=N_("How many proposals were received"))


class PaymentRecord(BaseModel):
    opportunity_id: int = Field(description=N_("Number of the opportunity the payment is for"))
    opportunity_url: str = Field(description=N_("The opportunity's page"))
    team: str = Field(description=N_("The team that paid (the end of its page address)"))
    github_repository: str = Field(description=N_("The GitHub repository of the work"))
    licence: str = Field(description=N_("The repository's open-source licence (SPDX identifier)"))
    amount_cents: int = Field(
        description=N_("The amount released, in cents (the platform's fee, if any, included)")
    )
    currency: str = Field(description=N_("Currency of every amount (ISO code)"))
    released_at: datetime = Field(description=N_("When the payment was released (UTC)"))


class AddendumRecord(BaseModel):
    opportunity_id: int = Field(description=N_("Number of the opportunity the addendum changes"))
    opportunity_url: str = Field(description=N_("The opportunity's page"))
    number: int = Field(description=N_("Number of the addendum, from 1 for each opportunity"))
    published_at: datetime = Field(description=N_("When the addendum was published (UTC)"))
    new_deadline: datetime | None = Field(
        description=N_("The new deadline for proposals it set (UTC), if any")
    )
    answers_question: bool = Field(
        description=N_("Whether it answers a question someone asked (asked without a name)")
    )
    body: str = Field(description=N_("Its text; an answer gives the question and the answer"))


class DatasetFile(BaseModel):
    model_config = described(
        "How each JSON file is wrapped: what it is, under which licence, then its rows. The count"
        " comes after the rows (the file is written as it is read from the database)."
    )

    name: str
    title: str
    licence: str
    licence_url: str
    generated_at: datetime
    items: list[OpportunityRecord] | list[AwardRecord] | list[PaymentRecord] | list[AddendumRecord]
    records: int
