"""FSDP (`finetune.sharding=fsdp`): each of the launched processes holds a shard of every weight, gradient and
optimizer moment instead of a whole copy, for models whose training state does not fit one device.

torch's own FSDP2 (`fully_shard`) does the sharding, on the process group accelerate's launch set up (NCCL on GPUs,
gloo on CPU; accelerate's FSDP plugin itself runs on GPUs only). Each decoder layer is a unit of its own, gathered
just before it runs and freed after, then the whole model. Weights become DTensors: whole tensors exist only where
they are gathered, here for a checkpoint or the saved model, which every process must take part in.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor, distribute_tensor


def transformer(model: torch.nn.Module) -> torch.nn.Module:
    """The transformers model itself: inside a LoRA model's peft wrapper, or the model."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def shard(model: torch.nn.Module) -> torch.nn.Module:
    """Shard the model over every process: its decoder layers (the classes transformers will not split), then the rest
    (embeddings, head: tied weights stay in one unit). A LoRA model's peft wrapper stays as it is, its model sharded."""
    base = transformer(model)
    layers = set(getattr(base, "_no_split_modules", None) or [])
    for module in base.modules():
        if type(module).__name__ in layers:
            fully_shard(module)
    fully_shard(base)
    return model


@contextmanager
def gradient_sync_off(model: torch.nn.Module):
    """Keep this backward's gradients in each process (a part of a batch), to be reduced with the batch's last part."""
    transformer(model).set_requires_gradient_sync(False)
    try:
        yield
    finally:
        transformer(model).set_requires_gradient_sync(True)


def whole_on_cpu(tensor: torch.Tensor) -> torch.Tensor:
    """The full tensor of a shard (a collective: every process calls it), or the tensor itself, in host memory: one
    tensor at a time leaves the device, so a model too large for one device is never whole on it."""
    return (tensor.detach().full_tensor() if isinstance(tensor, DTensor) else tensor.detach()).cpu().contiguous()


def shard_like(value: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
    """A full tensor restored into `param`'s sharding (weights, optimizer moments); scalars such as a step count stay."""
    if isinstance(param, DTensor) and value.shape == param.shape:
        return distribute_tensor(value.to(param.device), param.device_mesh, param.placements)
    return value.to(param.device)


def whole_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's full state dict, gathered from the shards, for save_pretrained. A tied weight (input embeddings
    and head) is one parameter under two names: kept under its first, as save_pretrained keeps it unsharded."""
    state, seen = {}, set()
    for name, value in model.state_dict(keep_vars=True).items():
        if id(value) not in seen:
            seen.add(id(value))
            state[name] = whole_on_cpu(value)
    return state
