"""Answering on a CPU with every linear layer's weight laid out once for oneDNN, not once per call.

torch's bf16 `linear` on a CPU hands oneDNN a plain weight, which oneDNN reorders into its blocked layout on every
call: a decoding step of SmolLM2-135M over 16 rows took 39 ms, ~24 of them in matmuls, which read the weights at
~10 GB/s on a machine that reads 25. Laid out once (what inductor's freezing pass does, without a compile), 30
layers' matmuls took 9.2 against 13.1 ms at 16 rows and 127 against 246 ms at 1,296 (a prefill). The products are
the same but for rare last-bit differences in long prefills (a 1,000-row q_proj: 5 elements in 100,000, one bf16
step), which turn near-ties: 21 of the default bench's 900 greedy answers changed, 15 of them base's wrong ones,
and every correct-answer rate stayed the same.

fp32 answering is packed the same way. torch's fp32 `linear` runs MKL's sgemm, which on 2 AMD EPYC (Zen 3, AVX2)
cores reached half its large-matrix rate at a decoding batch's 16 rows: the LM head took 22.0 against 9.5 ms from
oneDNN's layout, an MLP projection 0.39 against 0.28 ms, a 512-row prefill's 7.7-8.8 against 7.1-7.5 ms. The
products differ from MKL's in rounding order (~1e-6 of their size); generation and log-likelihood gave the same
outputs as lm-evaluation-harness on 20 of 20 each (benchmarks/vs_lm_eval.py), and ran 1.28x and 1.11x faster than
unpacked. (MKL's own packed sgemm gained ~3% on Xeon cores with AMX, and nothing on the EPYC's.)

LoRA training on such a CPU multiplies by its frozen weights the same way (FrozenLinear): each is laid out twice, for
the forward product and for the backward pass's product by its transpose; attention's products but its scores run in
bf16 too (training/attention.py), and everything else (the adapters, the residual stream, norms, softmax, the loss)
stays fp32, as mixed-precision training keeps it. Each LoRA layer then runs as one function (LoraProduct), not as
peft's product, scale, cast and sum in passes of their own."""
from __future__ import annotations

from types import MethodType

import torch


def packed_product(x: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x @ W.T (+ bias) from W as `_reorder_linear_weight` laid it out, over x's last dimension."""
    flat = torch.ops.mkldnn._linear_pointwise(x.reshape(-1, x.shape[-1]), packed, bias, "none", [], "")
    return flat.view(*x.shape[:-1], flat.shape[-1])


class PackedLinear(torch.nn.Module):
    """An eval-only stand-in for a bf16 or fp32 `nn.Linear`: its products (bf16: to the last bit but in rare
    long-prefill cases; fp32: in another rounding order), from a weight reordered once. `rows_hint` is the row count
    oneDNN lays the weight out for (a decoding batch); every other row count runs on the same layout."""

    def __init__(self, linear: torch.nn.Linear, rows_hint: int = 16):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        # a plain attribute, not a buffer: an opaque oneDNN tensor has no storage to save, move or copy
        self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), rows_hint)
        self.bias = None if linear.bias is None else linear.bias.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return packed_product(x, self.packed, self.bias)


