"""Issue 5, done means 3: scores, ranks and ties as documented in app/evaluations/scoring.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.evaluations.scoring import Candidate, Criterion, rank

RUBRIC = [
    Criterion("understanding", 30),
    Criterion("approach", 30),
    Criterion("experience", 20),
    Criterion("price", 20, is_price=True),
]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _candidate(
    pid: int,
    price: int,
    *,
    minutes: int = 0,
    disqualified: bool = False,
    same: dict[str, list[int]] | None = None,
    **scores: list[int],
) -> Candidate:
    return Candidate(
        pid, price, T0 + timedelta(minutes=minutes), disqualified, {**(same or {}), **scores}
    )


def test_weighted_total_with_price_by_formula() -> None:
    result = rank(
        RUBRIC,
        [
            _candidate(1, 100_000, understanding=[5, 3], approach=[4, 4], experience=[2, 4]),
            _candidate(2, 50_000, understanding=[3], approach=[3], experience=[3]),
        ],
    )
    first, second = result
    # 1: 30*4/5 + 30*4/5 + 20*3/5 + 20*(50000/100000) = 24 + 24 + 12 + 10 = 70
    # 2: 30*3/5 + 30*3/5 + 20*3/5 + 20*1 = 18 + 18 + 12 + 20 = 68
    assert (first.proposal_id, first.total, first.rank) == (1, Decimal("70.00"), 1)
    assert (second.proposal_id, second.total, second.rank) == (2, Decimal("68.00"), 2)
    assert first.averages == {
        "understanding": Decimal("4.00"),
        "approach": Decimal("4.00"),
        "experience": Decimal("3.00"),
    }
    assert second.price_points == Decimal("20.00")


def test_ties_break_on_lower_price_then_earlier_submission_then_number() -> None:
    same = {"understanding": [5], "approach": [5], "experience": [5]}
    # Equal totals need equal price points, so equal prices; then submission time decides.
    result = rank(
        [Criterion("understanding", 40), Criterion("approach", 40), Criterion("experience", 20)],
        [
            _candidate(3, 1000, minutes=5, same=same),
            _candidate(4, 900, minutes=9, same=same),
            _candidate(1, 1000, minutes=5, same=same),
            _candidate(2, 1000, minutes=1, same=same),
        ],
    )
    assert [r.proposal_id for r in result] == [4, 2, 1, 3]
    assert len({r.total for r in result}) == 1
    assert [r.rank for r in result] == [1, 2, 3, 4]


def test_disqualified_proposals_are_not_ranked_and_do_not_set_the_lowest_price() -> None:
    result = rank(
        RUBRIC,
        [
            _candidate(
                1, 10_000, disqualified=True, understanding=[5], approach=[5], experience=[5]
            ),
            _candidate(2, 40_000, understanding=[1], approach=[1], experience=[1]),
        ],
    )
    assert [r.proposal_id for r in result] == [2]
    assert result[0].price_points == Decimal("20.00")  # the lowest *ranked* price is its own


def test_no_scores_yet_counts_zero() -> None:
    [only] = rank(RUBRIC, [_candidate(1, 5000)])
    assert only.total == Decimal("20.00")
    assert rank(RUBRIC, []) == []


@given(
    st.lists(
        st.tuples(st.integers(1, 999_900), st.lists(st.integers(0, 5), max_size=4), st.booleans()),
        min_size=1,
        max_size=8,
    )
)
def test_ranks_are_a_permutation_and_totals_stay_within_100(
    data: list[tuple[int, list[int], bool]],
) -> None:
    candidates = [
        _candidate(i, price, disqualified=dq, understanding=s, approach=s, experience=s)
        for i, (price, s, dq) in enumerate(data)
    ]
    result = rank(RUBRIC, candidates)
    assert [r.rank for r in result] == list(range(1, len(result) + 1))
    assert all(Decimal(0) <= r.total <= Decimal(100) for r in result)
    assert [r.total for r in result] == sorted((r.total for r in result), reverse=True)
