"""`scores.json`: every figure of a run, typed and versioned. The score stage writes it; the report reads it.

Fractions are 0..1. Each interval is a 95% interval around a point estimate over `n` items.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bench.records.manifest import Environment, IndexStats, TrainStats

SCORES_VERSION = 2  # 1: the unversioned layout written before the score stage existed (see records/migrate.py)


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")


class Interval(Record):
    mean: float
    low: float
    high: float
    n: int

    @property
    def has_value(self) -> bool:
        return self.n > 0 and self.mean == self.mean  # NaN: nothing to score


class Retrieval(Record):
    recall_at_k: Interval
    k: int
    method: str = "dense"  # how chunks were retrieved: dense, bm25 or hybrid


class Cost(Record):
    train: TrainStats | None
    index: IndexStats | None
    one_off_seconds: float
    one_off_usd: float
    query_seconds_p50: float
    query_seconds_p95: float
    query_seconds_mean: float
    prompt_tokens_mean: float
    output_tokens_mean: float
    query_flops: float
    usd_per_1k_queries: float
    hour_rate_usd: float
    priced_by_tokens: bool
    device: str
    peak_memory_mb: float | None
    cpu_share: float | None = None  # answering's, of its threads' time (models.device.cpu_share); None: GPU, older run


class ModalAnswer(Record):
    """The label a label-choice arm answered most often (ties: the one answered first)."""
    label: str
    count: int  # items the arm answered with it
    gold_count: int  # items whose gold label it is


class ArmScores(Record):
    items: int
    accuracy: dict[str, Interval]  # the family's metrics, headline first, and whole-sample ones (macro-F1)
    by_stratum: dict[str, dict[str, Interval]] = {}
    hallucination: dict[str, Interval] = {}
    retrieval: Retrieval | None = None
    fit: Interval | None = None  # fine-tuned arms: the headline on a sample of its own training questions
    modal_answer: ModalAnswer | None = None  # label choice: the label it answered most often
    cost: Cost


class Comparison(Record):
    """Arm a minus arm b on the same items."""
    a: str
    b: str
    metric: str
    stratum: str
    diff: Interval  # the difference with its 95% interval (Newcombe's for right/wrong scores, else bootstrap)
    p: float
    test: str  # "McNemar (mid-p)", "paired bootstrap", or "seed and item bootstrap" (several fine-tuning seeds)
    p_holm: float | None = None  # the verdict's comparisons only: Holm-adjusted over all of them

    @property
    def significant(self) -> bool:
        """At the 5% level; the verdict's own comparisons after Holm's correction."""
        return (self.p_holm if self.p_holm is not None else self.p) < 0.05


class BreakEven(Record):
    arms: list[str]  # [fine-tuned arm, retrieval arm]
    extra_one_off_usd: float
    saving_per_query_usd: float
    queries: float | None  # None: fine-tuning is never cheaper per query
    assumptions: str


class Majority(Record):
    label: str
    accuracy: float
    items: int


class SeedMetric(Record):
    values: list[float]
    mean: float
    std: float


class SeedSpread(Record):
    seeds: list[int]
    metrics: dict[str, SeedMetric]


class Definition(Record):
    label: str
    better: Literal["higher", "lower"]
    definition: str


class TaskInfo(Record):
    name: str
    kind: str
    description: str
    source: str
    license: str
    data_hash: str
    train_examples: int
    corpus_documents: int


# --- the experiments (`experiments/<name>/` of a run folder, scored with the run) ---

# forgetting

class ProbeResult(Record):
    accuracy: Interval  # Wilson
    change: Interval | None = None  # minus the base model on the same items (Newcombe), adapters only
    p: float | None = None  # McNemar (mid-p), adapters only


class ForgettingVariant(Record):
    name: str
    arm: str
    method: str  # lora or full
    domain: Interval | None  # the task's headline score
    domain_gain: Interval | None  # the headline minus that of `gain_over`, paired on the test items
    gain_over: str = "base"  # base (closed-book arms), or rag for an arm that retrieves: what fine-tuning added to
    probes: dict[str, ProbeResult]
    general_change: Interval | None  # over every probe item together, minus the base model (Newcombe)
    general_p: float | None


class ProbeInfo(Record):
    title: str
    items: int
    chance: float  # the mean of 1 / number of choices
    scoring: str
    license: str


class Forgetting(Record):
    probes: dict[str, ProbeInfo]
    base: dict[str, ProbeResult]
    variants: list[ForgettingVariant]
    seconds: float
    methods_arm: str = "ft"  # the arm trained by both LoRA and full fine-tuning
    # methods_arm by LoRA minus by full fine-tuning, paired on every probe item (when both were measured)
    lora_vs_full: Interval | None = None
    lora_vs_full_p: float | None = None


# knowledge update

class UpdateVariant(Record):
    name: str
    arm: str
    how: str  # "stale", "re-indexed", "continued", "retrained"
    current: Interval  # the changed facts answered with their revised value
    stale: Interval  # the changed facts answered with their old value
    unchanged: Interval | None  # a sample of facts the revision left alone
    update_seconds: float
    update_usd: float


class Update(Record):
    changed_items: int
    unchanged_items: int
    variants: list[UpdateVariant]
    seconds: float


# learning curve

class CurvePoint(Record):
    arm: str
    examples: int  # labeled training examples its adapter trained on
    score: Interval  # the headline on the run's test items
    vs_rag: Interval | None  # minus RAG's headline, paired on the same items
    p: float | None
    train_seconds: float


class Curve(Record):
    metric: str
    training_examples: dict[str, int]  # per arm: its whole training split (ft_rag's less its stopping slice)
    points: list[CurvePoint]
    rag: Interval | None
    matches_rag: dict[str, int | None]  # per arm: the fewest examples at which it is not significantly below RAG
    seconds: float


# claims

class Claim(Record):
    source: str  # the paper
    claim: str
    finding: Literal["agrees", "disagrees", "no clear difference", "not measured"]
    figures: str  # the numbers the finding rests on, in words


class ScoresFile(Record):
    schema_version: Literal[2] = SCORES_VERSION
    task: TaskInfo
    items: dict[str, int]  # test items per stratum
    family: Literal["qa", "choice", "drafting"]
    metrics: list[str]  # the family's per-item metrics, headline first
    config: dict[str, Any]  # the resolved settings (kept as stored, so older runs still load)
    config_hash: str
    generator_path: str
    n_params: int = 0  # the generator's parameters (0 in files written before it was stored)
    prompt_format: str = "chat template"
    answering_precision: str = "fp32"
    arms: dict[str, ArmScores]
    break_even: BreakEven | None = None
    majority: Majority | None = None  # label choice: always answering the most frequent label
    seeds: dict[str, SeedSpread] | None = None
    comparisons: list[Comparison] = []
    definitions: dict[str, Definition]  # as the run's code defined each figure
    timings: dict[str, float] = {}
    stage_memory_mb: dict[str, float] = {}  # each stage's own peak memory (CPU: resident set)
    environment: Environment
    forgetting: Forgetting | None = None  # `ftrag forgetting`
    update: Update | None = None  # `ftrag update`
    curve: Curve | None = None  # `ftrag curve`
    claims: list[Claim] = []  # published claims this run's figures bear on

    @property
    def headline(self) -> str:
        return self.metrics[0]

    def interval(self, arm: str, metric: str, stratum: str = "all") -> Interval | None:
        """An arm's interval for an accuracy metric or hallucination measure, overall or in one stratum."""
        scores = self.arms[arm]
        if stratum != "all":
            return scores.by_stratum.get(stratum, {}).get(metric)
        return scores.accuracy.get(metric) or scores.hallucination.get(metric)


class ScoredItem(Record):
    """One item as one arm answered it, with its per-item metric values: `item_scores/<arm>.jsonl`."""
    id: str
    stratum: str
    input: str
    gold: list[str]
    output: str
    retrieved: list[str]
    scores: dict[str, float]
