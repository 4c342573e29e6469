"""The consensus arithmetic, in one pure function, so the rule is easy to read and to test.

Rule (shown to teams and bidders):
- Each person-scored criterion counts ``weight * (average score / 5)``, averaging the evaluators
  who submitted their evaluation of that proposal (0 when nobody has yet).
- The price criterion counts ``weight * (lowest price among ranked proposals / this price)``.
- The total is out of 100. Disqualified proposals are not ranked.
- Ties break by the lower price, then the earlier submission, then the lower proposal number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Criterion:
    key: str
    weight: int
    is_price: bool = False


@dataclass(frozen=True)
class Candidate:
    proposal_id: int
    price_cents: int
    submitted_at: datetime
    disqualified: bool = False
    # criterion key → scores (0-5) from the evaluators who submitted
    scores: dict[str, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Ranked:
    proposal_id: int
    rank: int
    total: Decimal
    averages: dict[str, Decimal]
    price_points: Decimal


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def rank(criteria: Sequence[Criterion], candidates: Sequence[Candidate]) -> list[Ranked]:
    ranked_pool = [c for c in candidates if not c.disqualified]
    if not ranked_pool:
        return []
    lowest = min(c.price_cents for c in ranked_pool)
    results = []
    for candidate in ranked_pool:
        averages: dict[str, Decimal] = {}
        total = Decimal(0)
        price_points = Decimal(0)
        for criterion in criteria:
            if criterion.is_price:
                price_points = (
                    Decimal(criterion.weight) * Decimal(lowest) / Decimal(candidate.price_cents)
                )
                total += price_points
                continue
            scores = candidate.scores.get(criterion.key, [])
            average = Decimal(sum(scores)) / Decimal(len(scores)) if scores else Decimal(0)
            averages[criterion.key] = _round(average)
            total += Decimal(criterion.weight) * average / Decimal(5)
        results.append((candidate, _round(total), averages, _round(price_points)))
    results.sort(key=lambda r: (-r[1], r[0].price_cents, r[0].submitted_at, r[0].proposal_id))
    return [
        Ranked(c.proposal_id, position, total, averages, points)
        for position, (c, total, averages, points) in enumerate(results, start=1)
    ]
