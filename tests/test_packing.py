from pathlib import Path

import pytest
import torch

from bench.models.generate import generate
from bench.models.loading import load_generator, load_model, load_tokenizer
from bench.models import packing
from bench.models.packing import FrozenLinear, PackedLinear, can_pack, fusable, onednn_bf16, pack_frozen, pack_linears
from bench.records.config import FinetuneConfig
from bench.training.finetune import TrainPair, answer_loss, encode_pair, prepare_model

needs_onednn = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="this torch has no oneDNN: nothing is packed")
needs_onednn_bf16 = pytest.mark.skipif(not onednn_bf16(), reason="this CPU's torch has no oneDNN bf16 kernels: nothing is packed")
needs_proc_maps = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads Linux's /proc/self/maps")


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


@needs_onednn
@pytest.mark.parametrize("dtype", [torch.float32, pytest.param(torch.bfloat16, marks=needs_onednn_bf16)])
def test_every_linear_of_a_cpu_model_is_packed_and_it_scores_as_before(tiny_model_dir, dtype):
    plain = load_model(str(tiny_model_dir), dtype).eval()
    packed = load_model(str(tiny_model_dir), dtype).eval()
    linears = sum(type(m) is torch.nn.Linear for m in plain.modules())
    assert pack_linears(packed) == linears == 2 * 7 + 1  # q, k, v, o, gate, up, down per layer; the LM head
    assert not any(type(m) is torch.nn.Linear for m in packed.modules())
    tokenizer = load_tokenizer(str(tiny_model_dir))
    batch = tokenizer(["The capital of France is", "Two plus two"], return_tensors="pt", padding=True)
    with torch.no_grad():  # fp32: oneDNN sums in another order than MKL
        torch.testing.assert_close(packed(**batch).logits, plain(**batch).logits, **({} if dtype == torch.bfloat16 else dict(rtol=1e-5, atol=1e-5)))


def test_fp16_models_answer_unpacked(tiny_model_dir):
    model = load_model(str(tiny_model_dir), torch.float16).eval()
    assert not can_pack(model) and pack_linears(model) == 0
    assert type(model.lm_head) is torch.nn.Linear


@needs_onednn
@needs_proc_maps
def test_packing_lets_go_of_the_mapped_weights_file(tiny_model_dir):
    def in_file(model) -> int:  # tensors whose memory lies in the weights file's mapping (Linux's /proc/self/maps)
        ranges = [[int(a, 16) for a in line.split()[0].split("-")] for line in open("/proc/self/maps") if str(tiny_model_dir) in line]
        tensors = [*model.parameters(), *model.buffers()]
        return sum(any(start <= t.data_ptr() < end for start, end in ranges) for t in tensors)

    model = load_model(str(tiny_model_dir), torch.float32).eval()
    assert in_file(model) > 0  # loading maps the file, and the weights are its pages
    pack_linears(model)
    assert in_file(model) == 0  # the embeddings and norms were copied: nothing holds the file's pages any more


@needs_onednn_bf16
def test_load_generator_packs_bf16_answering_and_generates_what_the_unpacked_model_does(tiny_model_dir):
    model, tokenizer = load_generator(str(tiny_model_dir), "cpu", precision="bf16")
    assert type(model.lm_head) is PackedLinear
    plain = load_model(str(tiny_model_dir), torch.bfloat16).eval()
    prompts = ["Question: what is ftrag?", "Name a colour", "Count: one, two,"]
    got = [g.text for g in generate(model, tokenizer, prompts, max_new_tokens=8, batch_size=2)]
    assert got == [g.text for g in generate(plain, tokenizer, prompts, max_new_tokens=8, batch_size=2)]


@needs_onednn_bf16
def test_a_frozen_linear_gives_the_fp32_products_and_input_gradient_to_bf16_precision():
    torch.manual_seed(0)
    for bias in (True, False):
        linear = torch.nn.Linear(48, 80, bias=bias).requires_grad_(False)
        frozen = FrozenLinear(linear)
        assert not list(frozen.parameters())  # nothing for the optimizer, nothing saved with the adapter
        x, upstream = torch.randn(3, 5, 48, requires_grad=True), torch.randn(3, 5, 80)
        expected = linear(x)
        (expected_grad,) = torch.autograd.grad((expected * upstream).sum(), x)
        got = frozen(x)
        (got_grad,) = torch.autograd.grad((got * upstream).sum(), x)
        assert got.dtype == got_grad.dtype == torch.float32 and got.shape == expected.shape
        torch.testing.assert_close(got, expected, rtol=0.02, atol=0.02)
        torch.testing.assert_close(got_grad, expected_grad, rtol=0.02, atol=0.05)


