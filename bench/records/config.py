"""Typed run configuration: defaults here, then the task's `overrides:`, then key=value from the command line.

>>> cfg = resolve_config("synth_qa", task_overrides={"retrieval": {"k": 2}}, cli_overrides=["finetune.epochs=1"])
>>> (cfg.retrieval.k, cfg.finetune.epochs)
(2, 1)
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bench.records.arms import ARMS
from bench.records.errors import UserError, did_you_mean, format_pydantic_errors


class Strict(BaseModel):
    # extra="forbid" turns a typo in a YAML key into an error instead of a silently ignored setting
    model_config = ConfigDict(extra="forbid")


class ModelConfig(Strict):
    generator: str = "smollm2-135m"  # preset name, Hugging Face id or local path
    embedder: str = "all-minilm-l6-v2"
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    threads: int | None = None  # torch CPU threads; None = torch's default
    # auto: the model's chat template when it has one; off: plain prompts ("...\nAnswer:"), as a base model or a peer
    # harness's plain prompts expect; on: require the template
    chat_template: Literal["auto", "on", "off"] = "auto"


class RetrievalConfig(Strict):
    k: int = Field(3, ge=1)
    chunk_words: int = Field(80, ge=8)
    chunk_overlap: int = Field(16, ge=0)
    index: Literal["flat", "ivf", "hnsw"] = "flat"
    # dense: embeddings; bm25: exact words (names, model numbers); hybrid: both, fused by reciprocal rank
    method: Literal["dense", "bm25", "hybrid"] = "hybrid"


class FinetuneConfig(Strict):
    method: Literal["lora", "full"] = "lora"
    # 12 epochs at 1e-3: a closed-book LoRA adapter on synth_qa then answers 87% of its own training questions
    # (measured: 5 epochs at 5e-4 stopped early by a held-out slice answered 2%); arms with held-out pairs stop
    # earlier when those stop improving
    epochs: int = Field(12, ge=1)
    corpus_epochs: int = Field(2, ge=0)  # passes over the corpus text (knowledge fine-tuning); 0 = QA pairs only
    raft_epochs: int = Field(2, ge=1)  # epochs of the ft_rag adapter (its examples are longer)
    # None: 1e-3 for LoRA, 1e-4 for full fine-tuning (synth_qa, ft, 12 epochs: full fine-tuning at 3e-5 scored 17.5
    # against LoRA's 35.0, too weak a rival to weigh LoRA's forgetting against; at 1e-4 it scores 46.2)
    learning_rate: float | None = None
    batch_size: int = Field(8, ge=1)
    # the most activation memory of one forward and backward, in tokens (training.finetune.part_cost: the positions run,
    # a shared prompt prefix once, plus each position the LM head scores at what its logits weigh against a token, from
    # the model: ~0.5 for SmolLM2-135M in fp32, 3.3 for Gemma 3 270M): a larger batch is split into parts whose
    # gradients add up to the whole batch's (the same update), so memory stays bounded. SmolLM2-135M, 8 rows of
    # 100-384 tokens, 2 threads: a step peaks at 7.8 GB unsplit, 2.4 GB at 512 padded tokens. Counting what runs, not
    # rows x padded width, lets synth_qa's 8 closed-book questions (72 tokens, 26 of them a shared prefix) run as one
    # part instead of two small ones, ~1.35x faster; SmolLM2's corpus windows (every token scored) run 2-3 to a part
    batch_tokens: int = Field(512, ge=16)
    # a part whose rows run longer than this keeps only each decoder layer's input and recomputes the rest in the
    # backward pass: the same gradients up to float rounding (so the setting is in the adapter's key). It trades
    # time for memory: on synth_qa's ft_rag rows (~315 tokens, parts of one row) steps run 1.38x slower (8.4 against
    # 6.1 s, fp32). With the process on mimalloc (bench/run/allocator.py) the default bench's ft_rag stage peaks at
    # 2,395 MB without it, so the default (longer than max_length's 384) recomputes nothing; under glibc's malloc
    # that stage peaked at 3,237 MB (2,849 MB recomputing over 256 tokens). Lower it for long rows where memory is short
    recompute_over: int = Field(512, ge=0)
    max_length: int = Field(384, ge=16)
    max_examples: int | None = Field(None, ge=1)  # cap on training examples (a seeded sample), for large train sets
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.0, ge=0, lt=1)  # on CPU dropout costs ~15% of training speed
    # bf16 training: LoRA holds its frozen weights in bf16 (adapter weights, gradients and optimizer fp32), or on a
    # CPU with oneDNN multiplies by them in bf16 from packed copies, all else fp32; full fine-tuning runs bf16 autocast
    # over fp32 weights (compute.frozen_dtype). auto: bf16 on a GPU, and for LoRA on a CPU with fast bf16 matmuls;
    # else fp32 (compute.training_precision). The choice made is in the adapter's cache key and the report's fit table.
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    raft_gold_fraction: float = Field(0.8, ge=0, le=1)  # ft_rag: share of examples that keep the gold chunk
    # Early stopping: after each epoch, the answer loss on held-out pairs (the task's data.validation, else a
    # seeded slice of the training examples, which are then not trained on); training stops when it has not
    # improved for `patience` epochs, and the best epoch's weights are kept. A slice of 10-32 pairs gives a noisy
    # loss that rises for an epoch and then falls on: with patience 1, synth_cls's ft_plain stopped after 3 of 12
    # epochs (held-out 0.81, 0.51, 0.53) and fit 28.3% of its training questions; with 2 it ran 8 and kept the 6th
    # (0.26, 0.44, 0.05, 0.11, 0.19 after): fit 86.7%. banking77's and pubmedqa's adapters kept the same epoch.
    early_stopping: bool = True
    patience: int = Field(2, ge=1)
    validation_fraction: float = Field(0.1, ge=0, lt=1)
    validation_max: int = Field(32, ge=1)
    fit_items: int = Field(60, ge=0)  # training examples each adapter answers afterwards: has it learned them?
    checkpoint_minutes: float = Field(2.0, gt=0)  # a killed training resumes from its last checkpoint
    # training processes: >1 runs `accelerate launch` with that many (DDP, each taking every n-th row of a batch;
    # a GPU each, or a share of the CPU cores over gloo): bench/training/distributed.py
    processes: int = Field(1, ge=1)
    # with processes > 1: ddp, a whole copy of the model per process; fsdp, each process holds a shard of the weights,
    # gradients and optimizer state (torch FSDP2), for a model whose training does not fit one device
    sharding: Literal["ddp", "fsdp"] = "ddp"
    # Paraphrase augmentation of the corpus for `ft`: up to this many other phrasings of each document, from the
    # task (data.paraphrases) or written by the generator; 0 for none
    paraphrases: int = Field(5, ge=0)
    paraphrase_source: Literal["task", "model"] = "task"

    @model_validator(mode="after")
    def sharding_needs_processes(self) -> FinetuneConfig:
        if self.sharding == "fsdp" and self.processes < 2:
            raise ValueError("sharding=fsdp shards the model over several processes: also set finetune.processes=2 "
                             "or more (or run with --launcher accelerate)")
        return self

    def lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 1e-3 if self.method == "lora" else 1e-4


class GenerationConfig(Strict):
    max_new_tokens: int | None = Field(None, ge=1)  # None: 24 for short answers, 160 for drafting
    batch_size: int = Field(16, ge=1)
    # the weights answering runs in (every arm, the fit check, probes, model-written paraphrases): auto is bf16 on a GPU
    # and on a CPU whose bf16 matmuls measure at least 1.5x fp32's (AMD EPYC Zen 4: ~2.5x, synth_qa's answering ~2x
    # faster), else fp32 (a Xeon without AMX runs bf16 matmuls at half fp32's speed). The choice made is in the
    # predictions' cache keys and the report's reproducibility block.
    precision: Literal["auto", "fp32", "bf16"] = "auto"


class PriceConfig(Strict):
    """Turns measured seconds into money. Change these to your own rates; nothing else is hard-coded."""

    cpu_hour_usd: float = 0.10
    gpu_hour_usd: float = 2.50
    # Set both to price queries by tokens (a hosted-inference view) instead of by measured seconds.
    usd_per_1k_prompt_tokens: float | None = None
    usd_per_1k_output_tokens: float | None = None

    @property
    def by_tokens(self) -> bool:
        return self.usd_per_1k_prompt_tokens is not None and self.usd_per_1k_output_tokens is not None


class JudgeConfig(Strict):
    enabled: bool = False  # off by default: the exact-match measures need no model and run offline
    model: str = "smollm2-135m"  # any instruction model: a preset, an HF id or a path
    k: int = Field(2, ge=1)  # corpus chunks the judge reads per answer


class RunConfig(Strict):
    task: str
    # names from the arm registry (records/arms.py); None: the standard arms, and ft_plain when ft uses paraphrases
    arms: list[str] | None = Field(None, min_length=1)
    limit: int | None = Field(40, ge=1)  # test items per stratum; None = all
    fewshot_k: int = Field(4, ge=1)
    knn_k: int = Field(4, ge=1)  # classification: nearest training examples in the retrieval arms' prompt
    answer_mode: Literal["auto", "loglik", "generate"] = "auto"  # auto: log-likelihood choice when the task has labels
    # the metric the verdict ranks arms by and fit is measured in: one of the task's per-item accuracy metrics (e.g.
    # rouge_l where a drafting task's references state few values or names); None: the first (correct answer for QA,
    # accuracy for labels, key-fact recall for drafting)
    headline: str | None = None
    seed: int = 0  # sampling: few-shot examples, training subsample, bootstrap
    # Fine-tuning seeds. The first gives the ft/ft_rag predictions that the tables and tests use; each
    # further seed retrains both adapters and answers again, and the report shows the spread across seeds.
    seeds: list[int] = Field([0], min_length=1)
    model: ModelConfig = ModelConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    finetune: FinetuneConfig = FinetuneConfig()
    generation: GenerationConfig = GenerationConfig()
    prices: PriceConfig = PriceConfig()
    judge: JudgeConfig = JudgeConfig()
    bootstrap_resamples: int = Field(1000, ge=100)

    @field_validator("arms")
    @classmethod
    def _known_arms(cls, arms: list[str] | None) -> list[str] | None:
        for name in arms or []:
            if name not in ARMS:
                raise ValueError(did_you_mean(name, list(ARMS), "arm"))
        return arms

    def digest(self) -> str:
        """Hash of every setting, so the same command maps to the same run directory."""
        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True).encode()).hexdigest()[:10]


def parse_override(text: str) -> tuple[list[str], Any]:
    """'finetune.epochs=2' -> (['finetune', 'epochs'], 2). Values are parsed as YAML, so 2, 0.5, [a, b] work."""
    if "=" not in text:
        raise UserError(f"command line: override '{text}' is not of the form key=value (e.g. finetune.epochs=2)")
    key, raw = text.split("=", 1)
    return key.strip().split("."), yaml.safe_load(raw) if raw.strip() else None


def _set_nested(tree: dict, path: list[str], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def _merge(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_config(task: str, task_overrides: dict | None = None, cli_overrides: list[str] = ()) -> RunConfig:
    tree = _merge({"task": task}, task_overrides or {})
    for text in cli_overrides:
        path, value = parse_override(text)
        _set_nested(tree, path, value)
    try:
        return RunConfig.model_validate(tree)
    except ValidationError as err:
        raise UserError(format_pydantic_errors("run settings (task overrides and command line)", err)) from None
