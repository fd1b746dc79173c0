"""Loading a generator (with its adapter merged) and its tokenizer; the prompt format each model expects."""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from bench.models.device import resolve_precision
from bench.models.flops import model_flops
from bench.models.packing import pack_linears
from bench.models.presets import GENERATOR_PRESETS
from bench.records.errors import UserError
from bench.records.manifest import ModelFlops


# Weights are data, never code: no repository code runs (trust_remote_code stays off) and nothing is unpickled
# (safetensors only; a model shipped as pickled .bin files is refused with a message saying how to convert it).
SAFE = {"trust_remote_code": False, "use_safetensors": True}


def load_model(path, dtype, fine_tuned: bool = False):
    """A causal LM from safetensors weights (its LM head flattened), or one message saying why not. `fine_tuned`: the
    folder is a fully fine-tuned model ftrag saved in its cache, not the user's model.generator."""
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **SAFE)
    except (OSError, ValueError) as err:
        reason = str(err).splitlines()[0]
        if fine_tuned:
            raise UserError(f"cannot load the fine-tuned model cached at '{path}' ({reason}). Delete that folder and run "
                            "the same command again: it trains the model anew.") from None
        raise UserError(f"model.generator: cannot load '{path}' ({reason}). ftrag loads safetensors weights "
                        f"only (never pickled .bin files): use a preset ({', '.join(GENERATOR_PRESETS)}), an HF id or a "
                        "local folder with model.safetensors (transformers' save_pretrained writes one).") from None
    flatten_lm_head(model)
    return model


def flatten_lm_head(model) -> None:
    """Let the LM head multiply a 2-D view of its input. transformers hands it the last positions as a strided 3-D
    slice (`logits_to_keep`: generation's prefill, answer-only training, log-likelihood choices), and for such a slice
    torch on CPU copies the whole vocabulary-by-hidden weight once per row when that weight needs no gradient (LoRA
    training; a model an adapter was merged into): SmolLM2-135M's 49k x 576 head over a batch of 16 took 754 ms in
    bf16 (26 ms in fp32) against 1.8 ms (4.5 ms) flattened. The same products, summed in another order."""
    head = model.get_output_embeddings()
    if type(head) is torch.nn.Linear:
        head.forward = partial(flat_linear, head)


def flat_linear(head: torch.nn.Linear, hidden: torch.Tensor) -> torch.Tensor:
    flat = torch.nn.functional.linear(hidden.reshape(-1, hidden.shape[-1]), head.weight, head.bias)
    return flat.view(*hidden.shape[:-1], flat.shape[-1])


def uses_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def load_tokenizer(path: str, chat_template: str = "auto"):
    """The tokenizer, left-padded. chat_template: "auto" uses the model's template when it has one, "off" prompts
    plainly even then (a base model, or a peer harness's plain prompts), "on" requires one."""
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    if chat_template == "on" and not uses_chat_template(tokenizer):
        raise UserError(f"model.chat_template=on: '{path}' has no chat template. Use model.chat_template=auto or off.")
    if chat_template == "off":
        tokenizer.chat_template = None  # every prompt, training target and label choice then follows the plain format
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.sep_token
    tokenizer.padding_side = "left"  # generation and answer-only training both want the answer at the right edge
    return tokenizer


@contextmanager
def peft_quietly():
    """peft reads transformers' deprecated `is_gradient_checkpointing` as it wraps a model: their warning, not the user's."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
        yield


def answering_dtype(device: str, precision: str = "auto") -> torch.dtype:
    """bf16 where `generation.precision` resolves to it (a GPU's tensor cores, a CPU with fast bf16 matmuls; half the
    memory), else fp32."""
    return torch.bfloat16 if resolve_precision(precision, device) == "bf16" else torch.float32


def load_generator(path: str, device: str, adapter: Path | None = None, chat_template: str = "auto", precision: str = "auto"):
    """(model, tokenizer) in eval mode, for answering only. A LoRA adapter is merged: generation with an unmerged one
    is ~30% slower. On a CPU the linear layers' weights are packed for oneDNN (bench/models/packing.py)."""
    dtype = answering_dtype(device, precision)
    if adapter is not None and not (adapter / "adapter_config.json").exists():  # full fine-tuning saved a whole model
        model = load_model(str(adapter), dtype, fine_tuned=True)
    else:
        model = load_model(path, dtype)
        if adapter is not None:
            with peft_quietly():  # adapter_model.safetensors, written by ftrag
                model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    model = model.to(device).eval()
    pack_linears(model)
    return model, load_tokenizer(path, chat_template)


def answer_token_ids(tokenizer, answer: str) -> list[int]:
    """An answer's tokens as they follow its prompt: after a plain prompt's "Answer:" a space comes first, a chat
    turn starts clean. Training targets and scored label choices both use this, so they are the same tokens."""
    prefix = "" if uses_chat_template(tokenizer) else " "
    return tokenizer.encode(prefix + answer, add_special_tokens=False)


def format_prompt(tokenizer, user_text: str) -> str:
    """The model's chat template when it has one, else a plain prompt ending where the answer starts."""
    if uses_chat_template(tokenizer):
        messages = [{"role": "user", "content": user_text}]
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return user_text + "\nAnswer:"


def model_shape(path: str) -> tuple[int, ModelFlops]:
    """The model's parameter count and the FLOP rates of its answering (models.flops), from its config alone (meta
    device, no weights loaded)."""
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(path, trust_remote_code=False))
    return sum(p.numel() for p in model.parameters()), model_flops(model, training=False)
