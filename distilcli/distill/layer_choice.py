"""Which teacher layers a student should keep, chosen by measurement: linear CKA between layers.

Linear CKA (Kornblith et al. 2019) compares two representations of the same inputs: for
column-centred X [n, d1] and Y [n, d2], ``CKA = ||Yᵀ X||²_F / (||Xᵀ X||_F · ||Yᵀ Y||_F)``. It is 1
for a representation with itself and does not change under orthogonal transforms or isotropic
scaling, so it compares what layers encode, not their coordinates.

Every teacher layer's output is taken at the real tokens of a corpus sample; a layer map S of N
layers is scored by how well it *covers* the teacher: the mean over teacher layers l of
``max_{k in S} CKA(l, k)``. The chosen map is the best-covering one (every map is tried when
there are at most 200,000, else layers are added greedily); the evenly spread map's coverage is
reported beside it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from distilcli import progress
from distilcli.errors import BadInput

if TYPE_CHECKING:  # pragma: no cover
    import torch

EXHAUSTIVE_LIMIT = 200_000  # layer maps tried one by one; above that, a greedy choice


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA of two representations [n, d1] and [n, d2] of the same n inputs (float64)."""
    if x.shape[0] != y.shape[0] or x.dim() != 2 or y.dim() != 2:
        raise ValueError(
            f"CKA needs [n, d] representations of the same n inputs, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    x = x.double() - x.double().mean(0, keepdim=True)
    y = y.double() - y.double().mean(0, keepdim=True)
    cross = float((y.T @ x).pow(2).sum())
    norms = float((x.T @ x).norm()) * float((y.T @ y).norm())
    return cross / norms if norms > 0 else 0.0


def cka_matrix(states: list[torch.Tensor]) -> list[list[float]]:
    """CKA between every pair of layer representations (symmetric, 1 on the diagonal)."""
    n = len(states)
    matrix = [[1.0] * n for _ in range(n)]
    for i, j in itertools.combinations(range(n), 2):
        matrix[i][j] = matrix[j][i] = linear_cka(states[i], states[j])
    return matrix


def coverage(matrix: list[list[float]], layer_map: list[int]) -> float:
    """Mean over teacher layers of their best CKA with a kept layer."""
    return sum(max(row[k] for k in layer_map) for row in matrix) / len(matrix)


def best_map(matrix: list[list[float]], layers: int) -> list[int]:
    """The ``layers``-layer map (increasing) with the highest coverage; ties go to the earlier map."""
    n = len(matrix)
    if not 1 <= layers <= n:
        raise BadInput(f"--layers {layers} is out of range: the teacher has {n} layers (1..{n})")
    if math.comb(n, layers) <= EXHAUSTIVE_LIMIT:
        return list(max(itertools.combinations(range(n), layers), key=lambda m: coverage(matrix, list(m))))
    chosen: list[int] = []
    for _ in range(layers):
        chosen.append(max((k for k in range(n) if k not in chosen), key=lambda k: coverage(matrix, [*chosen, k])))
    return sorted(chosen)


@dataclass
class LayerChoice:
    """The measurement and what it proposes (``to_dict`` for reports and model provenance)."""

    matrix: list[list[float]]
    layer_map: list[int]
    coverage: float
    uniform_map: list[int]
    uniform_coverage: float
    tokens: int
    sequences: int

    def to_dict(self) -> dict[str, object]:
        return {
            "method": "linear CKA coverage",
            "layer_map": self.layer_map,
            "coverage": self.coverage,
            "uniform_map": self.uniform_map,
            "uniform_coverage": self.uniform_coverage,
            "tokens": self.tokens,
            "sequences": self.sequences,
        }


def layer_states(
    model: torch.nn.Module, batches: list[dict[str, torch.Tensor]], max_tokens: int, seed: int
) -> list[torch.Tensor]:
    """Each layer's output [tokens, hidden] at the real tokens of ``batches`` (a fixed random ``max_tokens`` of
    them)."""
    import torch

    per_layer: list[list[torch.Tensor]] = []
    device = next(model.parameters()).device
    with torch.inference_mode(), progress.task("reading layer states", len(batches), unit="batches") as bar:
        for batch in batches:
            batch = {key: value.to(device) for key, value in batch.items()}
            out = model(**batch, output_hidden_states=True, return_dict=True)
            real = batch["attention_mask"].bool()
            hidden = out.hidden_states[1:]  # [0] is the embedding output; layer k's output is [k + 1]
            if not per_layer:
                per_layer = [[] for _ in hidden]
            for k, h in enumerate(hidden):
                per_layer[k].append(h[real].float().cpu())
            bar.advance(1)
    states = [torch.cat(parts) for parts in per_layer]
    if states[0].shape[0] > max_tokens:
        keep = torch.randperm(states[0].shape[0], generator=torch.Generator().manual_seed(seed))[:max_tokens]
        states = [s[keep] for s in states]
    return states


AUTO = "auto"


def is_auto(layer_map: object) -> bool:
    """Whether ``--layer-map`` asks for the map to be chosen by measurement."""
    return isinstance(layer_map, str) and layer_map.strip().lower() == AUTO


def choose_from_ids(
    model: torch.nn.Module,
    ids: list[list[int]],
    pad_id: int,
    layers: int,
    *,
    sample: int = 256,
    max_tokens: int = 4096,
    seed: int = 42,
    batch_size: int = 16,
) -> LayerChoice:
    """``--layer-map auto``: the covering map of ``model``'s layers on a fixed sample of token sequences ``ids``."""
    import torch

    from distilcli.training.inference import pad_inputs

    order = torch.randperm(len(ids), generator=torch.Generator().manual_seed(seed)).tolist()[:sample]
    rows = sorted(order)
    batches = [
        pad_inputs(ids, None, rows[start : start + batch_size], pad_id) for start in range(0, len(rows), batch_size)
    ]
    return choose_layers(layer_states(model, batches, max_tokens, seed), layers, len(rows))


def choose_layers(states: list[torch.Tensor], layers: int, sequences: int) -> LayerChoice:
    """The CKA matrix of ``states`` and the best-covering ``layers``-layer map, with the evenly spread map's score."""
    from distilcli.models.student import spread_layers

    matrix = cka_matrix(states)
    chosen = best_map(matrix, layers)
    uniform = spread_layers(len(matrix), layers)
    return LayerChoice(
        matrix, chosen, coverage(matrix, chosen), uniform, coverage(matrix, uniform), int(states[0].shape[0]), sequences
    )


def plot_matrix(choice: LayerChoice, path: Path, title: str) -> None:
    """A heat map of the CKA matrix, the chosen layers marked, written atomically to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from distilcli.fsutil import atomic_file

    n = len(choice.matrix)
    fig, ax = plt.subplots(figsize=(5.5, 4.8))
    image = ax.imshow(choice.matrix, vmin=0, vmax=1, cmap="viridis", origin="lower")
    fig.colorbar(image, ax=ax, label="linear CKA")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("teacher layer")
    ax.set_ylabel("teacher layer")
    for k in choice.layer_map:
        ax.add_patch(plt.Rectangle((k - 0.5, -0.5), 1, n, fill=False, edgecolor="white", linewidth=1.5))
    ax.set_title(
        f"{title}\nchosen {','.join(map(str, choice.layer_map))} (coverage {choice.coverage:.3f}); "
        f"even {','.join(map(str, choice.uniform_map))} ({choice.uniform_coverage:.3f})",
        fontsize=8,
    )
    fig.tight_layout()
    with atomic_file(path, suffix=path.suffix or ".png") as tmp:
        fig.savefig(tmp, format=(path.suffix.lstrip(".") or "png"), dpi=120)
    plt.close(fig)
