"""The signed-in person's work lists as JSON: the same items as the pages, in the same order."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.work.service import Contract, Item, Kind, MyWork, ProposalSummary


class WorkItemOut(BaseModel):
    kind: Kind
    action: str = Field(description="What to do, in the reader's language")
    link: str = Field(description="The page where it is done (a path on this site)")
    opportunity_id: int | None
    title: str = Field(description="The opportunity's title, or a team's name")
    title_fr: str
    due: datetime | None = Field(description="When it must be done by, if there is a limit")
    remaining: int | None = Field(description="Proposals left to score")
    amount_cents: int | None
    currency: str
    note: str = Field(description="The question to answer")

    @classmethod
    def of(cls, item: Item) -> WorkItemOut:
        return cls(
            kind=item.kind,
            action=item.action,
            link=item.link,
            opportunity_id=item.opportunity_id,
            title=item.title,
            title_fr=item.title_fr,
            due=item.due,
            remaining=item.remaining,
            amount_cents=item.amount_cents,
            currency=item.currency,
            note=item.note,
        )


class NeedsYouOut(BaseModel):
    count: int = Field(description="How many items; the navigation shows the same number")
    items: list[WorkItemOut]


class MyProposalOut(BaseModel):
    id: int
    opportunity_id: int
    title: str
    title_fr: str
    state: str
    price_cents: int
    currency: str
    proposal_deadline: datetime
    link: str

    @classmethod
    def of(cls, summary: ProposalSummary) -> MyProposalOut:
        p, o = summary.proposal, summary.opportunity
        return cls(
            id=p.id,
            opportunity_id=o.id,
            title=o.title,
            title_fr=o.title_fr,
            state=p.state,
            price_cents=p.price_cents,
            currency=p.currency,
            proposal_deadline=o.proposal_deadline,
            link=summary.link,
        )


class ContractOut(BaseModel):
    opportunity_id: int
    title: str
    title_fr: str
    opportunity_state: str
    accept_by: datetime
    accepted_at: datetime | None
    price_cents: int
    currency: str
    payout_state: str | None = Field(description="None until the team starts funding it")
    payment_record: str = Field(description="The printable record, once paid; empty before")

    @classmethod
    def of(cls, contract: Contract) -> ContractOut:
        o = contract.opportunity
        return cls(
            opportunity_id=o.id,
            title=o.title,
            title_fr=o.title_fr,
            opportunity_state=o.state,
            accept_by=contract.award.accept_by,
            accepted_at=contract.award.accepted_at,
            price_cents=contract.price_cents,
            currency=contract.currency,
            payout_state=contract.payout.state if contract.payout else None,
            payment_record=contract.record_link,
        )


class MyWorkOut(BaseModel):
    count: int = Field(description="Items to do; the navigation shows the same number")
    to_do: list[WorkItemOut]
    proposals: list[MyProposalOut]
    contracts: list[ContractOut] = Field(description="Work awarded to you, and its payment")
    payouts_enabled: bool

    @classmethod
    def of(cls, work: MyWork) -> MyWorkOut:
        return cls(
            count=len(work.to_do),
            to_do=[WorkItemOut.of(item) for item in work.to_do],
            proposals=[MyProposalOut.of(p) for p in work.proposals],
            contracts=[ContractOut.of(c) for c in work.contracts],
            payouts_enabled=work.payouts_enabled,
        )
