"""What a run built before its arms answered, as the score stage needs it: `run.json` in the run folder.

The run writes it after its index and adapters are ready; `ftrag score` reads it with the predictions, so a run
can be re-scored without a model, an index or an adapter in memory.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bench.records.config import RunConfig

MANIFEST_VERSION = 1


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")


class TrainStats(Record):
    """What training one adapter cost, measured when it was trained (a cached adapter keeps these)."""

    method: str
    sequences: int  # training sequences seen, repeats over epochs included
    steps: int
    tokens: int  # tokens through the model, padding excluded
    seconds: float
    flops: float  # estimate: 4 x params x tokens for LoRA (no weight gradients), 6 x for full
    trainable_params: int
    first_loss: float
    last_loss: float
    peak_rss_mb: float
    device: str
    cached: bool = False


class IndexStats(Record):
    chunks: int
    build_seconds: float
    size_bytes: int
    cached: bool

    def plus(self, other: IndexStats | None) -> IndexStats:
        """Two indexes' costs together: a classification task's corpus index and its kNN example index."""
        if other is None:
            return self
        return IndexStats(chunks=self.chunks + other.chunks, build_seconds=self.build_seconds + other.build_seconds,
                          size_bytes=self.size_bytes + other.size_bytes, cached=self.cached and other.cached)


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


class RunManifest(Record):
    schema_version: int = MANIFEST_VERSION
    task: str
    task_folder: str  # where the task was loaded from, so `ftrag score` can read its items again
    data_hash: str
    config: RunConfig
    generator_path: str
    device: str
    n_params: int
    index: IndexStats | None = None  # retrieval's one-off cost (corpus index, plus the kNN example index)
    adapters: list[Adapter] = []
    timings: dict[str, float] = {}  # seconds per stage in the invocation that wrote this file
    environment: Environment

    def adapter(self, weights: str, seed: int) -> Adapter | None:
        return next((a for a in self.adapters if a.weights == weights and a.seed == seed), None)
