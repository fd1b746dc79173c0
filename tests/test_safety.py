"""Loading never runs code from a model, adapter, task or checkpoint: no remote code, no pickles, safe YAML."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from bench.models.loading import load_generator
from bench.records.errors import UserError

PACKAGE = Path(__file__).resolve().parents[1] / "bench"
CALLS = [(path, node) for path in PACKAGE.rglob("*.py") for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)]


def name_of(call: ast.Call) -> str:
    return ast.unparse(call.func)


def test_no_loader_is_ever_told_to_trust_remote_code():
    trusting = [f"{p.name}:{c.lineno}" for p, c in CALLS for k in c.keywords
                if k.arg == "trust_remote_code" and not (isinstance(k.value, ast.Constant) and k.value.value is False)]
    assert trusting == []


def test_nothing_is_unpickled_and_yaml_is_read_safely():
    risky = [f"{p.name}:{c.lineno} {name_of(c)}" for p, c in CALLS
             if name_of(c) in ("pickle.load", "pickle.loads", "yaml.load", "yaml.unsafe_load", "yaml.full_load", "torch.load")]
    assert risky == []
    assert not [p for p in PACKAGE.rglob("*.py") if "import pickle" in p.read_text()]


def test_every_model_load_goes_through_the_safetensors_only_loader():
    direct = [f"{p.name}:{c.lineno}" for p, c in CALLS if name_of(c) == "AutoModelForCausalLM.from_pretrained"
              and not any(k.arg == "gguf_file" for k in c.keywords) and p.name != "loading.py"]
    assert direct == []  # presets.py reads the shipped GGUF (no pickle); everything else calls loading.load_model


def test_a_model_shipped_as_a_pickle_is_refused_with_a_message(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")  # the old format: a pickle
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (tiny_model_dir / name).exists():
            (tmp_path / name).write_bytes((tiny_model_dir / name).read_bytes())
    assert (tmp_path / "pytorch_model.bin").exists() and not (tmp_path / "model.safetensors").exists()
    with pytest.raises(UserError, match="safetensors weights only"):
        load_generator(str(tmp_path), "cpu")
