import pytest
import torch

from bench.models.generate import generate
from bench.models.loading import load_generator, load_model, load_tokenizer
from bench.models.packing import PackedLinear, can_pack, onednn_bf16, pack_linears

needs_onednn_bf16 = pytest.mark.skipif(not onednn_bf16(), reason="this CPU's torch has no oneDNN bf16 kernels: nothing is packed")


@needs_onednn_bf16
def test_a_packed_linear_gives_the_linear_products_with_and_without_bias():
    torch.manual_seed(0)
    for bias in (True, False):
        linear = torch.nn.Linear(48, 80, bias=bias).to(torch.bfloat16)
        packed = PackedLinear(linear)
        for rows in (1, 7, 300):  # a decoding step, a short prefill, a long one
            x = torch.randn(2, rows, 48, dtype=torch.bfloat16)
            with torch.no_grad():
                expected = linear(x)
            got = packed(x)
            assert got.shape == expected.shape == (2, rows, 80)
            torch.testing.assert_close(got, expected)


@needs_onednn_bf16
def test_every_linear_of_a_bf16_cpu_model_is_packed_and_it_scores_as_before(tiny_model_dir):
    plain = load_model(str(tiny_model_dir), torch.bfloat16).eval()
    packed = load_model(str(tiny_model_dir), torch.bfloat16).eval()
    linears = sum(type(m) is torch.nn.Linear for m in plain.modules())
    assert pack_linears(packed) == linears == 2 * 7 + 1  # q, k, v, o, gate, up, down per layer; the LM head
    assert not any(type(m) is torch.nn.Linear for m in packed.modules())
    tokenizer = load_tokenizer(str(tiny_model_dir))
    batch = tokenizer(["The capital of France is", "Two plus two"], return_tensors="pt", padding=True)
    with torch.no_grad():
        torch.testing.assert_close(packed(**batch).logits, plain(**batch).logits)


def test_fp32_models_answer_unpacked(tiny_model_dir):
    model = load_model(str(tiny_model_dir), torch.float32).eval()
    assert not can_pack(model) and pack_linears(model) == 0
    assert type(model.lm_head) is torch.nn.Linear


@needs_onednn_bf16
def test_load_generator_packs_bf16_answering_and_generates_what_the_unpacked_model_does(tiny_model_dir):
    model, tokenizer = load_generator(str(tiny_model_dir), "cpu", precision="bf16")
    assert type(model.lm_head) is PackedLinear
    plain = load_model(str(tiny_model_dir), torch.bfloat16).eval()
    prompts = ["Question: what is ftrag?", "Name a colour", "Count: one, two,"]
    got = [g.text for g in generate(model, tokenizer, prompts, max_new_tokens=8, batch_size=2)]
    assert got == [g.text for g in generate(plain, tokenizer, prompts, max_new_tokens=8, batch_size=2)]
