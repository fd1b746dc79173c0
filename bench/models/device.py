"""Which device runs the models, and how much memory they took."""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import resource
import time
from pathlib import Path

import torch

STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def pick_device(setting: str) -> str:
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "cuda"
    return "mps" if torch.backends.mps.is_available() else "cpu"


def resolve_precision(setting: str, device: str) -> str:
    """What a `precision` setting runs the matmuls in here: "bf16" or "fp32". auto: bf16 on a GPU, and on a CPU only
    where its bf16 matmuls run much faster than fp32's (AMD EPYC Zen 4: ~2.5x, generation ~2x; Xeons with AMX ~5x;
    Xeons without AMX: ~0.5x). This is answering's rule (generation.precision); training's, which also asks what the
    training is, is compute.training_precision."""
    if setting != "auto":
        return setting
    if device.startswith("cuda"):
        return "bf16"
    return "bf16" if device == "cpu" and cpu_bf16_speedup() >= BF16_SPEEDUP_MIN else "fp32"


# a CPU runs bf16 by default only past this matmul speedup: the measured ~3x and ~0.5x lie far from it, so timing
# noise does not flip the choice (and with it the adapter's cache key) from run to run
BF16_SPEEDUP_MIN = 1.5


@functools.cache
def cpu_bf16_speedup(reps: int = 5) -> float:
    """How much faster a training-sized matmul (256 x 576 by 576 x 1536) runs in bf16 than in fp32 on these threads,
    best of `reps` timings each, interleaved so that other load on the cores slows both alike; about 0.1 s."""
    best = {}
    for _ in range(reps):
        for dtype in (torch.float32, torch.bfloat16):
            a, b = torch.randn(256, 576, dtype=dtype), torch.randn(576, 1536, dtype=dtype)
            began = time.perf_counter()
            for _ in range(4):
                a @ b
            best[dtype] = min(best.get(dtype, float("inf")), time.perf_counter() - began)
    return best[torch.float32] / best[torch.bfloat16]


def training_processes() -> int:
    """Processes `ftrag run --launcher accelerate` trains in when not told: one per GPU, else 2 CPU processes (gloo)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 2


def peak_memory_mb(device: str) -> float:
    """Peak memory since the last call, then reset, so each batch reports its own peak, not the process's so far.
    GPU: peak allocated. CPU: peak resident set (Linux VmHWM, reset by writing 5 to /proc/self/clear_refs;
    elsewhere the process peak, which cannot be reset). Every reading also counts toward the stage's peak."""
    global _stage_peak
    if device.startswith("cuda"):  # "cuda:1" in a process of a multi-GPU training
        peak = torch.cuda.max_memory_allocated() / 2**20
        torch.cuda.reset_peak_memory_stats()
    else:
        try:
            peak = next(int(line.split()[1]) for line in STATUS.read_text().splitlines() if line.startswith("VmHWM:")) / 1024
            CLEAR_REFS.write_text("5")
        except (OSError, StopIteration, ValueError):
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _stage_peak = max(_stage_peak, peak)
    return peak


_stage_peak = 0.0  # the largest reading since stage_peak_mb last ran


def stage_peak_mb(device: str) -> float:
    """The stage's peak: the largest of every reading since the last call (batches reset the kernel's own peak)."""
    global _stage_peak
    peak_memory_mb(device)
    peak, _stage_peak = _stage_peak, 0.0
    return peak


def cpu_share(cpu_seconds: float | None, wall_seconds: float, device: str) -> float | None:
    """The share of its threads' time this process ran on a CPU (process_time over wall time x torch's threads):
    near 1 when the cores were its own, about 0.5 when another busy process shared them, which stretches the wall
    seconds that costs are priced from. None on a GPU (its kernels, not the CPU, set the pace) or when not measured."""
    if cpu_seconds is None or wall_seconds <= 0 or not device.startswith("cpu"):
        return None
    return round(cpu_seconds / (wall_seconds * torch.get_num_threads()), 3)


def release_memory() -> None:
    """Hand freed memory back to the system between stages. glibc keeps freed tensors' pages in its heap, so without
    this the answering stages after a fine-tuning would hold (and report) its ~3 GB though they need far less. mimalloc
    (preloaded: bench/run/allocator.py) purges freed pages lazily, as it next allocates: told to collect now, a process
    that had trained bf16 LoRA on packed weights went from 1,158 to 501 MB anonymous memory once the model was freed."""
    gc.collect()
    libc = c_library()
    if libc:
        try:
            ctypes.CDLL(libc).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
            pass
    process = ctypes.CDLL(None)  # the symbols the process has loaded, a preloaded malloc's among them
    if hasattr(process, "mi_collect"):
        process.mi_collect(ctypes.c_bool(True))


@functools.cache
def c_library() -> str | None:
    """The C library's name, looked up once: find_library runs ldconfig or a compiler, about half a second a call."""
    return ctypes.util.find_library("c")
