"""Evaluation shapes for the JSON API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas import described


class AwardNoticeOut(BaseModel):
    model_config = described(
        "Public: who won, at what price, with what score, among how many proposals."
    )

    winner_login: str
    winner_name: str
    price_cents: int
    currency: str
    total: Decimal
    averages: dict[str, Decimal]
    proposals_received: int
    reason: str
    awarded_at: datetime


class ConsensusRowOut(BaseModel):
    proposal_id: int
    label: str = Field(
        description='"A", "B", ... as the proposal was known while evaluators scored.'
    )
    developer_login: str
    price_cents: int
    rank: int | None
    total: Decimal | None
    averages: dict[str, Decimal]
    evaluations: int
    disqualified: bool


class DeclarationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    has_conflict: bool
    reviewed_draft: bool = Field(
        default=False,
        description="You peer reviewed this opportunity's draft; required when you did.",
    )
    note: str = Field(default="", max_length=2000)


class DeclarationOut(BaseModel):
    evaluator_login: str
    evaluator_name: str
    has_conflict: bool
    reviewed_draft: bool
    note: str
    declared_at: datetime


class ProposalToScoreOut(BaseModel):
    proposal_id: int
    label: str = Field(description='"A", "B", ... in the order the proposals were submitted.')
    state: str
    evaluated_by_you: bool


class EvaluationOut(BaseModel):
    model_config = described(
        "The evaluation page's facts. Blind: no bidder is named here; the consensus names them."
    )

    your_declaration: DeclarationOut | None
    you_reviewed_the_draft: bool = Field(
        description="You peer reviewed this opportunity's draft: say so in your declaration."
    )
    proposals: list[ProposalToScoreOut] = Field(
        description="After the deadline, for the owners and the evaluators who declared no "
        "conflict."
    )
    declarations: list[DeclarationOut] = Field(
        description="Every evaluator's declaration, for the owners only."
    )


class ScoreIn(BaseModel):
    score: int = Field(ge=0, le=5)
    comment: str = Field(default="", max_length=4000)


class ScoresIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scores: dict[str, ScoreIn]
    submit: bool = Field(default=False, description="Submit (final) or keep as a draft.")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=4000)


class AwardIn(ReasonIn):
    proposal_id: int = Field(ge=1, le=2**31 - 1)