class FrozenProduct(torch.autograd.Function):
    """x @ W.T in bf16 for a weight that takes no gradient: the backward pass returns only the input's gradient,
    grad @ W, from the transpose laid out once. Input, output and gradients are fp32; the products round their
    inputs to bf16 and their outputs to bf16 precision, as autocast's matmuls do."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, layer: FrozenLinear) -> torch.Tensor:
        ctx.layer = layer
        return layer.multiply(x, layer.packed)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return ctx.layer.multiply(grad, ctx.layer.packed_t), None


class FrozenLinear(torch.nn.Module):
    """A frozen `nn.Linear` that LoRA training multiplies by in bf16 (its adapter trains beside it, in fp32): the weight
    is held only as laid out for oneDNN, forward and transposed (two bf16 copies, the memory of one fp32 weight)."""

    def __init__(self, linear: torch.nn.Linear, rows_hint: int = 256):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        weight = linear.weight.detach().to(torch.bfloat16)
        self.packed = torch.ops.mkldnn._reorder_linear_weight(weight, rows_hint)
        self.packed_t = torch.ops.mkldnn._reorder_linear_weight(weight.t().contiguous(), rows_hint)
        self.bias = None if linear.bias is None else linear.bias.detach().clone()

    def multiply(self, x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
        return packed_product(x.to(torch.bfloat16), packed).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        product = FrozenProduct.apply(x, self)
        return product if self.bias is None else product + self.bias


class LoraProduct(torch.autograd.Function):
    """A LoRA layer over a FrozenLinear, W x + s B A x, with fewer passes over its activations than peft's forward
    (which adds the adapter's output to the product's, each scaled and cast in a pass of its own): the scale goes
    into the rank-r product, the adapter's output is added inside its matmul (addmm), and the input gradient is
    computed only where one is needed. B's gradient is taken as (t^T g)^T, which MKL runs 1.5-2.4x faster than
    autograd's g^T t at 220-2,400 rows. The same arithmetic but for fp32 rounding order: a corpus-text step of
    SmolLM2-135M ran in 1.48 against 1.63 s, a closed-book step in 0.47 against 0.52 s. The rank-r products stay
    fp32. In bf16 (as autocast runs them, q, k and v sharing one bf16 copy of their input; de1ac1c, c82b900), on 2
    AMD EPYC Zen 5 cores, alternating in one process, closed-book steps ran 1.02-1.29x as fast, `ft_rag`'s 1.02-1.04x
    and corpus text's 0.94-1.18x; the default bench's fine-tuning took 213-229 / 104-107 / 129-140 s against
    198-221 / 103-104 / 126-131 (the machine's drift over two hours), and its `ft_rag` stage peaked at 3.04-3.10 GB
    against 2.79-2.80."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, layer: FrozenLinear, scaling: float) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        t = torch.mm(flat, a.t()).mul_(scaling)
        out = layer.multiply(flat, layer.packed).addmm_(t, b.t())
        ctx.save_for_backward(flat, t, a, b)
        ctx.layer, ctx.scaling = layer, scaling
        return out.view(*x.shape[:-1], out.shape[-1])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        flat, t, a, b = ctx.saved_tensors
        g = grad.reshape(-1, grad.shape[-1])
        grad_b = torch.mm(t.t(), g).t()
        g_t = torch.mm(g, b).mul_(ctx.scaling)
        grad_a = torch.mm(g_t.t(), flat)
        grad_x = None
        if ctx.needs_input_grad[0]:  # not for the first layer's projections of the frozen embeddings
            grad_x = ctx.layer.multiply(g, ctx.layer.packed_t).addmm_(g_t, a).view(*grad.shape[:-1], flat.shape[-1])
        return grad_x, grad_a, grad_b, None, None


def fusable(layer) -> bool:
    """Whether a peft LoRA linear runs as a LoraProduct: over a FrozenLinear, unmerged, one plain adapter active (no
    dropout, no bias, no variant such as DoRA). Read at each call: peft may switch adapters after packing."""
    names = layer.active_adapters
    if layer.disable_adapters or layer.merged or len(names) != 1 or names[0] not in layer.lora_A:
        return False
    name = names[0]
    return (isinstance(layer.base_layer, FrozenLinear) and name not in layer.lora_variant
            and isinstance(layer.lora_dropout[name], torch.nn.Identity) and layer.lora_B[name].bias is None)


def lora_forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    """A peft LoRA linear's forward as one LoraProduct where `fusable`, else as peft runs it."""
    if args or kwargs or not fusable(self):
        return type(self).forward(self, x, *args, **kwargs)
    name = self.active_adapters[0]
    out = LoraProduct.apply(x, self.lora_A[name].weight, self.lora_B[name].weight, self.base_layer, self.scaling[name])
    return out if self.base_layer.bias is None else out + self.base_layer.bias


def onednn_bf16() -> bool:
    """Whether this torch has oneDNN's bf16 kernels and the packing ops inductor uses."""
    mkldnn = torch.ops.mkldnn
    return (torch.backends.mkldnn.is_available() and hasattr(mkldnn, "_reorder_linear_weight")
            and hasattr(mkldnn, "_is_mkldnn_bf16_supported") and mkldnn._is_mkldnn_bf16_supported())


def can_pack(model) -> bool:
    """An fp32 model on a CPU with oneDNN, or a bf16 one where oneDNN has bf16 kernels (a GPU, MPS, or another dtype
    answers as loaded)."""
    if model.device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    return model.dtype == torch.float32 or (model.dtype == torch.bfloat16 and onednn_bf16())


@torch.no_grad()
def pack_linears(model) -> int:
    """Replace each `nn.Linear` of a CPU model that `can_pack`, LM head included, by a PackedLinear; the number
    replaced. For a model that only answers: the packed weights take no gradient and are not saved."""
    if not can_pack(model):
        return 0
    places = [(parent, name) for parent in model.modules() for name, child in parent.named_children()
              if type(child) is torch.nn.Linear]
    for parent, name in places:  # one layer at a time: each plain weight is freed as its packed one is made
        setattr(parent, name, PackedLinear(getattr(parent, name)))
    release_weights_file(model)
    return len(places)


@torch.no_grad()
def pack_frozen(model) -> int:
    """Replace the frozen base layer of each LoRA linear, and the LM head, of a model about to train on a CPU by a
    FrozenLinear, and run each LoRA linear as a LoraProduct (its forward set on the instance, so that it stays the
    peft layer that saving and loading adapters expect); the number replaced. The remaining frozen tensors
    (embeddings, norms) are copied into memory of their own (release_weights_file)."""
    from peft.tuners.lora import Linear as LoraLinear

    lora_layers = [m for m in model.modules() if isinstance(m, LoraLinear) and type(m.base_layer) is torch.nn.Linear]
    for layer in lora_layers:
        layer.base_layer = FrozenLinear(layer.base_layer)
        layer.forward = MethodType(lora_forward, layer)
    head = model.get_output_embeddings()
    if type(head) is torch.nn.Linear:
        model.set_output_embeddings(FrozenLinear(head))
    release_weights_file(model)
    return len(lora_layers) + (type(head) is torch.nn.Linear)


def release_weights_file(model) -> None:
    """Copy the tensors left after packing (embeddings, norms, adapters) into memory of their own, which lets go of the
    weights file that loading mapped: otherwise the pages of the weights that packing replaced stay in the resident set
    beside their packed copies (SmolLM2-135M: +510 MB training in bf16, +700 MB answering in fp32)."""
    for tensor in [*model.parameters(), *model.buffers()]:
        tensor.data = tensor.data.clone()
