"""The GRPO objective's pieces: group advantages, clipping, KL, masks, and the batch order."""

from __future__ import annotations

import pytest
import torch

from sightsound_trainer.objective import completion_mask, group_advantages, grpo_loss, kl_to_reference
from sightsound_trainer.order import batch_indices, steps_for_epochs


def test_advantages_are_normalized_within_each_group_only() -> None:
    rewards = torch.tensor([2.0, 0.0, 1.0, 1.0, 5.0, 5.0, 5.0, 5.0])
    adv = group_advantages(rewards, 4)
    first, second = adv[:4], adv[4:]
    assert first.mean().abs() < 1e-6 and (first.std() - 1).abs() < 1e-3
    assert torch.equal(second, torch.zeros(4))  # a group that agrees teaches nothing
    assert adv[0] > 0 > adv[1]
    with pytest.raises(ValueError, match="groups of 3"):
        group_advantages(rewards, 3)


def test_policy_gradient_raises_the_log_prob_of_advantaged_completions() -> None:
    logps = torch.zeros(2, 3, requires_grad=True)
    advantages = torch.tensor([1.0, -1.0])
    mask = torch.ones(2, 3)
    terms = grpo_loss(logps, logps.detach(), None, advantages, mask, 0.2, 0.0)
    terms.loss.backward()
    assert logps.grad is not None
    assert (logps.grad[0] < 0).all() and (logps.grad[1] > 0).all()  # descent raises row 0, lowers row 1


def test_clipping_stops_the_gradient_beyond_the_trust_region() -> None:
    old = torch.zeros(1, 2)
    logps = torch.tensor([[0.5, 0.0]], requires_grad=True)  # ratio e^0.5 ≈ 1.65 on the first token
    terms = grpo_loss(logps, old, None, torch.tensor([1.0]), torch.ones(1, 2), 0.2, 0.0)
    terms.loss.backward()
    assert logps.grad is not None
    assert logps.grad[0, 0] == 0.0 and logps.grad[0, 1] != 0.0
    assert terms.clip_fraction.item() == pytest.approx(0.5)


def test_kl_is_zero_at_the_reference_and_positive_elsewhere() -> None:
    same = kl_to_reference(torch.tensor([-1.0, -3.0]), torch.tensor([-1.0, -3.0]))
    assert torch.equal(same, torch.zeros(2))
    assert (kl_to_reference(torch.tensor([-1.0, -2.0]), torch.tensor([-2.0, -1.0])) > 0).all()
    logps = torch.full((1, 2), -1.0, requires_grad=True)
    terms = grpo_loss(logps, logps.detach(), torch.full((1, 2), -2.0), torch.zeros(1), torch.ones(1, 2), 0.2, 0.5)
    assert terms.kl.item() > 0 and terms.loss.item() > 0


def test_padding_after_the_stop_token_is_masked_out() -> None:
    ids = torch.tensor([[7, 2, 0, 0], [7, 8, 9, 9]])
    mask = completion_mask(ids, [2])
    assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    logps = torch.zeros(2, 4, requires_grad=True)
    grpo_loss(logps, logps.detach(), None, torch.tensor([1.0, 1.0]), mask, 0.2, 0.0).loss.backward()
    assert logps.grad is not None and (logps.grad[0, 2:] == 0).all()


def test_batches_cover_every_example_once_per_epoch_across_ranks() -> None:
    n, world, size = 10, 2, 1
    taken = [i for b in range(5) for r in range(world) for i in batch_indices(n, 3, b, size, world, r)]
    assert sorted(taken) == list(range(n))
    assert batch_indices(n, 3, 7, 2, 2, 1) == batch_indices(n, 3, 7, 2, 2, 1)  # resumable: pure
    assert batch_indices(n, 3, 0, 4) != batch_indices(n, 4, 0, 4)
    assert steps_for_epochs(10, 3.0, 4) == 8
