"""The run context: what one run builds once and every stage after it reads."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.arms.answer import Answering
from bench.arms.sources import Sources
from bench.data.tasks import Task
from bench.models.device import release_memory, resolve_precision, stage_peak_mb
from bench.models.loading import uses_chat_template
from bench.records.config import RunConfig
from bench.records.layout import RunFolder
from bench.records.manifest import Adapter, Environment, IndexStats, ModelFlops, RunManifest
from bench.run import allocator


@dataclass
class RunContext:
    """Settings and task, the run folder, the device, the tokenizer and context sources, the index and adapters
    with what they cost, and the seconds each stage took in this invocation."""

    cfg: RunConfig
    task: Task
    folder: RunFolder
    device: str
    generator_path: str
    sources: Sources
    n_params: int = 0
    query_rates: ModelFlops | None = None  # the generator's FLOP rates answering (models.flops)
    index_stats: IndexStats | None = None
    adapters: dict[tuple[str, int], Adapter] = field(default_factory=dict)  # (weights, seed) -> adapter
    timings: dict[str, float] = field(default_factory=dict)
    memory_mb: dict[str, float] = field(default_factory=dict)  # each stage's own peak (see peak_memory_mb)

    def finished(self, stage: str, began: float) -> None:
        """Record a stage's seconds and its peak memory."""
        self.timings[stage] = time.perf_counter() - began
        self.memory_mb[stage] = round(stage_peak_mb(self.device), 1)
        release_memory()  # the next stage starts from what this one left allocated
        stage_peak_mb(self.device)

    @property
    def choices(self) -> list[str] | None:
        """The allowed answers when items are answered by log-likelihood choice, else None (generation)."""
        mode, labels = self.cfg.answer_mode, self.task.spec.labels
        return labels if labels and mode in ("auto", "loglik") else None

    @property
    def answering(self) -> Answering:
        drafting = self.task.spec.kind == "drafting"
        return Answering(self.choices, self.cfg.generation.max_new_tokens or (160 if drafting else 24),
                         self.cfg.generation.batch_size, stop_at_newline=not drafting, device=self.device)

    @property
    def answering_precision(self) -> str:
        """What generation.precision resolves to here ("bf16" or "fp32"): the weights every arm answers with."""
        return resolve_precision(self.cfg.generation.precision, self.device)

    def adapter_path(self, weights: str, seed: int) -> Path | None:
        adapter = self.adapters.get((weights, seed))
        return Path(adapter.path) if adapter else None

    def manifest(self) -> RunManifest:
        return RunManifest(task=self.task.name, task_folder=str(self.task.folder.resolve()), data_hash=self.task.data_hash,
                           config=self.cfg, generator_path=self.generator_path, device=self.device, n_params=self.n_params,
                           query_rates=self.query_rates,
                           prompt_format="chat template" if uses_chat_template(self.sources.tokenizer) else "plain",
                           answering_precision=self.answering_precision,
                           index=self.index_stats, adapters=list(self.adapters.values()), timings=self.timings,
                           stage_memory_mb=self.memory_mb,
                           environment=environment())


def environment() -> Environment:
    packages = ["torch", "transformers", "peft", "sentence-transformers", "faiss-cpu"]
    return Environment(
        python=platform.python_version(),
        machine=f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}",
        cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        packages={p: importlib.metadata.version(p) for p in packages},
        allocator=allocator.in_use(),
    )
