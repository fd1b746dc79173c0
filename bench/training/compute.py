"""How a training step's passes run: the precision of its matmuls, and whether its layers keep their activations."""
from __future__ import annotations

from functools import partial

import torch
import torch.utils.checkpoint
from transformers.modeling_layers import GradientCheckpointingLayer

from bench.models.device import resolve_precision
from bench.records.config import FinetuneConfig


def frozen_dtype(cfg: FinetuneConfig, device: str) -> torch.dtype:
    """The dtype of the base weights a training run holds. LoRA in bf16 keeps its frozen weights in bf16 (its adapter
    weights, their gradients and AdamW's state stay fp32; peft runs the adapter's path in fp32): half their memory,
    and every base matmul in bf16 without recasting the weights each pass. Full fine-tuning, and LoRA sharded by FSDP
    (whose shards need one dtype), keep fp32 weights and run their matmuls under bf16 autocast."""
    bf16 = resolve_precision(cfg.precision, device, training=True) == "bf16"
    return torch.bfloat16 if bf16 and cfg.method == "lora" and cfg.sharding != "fsdp" else torch.float32


def autocast(cfg: FinetuneConfig, device: str):
    """bf16 autocast where `finetune.precision` resolves to bf16 on this device over fp32 weights (frozen_dtype), else
    a context that changes nothing."""
    bf16 = resolve_precision(cfg.precision, device, training=True) == "bf16"
    return torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16 and frozen_dtype(cfg, device) == torch.float32)


def set_recompute(model, on: bool) -> None:
    """Activation checkpointing of every decoder layer in the forward passes that follow: each keeps its input and
    runs again in the backward pass (transformers' layers read these two attributes; non-reentrant, so the frozen
    embeddings need not require a gradient)."""
    for layer in (m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)):
        layer.gradient_checkpointing, layer._gradient_checkpointing_func = on, RECOMPUTE


RECOMPUTE = partial(torch.utils.checkpoint.checkpoint, use_reentrant=False)
