"""Which device runs the models, and how much memory they took."""
from __future__ import annotations

import resource

import torch


def pick_device(setting: str) -> str:
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "cuda"
    return "mps" if torch.backends.mps.is_available() else "cpu"


def peak_memory_mb(device: str) -> float:
    """GPU: peak allocated since the last call (then reset). CPU: the process's peak resident set so far."""
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
        torch.cuda.reset_peak_memory_stats()
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
