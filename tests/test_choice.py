import os

import pytest
import torch

from bench.models.choice import ChoiceTree, _padded_batch_logprobs, choice_logprobs, choice_token_ids, choose
from bench.models.loading import format_prompt, load_generator

# shared prefixes (card_...), one-token and long choices: the prefix tree and the padded batch must agree
CHOICES = ["card_arrival", "billing", "a much longer label with many tokens", "card_linking", "yes"]


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_model_dir):
    # fp32 (auto may pick bf16 on this CPU): the cached and full-sequence scores are compared to 1e-4
    return load_generator(str(tiny_model_dir), "cpu", precision="fp32")


@pytest.mark.parametrize("scorer", [lambda m, p, ids: choice_logprobs(m, p, ChoiceTree(ids)), _padded_batch_logprobs],
                         ids=["prefix-tree", "padded-batch"])
@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_cached_choice_scores_equal_scoring_each_full_sequence(model_and_tokenizer, scorer, attention):
    model, tokenizer = model_and_tokenizer
    model.set_attn_implementation(attention)
    prompt_ids = tokenizer(format_prompt(tokenizer, "Message: my card is late\nCategory?"), return_tensors="pt", add_special_tokens=False).input_ids
    ids = choice_token_ids(tokenizer, CHOICES)
    fast = scorer(model, prompt_ids, ids)
    length = prompt_ids.shape[1]
    for row, choice in enumerate(ids):
        full = torch.cat([prompt_ids[0], torch.tensor(choice)])[None]
        logprobs = model(full).logits[0].log_softmax(-1)
        slow = sum(logprobs[length - 1 + j, token] for j, token in enumerate(choice))
        assert fast[row].item() == pytest.approx(slow.item(), abs=1e-4)


def test_choose_picks_a_label_of_the_set_with_probabilities_that_sum_to_one(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    prompts = [format_prompt(tokenizer, q) for q in ["Where is my card?", "Why was I charged twice?"]]
    results = choose(model, tokenizer, prompts, CHOICES)
    for result in results:
        assert result.label in CHOICES and sum(result.probs) == pytest.approx(1.0, abs=1e-5)
        assert result.label == CHOICES[max(range(len(CHOICES)), key=lambda i: result.probs[i])]
        assert result.prompt_tokens > 0 and result.seconds > 0
        assert result.choice_tokens == len(ChoiceTree(choice_token_ids(tokenizer, CHOICES)).prefixes) > 0  # counted in the FLOPs


def test_plain_prompts_score_choices_after_a_space(model_and_tokenizer):
    _, tokenizer = model_and_tokenizer
    plain = type(tokenizer).from_pretrained(tokenizer.name_or_path)
    plain.chat_template = None
    assert choice_token_ids(plain, ["billing"])[0] == plain.encode(" billing", add_special_tokens=False)


def test_models_with_sliding_window_layers_are_detected_for_the_padded_fallback():
    from types import SimpleNamespace

    from bench.models.prefix import sliding_window
    assert sliding_window(SimpleNamespace(layer_types=["sliding_attention", "full_attention"], sliding_window=512)) == 512
    assert sliding_window(SimpleNamespace(use_sliding_window=False, sliding_window=4096)) is None
    assert sliding_window(SimpleNamespace(layer_types=["full_attention"], sliding_window=None)) is None
    assert sliding_window(SimpleNamespace(layer_types=["full_attention"], sliding_window=4096)) is None  # Qwen2's
    assert sliding_window(SimpleNamespace(sliding_window=4096)) == 4096  # Mistral's: only the window is stated
    assert sliding_window(SimpleNamespace()) is None  # Llama's


def test_single_token_choices_batched_score_as_each_prompt_alone(model_and_tokenizer, monkeypatch):
    """Left-padded batches of prompts of different lengths give each prompt's own first-token log-probabilities, the
    chat template's system turn run once for each batch (fp32)."""
    from bench.models import choice

    model, tokenizer = model_and_tokenizer
    prefixes, run = [], choice.prefixed_batch
    monkeypatch.setattr(choice, "prefixed_batch", lambda *a, **kw: (out := run(*a, **kw)) and prefixes.append(out[2]) or out)
    choices = ["yes", "no", "maybe"]
    tree = ChoiceTree(choice_token_ids(tokenizer, choices))
    assert not tree.prefixes  # one token each in this vocabulary: the batched path
    questions = ["Is it?", "Does the long and winding road lead to the door?", "Why?", "Is a much longer question here ok?"]
    prompts = [format_prompt(tokenizer, q) for q in questions]
    batched = choose(model, tokenizer, prompts, choices, batch_size=3)
    for prompt, result in zip(prompts, batched):
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
        alone = choice_logprobs(model, ids, tree)
        assert result.logprobs == pytest.approx(alone.tolist(), abs=1e-4) and result.prompt_tokens == ids.shape[1]
        assert result.label == choices[int(alone.argmax())] and result.choice_tokens == 0
    first_batch = sorted((tokenizer(p, add_special_tokens=False).input_ids for p in prompts), key=len)[:3]
    assert prefixes == [len(os.path.commonprefix(first_batch)), 0] and prefixes[0] >= 16  # the second holds one prompt
