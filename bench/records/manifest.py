"""What a run built before its arms answered, as the score stage needs it: `run.json` in the run folder.

The run writes it after its index and adapters are ready; `ftrag score` reads it with the predictions, so a run
can be re-scored without a model, an index or an adapter in memory.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from bench.records.config import RunConfig

MANIFEST_VERSION = 1


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")


class ModelFlops(Record):
    """A model's FLOP rates as it trains or answers (bench/models/flops.py): per token it runs, per position whose
    next-token distribution is read (the LM head runs there), per causal (query, key) pair its attention relates."""

    per_token: float
    per_target: float
    per_pair: float

    def of(self, tokens: float, targets: float, pairs: float) -> float:
        return self.per_token * tokens + self.per_target * targets + self.per_pair * pairs


def causal_pairs(n: float, before: float = 0) -> float:
    """The (query, key) pairs of `n` tokens that attend to `before` earlier tokens and causally to themselves."""
    return n * before + n * (n + 1) / 2


class TrainStats(Record):
    """What training one adapter cost, measured when it was trained (a cached adapter keeps these)."""

    method: str
    sequences: int  # training sequences seen, repeats over epochs included
    steps: int
    tokens: int  # tokens through the model, padding excluded
    seconds: float
    cpu_share: float | None = None  # of its threads' time, running (models.device.cpu_share); None: GPU, or older ftrag
    flops: float  # model FLOPs of the steps run (models.flops); adapters trained before 2026-12-06 keep their
    # estimate, 4 (LoRA) or 6 (full) x parameters x tokens
    trainable_params: int
    first_loss: float
    last_loss: float
    peak_rss_mb: float
    device: str
    precision: str = "fp32"  # what training's matmuls ran in (finetune.precision as resolved on the device)
    cached: bool = False
    epochs_planned: int = 1
    epochs_run: int = 1  # fewer than planned when the held-out loss stopped improving
    best_epoch: int = 1  # whose weights were kept
    validation_pairs: int = 0
    losses: list[float] = []  # the training loss, step by step (thinned to 200 points)
    validation_losses: list[float] = []  # the held-out loss after each epoch


class IndexStats(Record):
    chunks: int
    build_seconds: float
    size_bytes: int
    cached: bool
    device: str = "cpu"  # where the embedding ran: the build is priced at that device's rate

    def plus(self, other: IndexStats | None) -> IndexStats:
        """Two indexes' costs together: a classification task's corpus index and its kNN example index."""
        if other is None:
            return self
        return IndexStats(chunks=self.chunks + other.chunks, build_seconds=self.build_seconds + other.build_seconds,
                          size_bytes=self.size_bytes + other.size_bytes, cached=self.cached and other.cached, device=self.device)


class Adapter(Record):
    weights: str  # the arm weights it serves ("ft", "ft_rag")
    seed: int
    path: str
    stats: TrainStats


class Environment(Record):
    python: str
    machine: str
    cuda: str | None
    packages: dict[str, str]
    allocator: str = "system"  # the malloc the process ran with (bench/run/allocator.py): it moves peak memory


class RunManifest(Record):
    schema_version: int = MANIFEST_VERSION
    task: str
    task_folder: str  # where the task was loaded from, so `ftrag score` can read its items again
    data_hash: str
    config: RunConfig
    generator_path: str
    prompt_format: str = "chat template"  # or "plain": what model.chat_template resolved to for this model
    answering_precision: str = "fp32"  # what generation.precision resolved to on this device
    device: str
    n_params: int
    # the generator's FLOP rates answering (models.flops), for each query's model FLOPs; None in the run.json of an older
    # ftrag, whose queries then count 2 x every parameter x (prompt + output tokens), as that ftrag did
    query_rates: ModelFlops | None = None
    index: IndexStats | None = None  # retrieval's one-off cost (corpus index, plus the kNN example index)
    adapters: list[Adapter] = []
    timings: dict[str, float] = {}  # seconds per stage in the invocation that wrote this file
    stage_memory_mb: dict[str, float] = {}  # each stage's own peak memory in that invocation (CPU: resident set)
    environment: Environment

    def adapter(self, weights: str, seed: int) -> Adapter | None:
        return next((a for a in self.adapters if a.weights == weights and a.seed == seed), None)


# What an experiment built (`experiments/<name>/run.json` of the run folder), read by the score stage

class Variant(Record):
    """One way of answering in an experiment: model weights (an adapter, or none) and a context source."""
    name: str  # e.g. "ft", "ft (full)", "rag (re-indexed)", "ft (continued)"
    arm: str  # the run arm it stands for
    adapter: str | None = None  # the weights it answered with (none: the base model)
    train: TrainStats | None = None  # what producing those weights cost in this experiment (none: reused as they were)
    index_seconds: float = 0.0  # re-indexing a corpus for this variant
    device: str = "cpu"
    train_examples: int | None = None  # learning curve: the labeled examples its adapter trained on
    how: str = ""  # knowledge update: stale, re-indexed, continued or retrained


class ExperimentManifest(Record):
    experiment: Literal["forgetting", "update", "curve"]
    data_hash: str = ""  # the task's data when the experiment ran: another means the run has moved on since
    run_adapters: list[str] = []  # the run's adapters then: others (retrained since) make the experiment stale too
    settings: dict
    variants: list[Variant]
    seconds: float = 0.0  # wall time of the invocation that finished the experiment
