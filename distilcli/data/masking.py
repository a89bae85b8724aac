"""Dynamic MLM masking, exactly DistilBERT's ``prepare_batch_mlm`` (HF research_projects/distillation).

Unlike BERT's uniform 15%, the reference picks the positions to predict with probability
proportional to ``count(token) ** -0.7``: rare tokens are masked more often than "the" and
",", which makes the student's MLM signal more informative. Masks are drawn anew for every
batch, and all randomness goes through the caller's ``torch.Generator`` so a run repeats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch


def mlm_token_weights(counts: np.ndarray, special_ids: Iterable[int], smoothing: float = 0.7) -> torch.Tensor:
    """Masking weights ``max(count, 1) ** -smoothing`` as float32, with special token ids set to 0.

    ``counts`` is the per-id token count of the corpus (:func:`distilcli.data.chunks.token_counts`);
    ids that never occur get the weight of a count of 1. ``None`` entries in ``special_ids`` are
    ignored, so ``tokenizer.all_special_ids``-style lists with missing tokens can be passed as is.
    """
    counts = np.asarray(counts)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array, got shape {counts.shape}")
    if not math.isfinite(smoothing) or smoothing < 0:
        raise ValueError(f"smoothing must be a finite number >= 0, got {smoothing}")
    # float64 for the power, then float32 as the reference's torch.FloatTensor.
    weights = np.maximum(counts.astype(np.float64), 1.0) ** -smoothing
    for token_id in special_ids:
        if token_id is None:
            continue
        if not 0 <= int(token_id) < counts.size:
            raise ValueError(f"special token id {token_id} is outside the vocabulary of size {counts.size}")
        weights[int(token_id)] = 0.0
    return torch.from_numpy(weights.astype(np.float32))


class DynamicMasker:
    """Pick ``ceil(mlm_probability * real tokens)`` positions per batch by token weight and corrupt them.

    Of the picked positions, ``pred_probs`` gives the shares that become ``mask_token_id``, stay
    as they are, or become a random id in ``[0, vocab_size)`` (80/10/10 by default).
    """

    def __init__(
        self,
        token_weights: torch.Tensor,
        mask_token_id: int,
        vocab_size: int,
        mlm_probability: float = 0.15,
        pred_probs: tuple[float, float, float] = (0.8, 0.1, 0.1),
    ) -> None:
        weights = torch.as_tensor(token_weights, dtype=torch.float32).detach().cpu()
        if weights.dim() != 1 or weights.numel() == 0:
            raise ValueError(f"token_weights must be a non-empty 1-D tensor, got shape {tuple(weights.shape)}")
        if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
            raise ValueError("token_weights must be finite and >= 0")
        if not bool((weights > 0).any()):
            raise ValueError("token_weights are all zero: no token could ever be masked")
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
        if not 0 <= mask_token_id < vocab_size:
            raise ValueError(f"mask_token_id {mask_token_id} is outside [0, {vocab_size})")
        if not 0.0 < mlm_probability <= 1.0:
            raise ValueError(f"mlm_probability must be in (0, 1], got {mlm_probability}")
        if len(pred_probs) != 3 or any(not math.isfinite(p) or p < 0 for p in pred_probs):
            raise ValueError(f"pred_probs must be three numbers >= 0 (mask, keep, random), got {pred_probs}")
        if abs(sum(pred_probs) - 1.0) > 1e-6:
            raise ValueError(f"pred_probs must sum to 1 (mask, keep, random), got {pred_probs}")
        self.token_weights = weights
        self.mask_token_id = int(mask_token_id)
        self.vocab_size = int(vocab_size)
        self.mlm_probability = float(mlm_probability)
        self.pred_probs = torch.tensor(pred_probs, dtype=torch.float32)
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def _tensors(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Weights and pred_probs on ``device``, copied once per device rather than per batch."""
        if device not in self._on_device:
            self._on_device[device] = (self.token_weights.to(device), self.pred_probs.to(device))
        return self._on_device[device]

    def __call__(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(masked_input_ids, labels)``; labels hold the original id where predicted, -100 elsewhere.

        Neither input is modified. With ``generator`` the draws happen on its device (and the
        results move to the device of ``input_ids``), so the same seed gives the same masks.
        """
        if input_ids.shape != attention_mask.shape:
            raise ValueError(
                f"input_ids {tuple(input_ids.shape)} and attention_mask {tuple(attention_mask.shape)} differ"
            )
        if input_ids.dtype.is_floating_point or input_ids.dtype == torch.bool:
            raise ValueError(f"input_ids must hold integer ids, got {input_ids.dtype}")
        out_device = input_ids.device
        device = generator.device if generator is not None else out_device
        weights, pred_probs = self._tensors(device)

        ids = input_ids.reshape(-1).to(device)
        real = attention_mask.reshape(-1).to(device) != 0
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= weights.numel()):
            raise ValueError(
                f"input_ids hold ids outside [0, {weights.numel()}): the weights do not match the tokenizer"
            )

        # Padding gets weight 0 whatever its id, so it can never be picked.
        x_prob = weights[ids] * real
        n_tgt = math.ceil(self.mlm_probability * int(real.sum()))
        # multinomial without replacement cannot draw more positions than have weight.
        n_tgt = min(n_tgt, int((x_prob > 0).sum()))
        pred_mask = torch.zeros(ids.numel(), dtype=torch.bool, device=device)
        if n_tgt > 0:
            tgt_ids = torch.multinomial(x_prob / x_prob.sum(), n_tgt, replacement=False, generator=generator)
            pred_mask[tgt_ids] = True

        real_ids = ids[pred_mask]
        # Same draw order as the reference: random ids first, then the mask/keep/random choice.
        rand_ids = real_ids.clone().random_(self.vocab_size, generator=generator)
        if real_ids.numel():
            choice = torch.multinomial(pred_probs, real_ids.numel(), replacement=True, generator=generator)
        else:
            choice = torch.zeros(0, dtype=torch.long, device=device)
        new_ids = torch.where(
            choice == 0,
            torch.full_like(real_ids, self.mask_token_id),
            torch.where(choice == 1, real_ids, rand_ids),
        )

        masked = ids.clone()
        masked[pred_mask] = new_ids
        labels = torch.full_like(ids, -100)
        labels[pred_mask] = real_ids
        shape = input_ids.shape
        return masked.view(shape).to(out_device), labels.view(shape).to(out_device)
