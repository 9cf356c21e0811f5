"""The GRPO objective as pure tensor functions: group advantages, the clipped ratio, the KL estimate.

Shapes: ``rewards`` is ``[B * G]`` with the G completions of a prompt next to each other; per-token tensors
are ``[B * G, T]`` with ``mask`` 1 on completion tokens (up to and including the stop token).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def group_advantages(rewards: torch.Tensor, group_size: int, scale: bool = True, eps: float = 1e-4) -> torch.Tensor:
    """Each reward minus its group's mean, divided by the group's standard deviation when ``scale``.

    A group whose completions all scored the same gets zero advantage: it teaches nothing.

    >>> [round(a, 3) for a in group_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0]), 3).tolist()]
    [1.155, -0.577, -0.577, 0.0, 0.0, 0.0]
    >>> group_advantages(torch.tensor([1.0, 0.0]), 2, scale=False).tolist()
    [0.5, -0.5]
    """
    if rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {group_size}")
    grouped = rewards.view(-1, group_size)
    centered = grouped - grouped.mean(dim=1, keepdim=True)
    if scale:
        centered = centered / (grouped.std(dim=1, keepdim=True) + eps)
    return centered.reshape(-1)


def kl_to_reference(logps: torch.Tensor, ref_logps: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(policy ‖ reference): ``exp(r - p) - (r - p) - 1`` ≥ 0, 0 when equal.

    >>> [round(k, 4) for k in kl_to_reference(torch.tensor([-1.0, -2.0]), torch.tensor([-1.0, -1.0])).tolist()]
    [0.0, 0.7183]
    """
    delta = ref_logps - logps
    return torch.exp(delta) - delta - 1.0


@dataclass(frozen=True)
class ObjectiveTerms:
    loss: torch.Tensor
    kl: torch.Tensor
    clip_fraction: torch.Tensor


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1 (over all, or along ``dim``).

    >>> masked_mean(torch.tensor([[1.0, 3.0], [5.0, 7.0]]), torch.tensor([[1, 0], [1, 1]])).item()
    4.333333492279053
    """
    mask = mask.to(values.dtype)
    if dim is None:
        return (values * mask).sum() / mask.sum().clamp(min=1.0)
    return (values * mask).sum(dim) / mask.sum(dim).clamp(min=1.0)


def grpo_loss(
    logps: torch.Tensor,
    old_logps: torch.Tensor,
    ref_logps: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_epsilon: float,
    beta: float,
) -> ObjectiveTerms:
    """The clipped surrogate plus ``beta`` × KL, averaged over each sequence's tokens, then over sequences.

    With ``logps == old_logps`` (one update per rollout) the ratio is 1 and the gradient is the plain
    policy gradient; ``ref_logps`` None means no KL term (``beta`` 0).

    >>> lp = torch.zeros(2, 3); m = torch.ones(2, 3)
    >>> terms = grpo_loss(lp, lp, lp, torch.tensor([1.0, -1.0]), m, 0.2, 0.1)
    >>> terms.loss.item(), terms.kl.item(), terms.clip_fraction.item()
    (0.0, 0.0, 0.0)
    """
    ratio = torch.exp(logps - old_logps)
    adv = advantages.unsqueeze(1)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - clip_epsilon, 1.0 + clip_epsilon) * adv
    per_token = -torch.minimum(unclipped, clipped)
    if ref_logps is not None and beta > 0:
        kl = kl_to_reference(logps, ref_logps)
        per_token = per_token + beta * kl
    else:
        kl = torch.zeros_like(logps)
    was_clipped = ((ratio < 1.0 - clip_epsilon) & (adv < 0)) | ((ratio > 1.0 + clip_epsilon) & (adv > 0))
    loss = masked_mean(per_token, mask, dim=1).mean()
    return ObjectiveTerms(
        loss=loss,
        kl=masked_mean(kl.detach(), mask),
        clip_fraction=masked_mean(was_clipped.to(logps.dtype), mask),
    )


def completion_mask(completion_ids: torch.Tensor, stop_ids: list[int]) -> torch.Tensor:
    """1 on each completion's tokens up to and including its first stop token, 0 after.

    >>> completion_mask(torch.tensor([[5, 6, 2, 9], [5, 6, 7, 8]]), [2]).tolist()
    [[1, 1, 1, 0], [1, 1, 1, 1]]
    """
    is_stop = torch.isin(completion_ids, torch.tensor(stop_ids, device=completion_ids.device))
    # Tokens after the first stop: a stop occurred strictly before this position.
    stops_before = torch.cumsum(is_stop.long(), dim=1) - is_stop.long()
    return (stops_before == 0).long()
