"""The GPU-only branches, run on CPU: no GPU has been lent to this project yet, so each is a small function whose
logic is checked here with torch's CUDA queries replaced."""
import os

import torch

from bench.models import device as device_module
from bench.models.device import peak_memory_mb, pick_device, stage_peak_mb, training_processes
from bench.models.loading import answering_dtype
from bench.training.distributed import rank_environment


def test_auto_picks_the_gpu_when_there_is_one_and_a_setting_overrides_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == "cuda" and pick_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device("auto") == "cpu"


def test_the_accelerate_launcher_starts_one_process_per_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert training_processes() == 4
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert training_processes() == 2


def test_gpu_ranks_keep_their_threads_and_cpu_ranks_share_the_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert rank_environment("cpu", 2)["OMP_NUM_THREADS"] == "4"
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert "OMP_NUM_THREADS" not in rank_environment("cuda", 2)


def test_gpu_memory_is_the_peak_allocated_reset_at_each_reading_and_counted_toward_the_stage(monkeypatch):
    readings, resets = iter([3 * 2**20, 1 * 2**20]), []
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda: next(readings))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda: resets.append(True))
    stage_peak_mb("cpu")  # a new stage
    assert peak_memory_mb("cuda:1") == 3.0 and peak_memory_mb("cuda") == 1.0 and len(resets) == 2
    assert device_module._stage_peak == 3.0  # the stage's peak: the larger reading, not the last


def test_answering_runs_in_bf16_on_a_gpu_and_on_a_cpu_only_where_bf16_matmuls_are_much_faster(monkeypatch):
    assert answering_dtype("cuda") == answering_dtype("cuda:0") == torch.bfloat16
    assert answering_dtype("cuda", "fp32") == torch.float32
    monkeypatch.setattr(device_module, "cpu_bf16_speedup", lambda: 0.5)  # a Xeon without AMX
    assert answering_dtype("cpu") == answering_dtype("mps") == torch.float32
    monkeypatch.setattr(device_module, "cpu_bf16_speedup", lambda: 2.5)  # AMD EPYC Zen 4
    assert answering_dtype("cpu") == torch.bfloat16 and answering_dtype("cpu", "fp32") == torch.float32


def test_resolve_precision_is_bf16_on_a_gpu_and_on_a_cpu_only_where_bf16_matmuls_are_much_faster(monkeypatch):
    from bench.models.device import resolve_precision
    assert resolve_precision("auto", "cuda:1") == "bf16" and resolve_precision("fp32", "cuda") == "fp32"
    monkeypatch.setattr(device_module, "cpu_bf16_speedup", lambda: 2.5)  # AMD EPYC Zen 4
    assert resolve_precision("auto", "cpu") == "bf16" and resolve_precision("fp32", "cpu") == "fp32"
    monkeypatch.setattr(device_module, "cpu_bf16_speedup", lambda: 0.5)  # a Xeon without AMX
    assert resolve_precision("auto", "cpu") == "fp32" and resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "mps") == "fp32"


def test_training_auto_is_bf16_on_a_gpu_and_on_a_fast_bf16_cpu_only_for_lora_that_packs_its_frozen_weights(monkeypatch):
    import bench.training.compute as compute
    from bench.records.config import FinetuneConfig
    lora, full, fsdp = FinetuneConfig(), FinetuneConfig(method="full"), FinetuneConfig(sharding="fsdp", processes=2)
    monkeypatch.setattr(compute, "onednn_bf16", lambda: True)
    monkeypatch.setattr(device_module, "cpu_bf16_speedup", lambda: 2.5)  # fast bf16 matmuls
    assert [compute.training_precision(cfg, "cuda") for cfg in (lora, full, fsdp)] == ["bf16"] * 3
    assert [compute.training_precision(cfg, "cpu") for cfg in (lora, full, fsdp)] == ["bf16", "fp32", "fp32"]
    assert compute.packs_frozen(lora, "cpu") and not compute.packs_frozen(lora, "cuda")
    assert not compute.packs_frozen(FinetuneConfig(precision="fp32"), "cpu")
    monkeypatch.setattr(device_module, "cpu_bf16_speedup", lambda: 0.5)  # a Xeon without AMX
    assert compute.training_precision(lora, "cpu") == "fp32" and not compute.packs_frozen(lora, "cpu")
    assert compute.training_precision(FinetuneConfig(precision="bf16"), "cpu") == "bf16"  # a setting is obeyed
    monkeypatch.setattr(device_module, "cpu_bf16_speedup", lambda: 2.5)
    monkeypatch.setattr(compute, "onednn_bf16", lambda: False)  # a torch without oneDNN's packing ops
    assert compute.training_precision(lora, "cpu") == "fp32"


def test_adamw_runs_fused_on_cpus_and_cuda_gpus_but_not_over_fsdp_shards():
    from bench.records.config import FinetuneConfig
    from bench.training.compute import fused_adamw
    lora, fsdp = FinetuneConfig(), FinetuneConfig(sharding="fsdp", processes=2)
    assert fused_adamw(lora, "cpu") and fused_adamw(lora, "cuda:1") and fused_adamw(FinetuneConfig(method="full"), "cpu")
    assert not fused_adamw(fsdp, "cuda") and not fused_adamw(lora, "mps")
