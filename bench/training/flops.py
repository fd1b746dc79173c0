"""The model FLOPs of a training step, counted as PaLM's MFU counts them (Chowdhery et al. 2022, appendix B), with
causal attention's half of the score matrix only: what the step has to compute, whatever it runs besides (padding,
recomputed activations, the rows of the LM head that no loss reads).

Each token the model runs (a part's shared prompt prefix once) costs 2 FLOPs per non-embedding weight forward, 2 for
the input's gradient, and 2 more for the weight's own gradient when it trains (LoRA's adapters; every weight in full
fine-tuning). Each target token costs as much per LM-head weight, the head running on target positions only. Each
(query, key) pair attention relates costs 4 x attention width a layer forward and twice that backward."""
from __future__ import annotations

from dataclasses import dataclass

from bench.training.prefix import part_prefix


@dataclass(frozen=True)
class ModelFlops:
    per_token: float
    per_target: float
    per_pair: float


def model_flops(model) -> ModelFlops:
    """The FLOP rates of `model` as it trains, read before `packing.pack_frozen` takes its frozen weights out of its
    parameters."""
    def passes(weight) -> int:
        return 6 if weight.requires_grad else 4

    config, head = model.config, model.get_output_embeddings().weight
    per_token = sum(passes(p) * p.numel() for name, p in model.named_parameters() if "embed" not in name and p is not head)
    width = config.num_attention_heads * (getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)
    return ModelFlops(per_token, per_target=passes(head) * head.numel(), per_pair=12 * config.num_hidden_layers * width)


def part_flops(part: list[tuple[list[int], int]], rates: ModelFlops, share_prefix: bool = True) -> float:
    """The model FLOPs of one forward and backward over `part` ((ids, target count) rows): its shared prefix (when it
    runs once) attending causally to itself, each row's own tokens to the prefix and causally to themselves."""
    shared = part_prefix(part, share_prefix)
    own = [len(ids) - shared for ids, _ in part]
    pairs = shared * (shared + 1) / 2 + sum(n * shared + n * (n + 1) / 2 for n in own)
    targets = sum(n_target for _, n_target in part)
    return rates.per_token * (shared + sum(own)) + rates.per_target * targets + rates.per_pair * pairs
