"""A batch in parts that fit `finetune.batch_tokens`: what one part's forward and backward keep in activation memory,
counted in tokens, and the split of a batch's rows into consecutive parts within that budget."""
from __future__ import annotations

import torch

from bench.training.prefix import part_prefix


def scored_position_weight(model, precision: str) -> float:
    """What one position the LM head scores weighs against one token the model runs, in activation memory, as
    `part_cost` counts it. A scored position keeps ~12 bytes per vocabulary entry whatever the precision: its fp32
    logits, their log-softmax and its gradient. A token keeps what each linear layer reads and writes (in the training
    precision), which leaves out norms, activation functions and attention's own tensors: the weight errs on the safe
    side. Measured (fp32 LoRA, one row of 128 or 256 tokens): SmolLM2-135M 0.35-0.45, here 0.48; Gemma 3 270M, whose
    vocabulary is 5x larger, 2.1-2.2, here 3.3. Read before `packing.pack_frozen` replaces the linear layers."""
    head = model.get_output_embeddings()
    widths = sum(layer.in_features + layer.out_features for name, layer in model.named_modules()
                 if isinstance(layer, torch.nn.Linear) and layer is not head and "lora_" not in name)
    return 12 * head.out_features / (widths * (2 if precision == "bf16" else 4))


def part_cost(part: list[tuple[list[int], int]], share_prefix: bool = True, scored_weight: float = 1.0) -> float:
    """The activation memory of one forward and backward over `part`, in tokens: the positions it runs (a shared prefix
    once, every row padded to the longest) plus `scored_weight` (scored_position_weight) per position the LM head
    scores, for its vocabulary-wide logits and their gradient (each row's last `keep`: with a shared prefix the head
    scores only the labelled ones, so the count errs high)."""
    prefix, width, keep = part_prefix(part, share_prefix), max(len(ids) for ids, _ in part), max(n for _, n in part) + 1
    return prefix + len(part) * (width - prefix + keep * scored_weight)


def split_by_tokens(batch: list[tuple[list[int], int]], budget: int, share_prefix: bool = True,
                    scored_weight: float = 1.0) -> list[list[tuple[list[int], int]]]:
    """Consecutive parts of a batch (rows sorted by length) whose `part_cost` stays within `budget` tokens."""
    parts, part = [], []
    for row in sorted(batch, key=lambda encoded: len(encoded[0])):
        if part and part_cost(part + [row], share_prefix, scored_weight) > budget:
            parts, part = parts + [part], []
        part.append(row)
    return parts + [part]