def lora_gradients(model, batch, pad_id) -> tuple[float, dict[str, torch.Tensor]]:
    model.zero_grad()
    loss = answer_loss(model, batch, pad_id, "cpu")
    loss.backward()
    return loss.item(), {name: p.grad.clone() for name, p in model.named_parameters() if p.requires_grad}


@needs_onednn_bf16
def test_pack_frozen_replaces_every_frozen_linear_of_a_lora_model_and_its_adapter_gets_the_fp32_gradient(tiny_model_dir):
    plain, packed = (prepare_model(str(tiny_model_dir), FinetuneConfig(), "cpu") for _ in range(2))
    # the same adapter initialization: a seed alone gave another one when this test ran first (loading draws too)
    packed.load_state_dict(plain.state_dict())
    assert pack_frozen(packed) == 2 * 7 + 1  # q, k, v, o, gate, up, down per layer; the LM head
    assert all(m.weight.requires_grad for m in packed.modules() if type(m) is torch.nn.Linear)  # only the adapters'
    tokenizer = load_tokenizer(str(tiny_model_dir))
    batch = [encode_pair(tokenizer, TrainPair("Question: price of the lamp?", "$12"), 64),
             encode_pair(tokenizer, TrainPair("", "The lamp costs twelve dollars."), 64)]
    losses, grads = [], []
    for model in (plain, packed):
        loss, adapter_grads = lora_gradients(model, batch, tokenizer.pad_token_id)
        losses.append(loss)
        grads.append(torch.cat([grad.flatten() for name, grad in adapter_grads.items() if "lora_B" in name]))
    assert losses[1] == pytest.approx(losses[0], rel=0.01)
    assert torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0) > 0.99 and grads[0].abs().sum() > 0


@needs_onednn_bf16
def test_each_packed_lora_layer_runs_as_one_product_with_peft_s_loss_and_gradients(tiny_model_dir, monkeypatch):
    model = prepare_model(str(tiny_model_dir), FinetuneConfig(), "cpu")
    with torch.no_grad():  # B starts at zero, which would leave A without a gradient to compare
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05, generator=torch.Generator().manual_seed(len(name)))
    pack_frozen(model)
    layers = [m for m in model.modules() if "forward" in vars(m)]
    assert len(layers) == 2 * 7 and all(fusable(m) for m in layers)
    tokenizer = load_tokenizer(str(tiny_model_dir))
    batch = [encode_pair(tokenizer, TrainPair("Question: price of the lamp?", "$12"), 64),
             encode_pair(tokenizer, TrainPair("", "The lamp costs twelve dollars."), 64)]
    calls = []
    apply = packing.LoraProduct.apply
    monkeypatch.setattr(packing.LoraProduct, "apply", lambda *args: calls.append(1) or apply(*args))
    fused_loss, fused = lora_gradients(model, batch, tokenizer.pad_token_id)
    assert len(calls) == 2 * 7  # one pass: the rows share no prefix
    for layer in layers:  # peft's own forward, over the same FrozenLinear
        del layer.forward
    peft_loss, peft = lora_gradients(model, batch, tokenizer.pad_token_id)
    assert len(calls) == 2 * 7 and fused_loss == pytest.approx(peft_loss, rel=1e-5)
    assert fused.keys() == peft.keys() and any("lora_A" in name for name in fused)
    for name in peft:
        assert peft[name].abs().sum() > 0 and torch.allclose(fused[name], peft[name], rtol=1e-3, atol=1e-7), name


@needs_onednn_bf16
def test_lora_layers_with_dropout_keep_peft_s_forward_over_packed_weights(tiny_model_dir):
    model = prepare_model(str(tiny_model_dir), FinetuneConfig(lora_dropout=0.1), "cpu")
    pack_frozen(model)
    layers = [m for m in model.modules() if "forward" in vars(m)]
    assert len(layers) == 2 * 7 and not any(fusable(m) for m in layers)
    tokenizer = load_tokenizer(str(tiny_model_dir))
    loss = answer_loss(model, [encode_pair(tokenizer, TrainPair("Question: price?", "$12"), 64)], tokenizer.pad_token_id, "cpu")
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in model.parameters() if p.requires_grad)
