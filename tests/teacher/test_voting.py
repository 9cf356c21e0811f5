"""Self-consistency voting: unanimous and majority, valid, invalid and mixed cases."""

from __future__ import annotations

import pytest

from sightsound_teacher.voting import VotePolicy, vote


class TestUnanimous:
    def test_all_agree(self) -> None:
        c = vote([2, 2, 2, 2])
        assert (c.reached, c.answer_index, c.agreement, c.traces_used) == (True, 2, 1.0, 4)
        assert c.policy == "unanimous"

    def test_k1(self) -> None:
        assert vote([3]).reached and vote([3]).answer_index == 3
        assert not vote([None]).reached

    def test_unparsed_sample_breaks_unanimity(self) -> None:
        c = vote([1, 1, 1, None])
        assert (c.reached, c.answer_index, c.agreement, c.traces_used, c.traces_parsed) == (False, None, 0.75, 4, 3)

    def test_disagreement(self) -> None:
        c = vote([0, 0, 1])
        assert not c.reached and c.answer_index is None
        assert c.agreement == pytest.approx(2 / 3)


class TestMajority:
    def test_strict_majority(self) -> None:
        c = vote([1, 1, 2], "majority", 0.5)
        assert (c.reached, c.answer_index) == (True, 1)
        assert c.agreement == pytest.approx(2 / 3)

    def test_share_equal_to_threshold_fails(self) -> None:
        assert not vote([1, 1, 2, 3], "majority", 0.5).reached

    def test_unparsed_count_in_denominator(self) -> None:
        c = vote([1, 1, None, None, 2], "majority", 0.5)
        assert not c.reached and c.agreement == pytest.approx(0.4)
        assert (c.traces_used, c.traces_parsed) == (5, 3)

    @pytest.mark.parametrize("threshold", [0.1, 0.25, 0.5])
    def test_ties_never_reach_consensus(self, threshold: float) -> None:
        c = vote([0, 0, 3, 3], "majority", threshold)
        assert not c.reached and c.answer_index is None and c.agreement == 0.5

    def test_tie_for_first_with_a_third_answer(self) -> None:
        assert not vote([0, 0, 1, 1, 2], "majority", 0.1).reached

    def test_threshold_one_is_unanimity_of_all_samples(self) -> None:
        assert not vote([1, 1, 1], "majority", 1.0).reached  # > 1.0 is impossible
        assert vote([1, 1, 1], "majority", 0.99).reached

    def test_k1(self) -> None:
        assert vote([0], "majority").reached


class TestEdges:
    def test_nothing_parsed(self) -> None:
        policies: tuple[VotePolicy, ...] = ("unanimous", "majority")
        for policy in policies:
            c = vote([None, None], policy)
            assert (c.reached, c.answer_index, c.agreement, c.traces_used, c.traces_parsed) == (
                False,
                None,
                0.0,
                2,
                0,
            )

    def test_no_samples(self) -> None:
        c = vote([])
        assert not c.reached and (c.traces_used, c.traces_parsed) == (0, 0)

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError):
            vote([1], "plurality")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            vote([1], "majority", 0.0)
