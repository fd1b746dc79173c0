"""Preset conversion: transformers' GGUF loading, each file parsed once."""
from __future__ import annotations

import gguf
import numpy as np
import pytest

from bench.models.presets import GENERATOR_PRESETS, convert_gguf, gguf_read_once


def tiny_gguf(path):
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_block_count(2)
    writer.add_tensor("token_embd.weight", np.arange(32, dtype=np.float32).reshape(4, 8))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return str(path)


def test_a_file_is_parsed_once_while_converting_and_gguf_is_restored_after(tmp_path):
    path = tiny_gguf(tmp_path / "tiny.gguf")
    reader_class, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    with gguf_read_once():
        reader = gguf.GGUFReader(path)
        assert gguf.GGUFReader(path) is reader
        assert reader.tensors[0].name == "token_embd.weight" and reader.tensors[0].data.sum() == sum(range(32))
        assert gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2) is gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2)
    assert (gguf.GGUFReader, gguf.get_tensor_name_map) == (reader_class, name_map)
    assert gguf.GGUFReader(path) is not gguf.GGUFReader(path)


def test_gguf_is_restored_when_conversion_fails(tmp_path):
    reader_class = gguf.GGUFReader
    with pytest.raises(ValueError), gguf_read_once():
        raise ValueError("conversion failed")
    assert gguf.GGUFReader is reader_class


def test_converting_the_shipped_preset_parses_its_gguf_once(tmp_path, monkeypatch):
    """transformers must still look the reader up in gguf at each call, or the conversion parses thrice again."""
    parsed = []

    class CountingReader(gguf.GGUFReader):
        def __init__(self, path, *args, **kwargs):
            parsed.append(path)
            super().__init__(path, *args, **kwargs)

    monkeypatch.setattr(gguf, "GGUFReader", CountingReader)
    convert_gguf(GENERATOR_PRESETS["smollm2-135m"].gguf_file(), tmp_path / "model")
    assert len(parsed) == 1 and (tmp_path / "model" / "model.safetensors").stat().st_size > 500e6
