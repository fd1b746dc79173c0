"""A model's FLOPs, counted as PaLM's MFU counts them (Chowdhery et al. 2022, appendix B), with causal attention's half
of the score matrix only: what a training step or a query has to compute, whatever it runs besides (padding,
recomputed activations, the rows of the LM head that nothing reads).

Each token the model runs costs 2 FLOPs per non-embedding weight forward; training adds 2 for the input's gradient,
and 2 more for the weight's own gradient when it trains (LoRA's adapters; every weight in full fine-tuning). Each
position whose next-token distribution is read (a training target, a generated token) costs as much per LM-head weight,
the head running there only. Each (query, key) pair attention relates costs 4 x attention width a layer forward, and
twice that again backward (layers that attend within a sliding window, as Gemma 3's do, count as full causal
attention: an overcount for sequences longer than the window). The arithmetic over a part's or a query's tokens is
`ModelFlops.of`."""
from __future__ import annotations

from bench.records.manifest import ModelFlops, causal_pairs


def model_flops(model, training: bool = True) -> ModelFlops:
    """The FLOP rates of `model` as it trains (`training`) or answers. Read before `packing.pack_frozen` takes its frozen
    weights out of its parameters; a model on the meta device will do."""
    def passes(weight) -> int:
        if not training:
            return 2
        return 6 if weight.requires_grad else 4

    config, head = model.config, model.get_output_embeddings().weight
    per_token = sum(passes(p) * p.numel() for name, p in model.named_parameters() if "embed" not in name and p is not head)
    width = config.num_attention_heads * (getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)
    return ModelFlops(per_token=per_token, per_target=passes(head) * head.numel(),
                      per_pair=(12 if training else 4) * config.num_hidden_layers * width)


def part_flops(part: list[tuple[list[int], int]], rates: ModelFlops, shared: int) -> float:
    """The model FLOPs of one forward and backward over `part` ((ids, target count) rows), whose first `shared` tokens
    run once for every row (0: each row whole): that prefix attending causally to itself, each row's own tokens to it
    and causally to themselves."""
    own = [len(ids) - shared for ids, _ in part]
    pairs = causal_pairs(shared) + sum(causal_pairs(n, before=shared) for n in own)
    return rates.of(tokens=shared + sum(own), targets=sum(n_target for _, n_target in part), pairs=pairs)
