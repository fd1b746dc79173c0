"""Which device runs the models, and how much memory they took."""
from __future__ import annotations

import resource
from pathlib import Path

import torch

STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def pick_device(setting: str) -> str:
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "cuda"
    return "mps" if torch.backends.mps.is_available() else "cpu"


def peak_memory_mb(device: str) -> float:
    """Peak memory since the last call, then reset, so each stage or batch reports its own peak, not the process's
    so far. GPU: peak allocated. CPU: peak resident set (Linux VmHWM, reset by writing 5 to /proc/self/clear_refs;
    elsewhere the process peak, which cannot be reset)."""
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
        torch.cuda.reset_peak_memory_stats()
        return peak
    try:
        peak_kb = next(int(line.split()[1]) for line in STATUS.read_text().splitlines() if line.startswith("VmHWM:"))
        CLEAR_REFS.write_text("5")
        return peak_kb / 1024
    except (OSError, StopIteration, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
