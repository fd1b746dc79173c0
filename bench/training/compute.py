"""How a training step's passes run: the precision of its matmuls, how its attention reads key/value heads, how
AdamW updates, and whether its layers keep their activations."""
from __future__ import annotations

import os
from contextlib import contextmanager
from functools import partial

import torch
import torch.utils.checkpoint
from transformers.modeling_layers import GradientCheckpointingLayer

from bench.models.device import resolve_precision
from bench.models.packing import onednn_bf16
from bench.records.config import FinetuneConfig


def training_precision(cfg: FinetuneConfig, device: str) -> str:
    """What `finetune.precision` trains in here: "bf16" or "fp32". auto: bf16 on a GPU; on a CPU, bf16 for LoRA where
    its frozen layers can multiply from packed weights (can_pack_frozen) and bf16 matmuls measure much faster than
    fp32's (device.resolve_precision's rule for answering), else fp32. Full fine-tuning stays fp32 on a CPU: under bf16
    autocast it ran only 1.09-1.54x faster on 2 Xeon cores with AMX and peaked at 5.0 GB against 4.0, and on 2 AMD
    EPYC Zen 4 cores autocast gained ~7% while oneDNN's state for every new shape grew the process ~100 MB a step."""
    if cfg.precision != "auto" or not device.startswith("cpu"):
        return resolve_precision(cfg.precision, device)
    return "bf16" if can_pack_frozen(cfg, device) and resolve_precision("auto", device) == "bf16" else "fp32"


def can_pack_frozen(cfg: FinetuneConfig, device: str) -> bool:
    """Whether LoRA on this CPU can multiply by its frozen weights from oneDNN's layout (packing.FrozenLinear): the
    base matmuls in bf16, all else in fp32. On 2 Xeon cores with AMX its steps ran 1.49-1.53x faster than fp32's, each
    step's loss within 0.013 of fp32's, where bf16 frozen weights (a bf16 residual stream) gained 1.3-1.5x and learned
    less."""
    return device == "cpu" and cfg.method == "lora" and cfg.sharding != "fsdp" and onednn_bf16()


def packs_frozen(cfg: FinetuneConfig, device: str) -> bool:
    """Whether this training packs its frozen weights: LoRA in bf16 where it can."""
    return can_pack_frozen(cfg, device) and training_precision(cfg, device) == "bf16"


def fused_adamw(cfg: FinetuneConfig, device: str) -> bool:
    """Whether AdamW updates in its fused kernel, one per tensor instead of ~10 ops (LoRA's 420 tensors on 2 CPU cores:
    6 against 18 ms a step, clipping included): on CPUs and CUDA GPUs, not over FSDP's shards. The same update up to
    rounding (after 30 steps, 166 of 675,840 weights differed from the default's in the last bit)."""
    return device.split(":")[0] in ("cpu", "cuda") and cfg.sharding != "fsdp"


# transformers reads this at every attention call: "1" hands torch's SDPA grouped key/value heads as they are
SHARED_KV_HEADS = "TRANSFORMERS_SDPA_FORCE_GQA"


def shares_kv_heads(device: str) -> bool:
    """Whether training's attention reads each key/value head for its group of query heads in place: on a CPU unless
    the user set TRANSFORMERS_SDPA_FORCE_GQA, elsewhere only where the user set it to 1. Given a mask (padding, a
    shared prompt prefix) transformers otherwise copies the heads once per query head, as CUDA's fused kernels need
    (a masked call with grouped heads falls back to CUDA's math kernel); torch's CPU kernel takes them as they are.
    SmolLM2-135M (9 query heads on 3 key/value heads) trained closed-book steps 1.04-1.06x faster, with the same loss
    and gradients to the bit; padded corpus-text rows' gradients differ in rounding (0.4-0.5% of their norm, against 1.9%
    between the flash and math kernels). Answering keeps transformers' default: it gained nothing measurable there,
    and log-likelihood's near-ties then agreed with lm-evaluation-harness's on 18 of 20 items against 19."""
    setting = os.environ.get(SHARED_KV_HEADS)
    return device == "cpu" if setting is None else setting == "1"


@contextmanager
def kv_heads_shared(device: str):
    """Training's attention reads shared key/value heads in place while this runs, where shares_kv_heads."""
    if not shares_kv_heads(device) or SHARED_KV_HEADS in os.environ:  # off here, or the user's own setting
        yield
        return
    os.environ[SHARED_KV_HEADS] = "1"
    try:
        yield
    finally:
        del os.environ[SHARED_KV_HEADS]


def rounding(cfg: FinetuneConfig, device: str) -> tuple[str, ...]:
    """What makes this training round otherwise, not compute otherwise (the adapter's key holds it): packed frozen
    weights (and attention's bf16 products beside them), AdamW's fused update, key/value heads read in place."""
    return (*(["packed frozen weights, LoRA as one product, bf16 attention"] if packs_frozen(cfg, device) else []),
            *(["fused AdamW"] if fused_adamw(cfg, device) else []),
            *(["shared key/value heads"] if shares_kv_heads(device) else []))


def frozen_dtype(cfg: FinetuneConfig, device: str) -> torch.dtype:
    """The dtype of the base weights a training run loads. LoRA in bf16 keeps its frozen weights in bf16 (its adapter
    weights, their gradients and AdamW's state stay fp32; peft runs the adapter's path in fp32): half their memory,
    and every base matmul in bf16 without recasting the weights each pass; on a CPU that packs them (packs_frozen)
    they load fp32 and are packed from that. Full fine-tuning, and LoRA sharded by FSDP (whose shards need one dtype),
    keep fp32 weights and run their matmuls under bf16 autocast."""
    bf16 = training_precision(cfg, device) == "bf16"
    lora_bf16 = bf16 and cfg.method == "lora" and cfg.sharding != "fsdp" and not packs_frozen(cfg, device)
    return torch.bfloat16 if lora_bf16 else torch.float32


def autocast(cfg: FinetuneConfig, device: str):
    """bf16 autocast where `finetune.precision` resolves to bf16 on this device over fp32 weights that are not packed
    (full fine-tuning, LoRA under FSDP), else a context that changes nothing."""
    bf16 = training_precision(cfg, device) == "bf16"
    enabled = bf16 and frozen_dtype(cfg, device) == torch.float32 and not packs_frozen(cfg, device)
    return torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=enabled)


def set_recompute(model, on: bool) -> None:
    """Activation checkpointing of every decoder layer in the forward passes that follow: each keeps its input and
    runs again in the backward pass (transformers' layers read these two attributes; non-reentrant, so the frozen
    embeddings need not require a gradient)."""
    for layer in (m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)):
        layer.gradient_checkpointing, layer._gradient_checkpointing_func = on, RECOMPUTE


RECOMPUTE = partial(torch.utils.checkpoint.checkpoint, use_reentrant=False)
