"""Loading a generator (with its adapter merged) and its tokenizer; the prompt format each model expects."""
from __future__ import annotations

from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from bench.models.presets import GENERATOR_PRESETS
from bench.records.errors import UserError


def uses_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def load_tokenizer(path: str):
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.sep_token
    tokenizer.padding_side = "left"  # generation and answer-only training both want the answer at the right edge
    return tokenizer


def load_generator(path: str, device: str, adapter: Path | None = None):
    """(model, tokenizer) in eval mode. A LoRA adapter is merged: generation with an unmerged one is ~30% slower."""
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16 if device == "cuda" else torch.float32)
    except OSError as err:
        raise UserError(f"model.generator: cannot load '{path}' ({err}). Use a preset ({', '.join(GENERATOR_PRESETS)}), an HF id or a local path.") from None
    if adapter is not None and (adapter / "adapter_config.json").exists():
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    elif adapter is not None:  # full fine-tuning saved a whole model
        model = AutoModelForCausalLM.from_pretrained(adapter, dtype=model.dtype)
    return model.to(device).eval(), load_tokenizer(path)


def format_prompt(tokenizer, user_text: str) -> str:
    """The model's chat template when it has one, else a plain prompt ending where the answer starts."""
    if uses_chat_template(tokenizer):
        messages = [{"role": "user", "content": user_text}]
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return user_text + "\nAnswer:"


def count_parameters(path: str) -> int:
    """Parameter count without loading weights (meta device), for FLOP estimates."""
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(path))
    return sum(p.numel() for p in model.parameters())
