import pytest
from transformers import AutoModelForCausalLM

from bench.models.flops import model_flops, part_flops
from bench.models.loading import format_prompt, load_tokenizer, model_shape
from bench.records.config import FinetuneConfig
from bench.records.manifest import ModelFlops
from bench.training.finetune import TrainPair, TrainPlan, encode_pair, prepare_model, train_cached
from bench.training.parts import scored_position_weight, split_by_tokens
from bench.training.prefix import SHARED_PREFIX_MIN, part_prefix
from tests.conftest import TINY_MODEL_PART


def test_a_weight_costs_2_flops_a_token_answering_4_training_frozen_and_6_trained(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    lora = prepare_model(str(tiny_model_dir), FinetuneConfig(), "cpu")
    layers = sum(p.numel() for name, p in model.named_parameters() if "embed" not in name)  # the head is tied
    adapters = sum(p.numel() for p in lora.parameters() if p.requires_grad)
    head, pair = model.config.vocab_size * model.config.hidden_size, 12 * 2 * 32  # 2 layers, 4 heads of 8
    assert model_flops(model) == ModelFlops(per_token=6 * layers, per_target=6 * head, per_pair=pair)
    assert model_flops(lora) == ModelFlops(per_token=4 * layers + 6 * adapters, per_target=4 * head, per_pair=pair)
    # answering: 2 a weight forward, attention's 4 of its 12; the same from the config alone (no weights loaded)
    answering = ModelFlops(per_token=2 * layers, per_target=2 * head, per_pair=pair / 3)
    assert model_flops(model, training=False) == answering
    assert model_shape(str(tiny_model_dir)) == (model.num_parameters(), answering)


def test_a_shared_prefix_counts_once_and_attention_counts_causal_pairs():
    rates = ModelFlops(per_token=1, per_target=1000, per_pair=1e6)
    prefix = list(range(SHARED_PREFIX_MIN))
    part = [(prefix + [100, 101, 102], 2), (prefix + [200, 201], 1)]
    # shared: 16 + 3 + 2 tokens; pairs: the prefix's 16 x 17 / 2, each row's own tokens over the prefix and themselves
    assert part_flops(part, rates, part_prefix(part)) == 21 + 3 * 1000 + (136 + (3 * 16 + 6) + (2 * 16 + 3)) * 1e6
    # whole: 19 + 18 tokens, 19 x 20 / 2 + 18 x 19 / 2 pairs
    assert part_prefix(part, share_prefix=False) == 0
    assert part_flops(part, rates, 0) == 37 + 3 * 1000 + (190 + 171) * 1e6


def test_training_records_the_model_flops_of_the_parts_it_ran(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    pairs = [TrainPair(format_prompt(tokenizer, f"Question: what does lamp {i} cost?"), f"${10 + i}") for i in range(5)]
    cfg = FinetuneConfig(epochs=1, batch_size=8, early_stopping=False, batch_tokens=TINY_MODEL_PART)
    _, stats = train_cached(str(tiny_model_dir), tokenizer, TrainPlan([pairs], []), cfg, 0, "cpu")
    encoded = [encode_pair(tokenizer, pair, cfg.max_length) for pair in pairs]
    model = prepare_model(str(tiny_model_dir), cfg, "cpu")
    parts = split_by_tokens(encoded, cfg.batch_tokens, True, scored_position_weight(model, "fp32"))
    assert len(parts) == 1 and part_prefix(parts[0]) >= SHARED_PREFIX_MIN  # one step, its prompt prefix run once
    rates = model_flops(model)
    assert stats.flops == pytest.approx(part_flops(parts[0], rates, part_prefix(parts[0])))
