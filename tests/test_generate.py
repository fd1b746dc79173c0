import os

from bench.models.generate import generate
from bench.models.loading import format_prompt, load_generator


def test_batched_generation_matches_one_query_at_a_time(tiny_model_dir):
    model, tokenizer = load_generator(str(tiny_model_dir), "cpu")
    prompts = [format_prompt(tokenizer, q) for q in ["Price?", "What is the warranty of the Velkor Aero 3 drone?", "Year of release of the lamp?"]]
    batched = generate(model, tokenizer, prompts, max_new_tokens=8, batch_size=3, stop_at_newline=False)
    single = [generate(model, tokenizer, [p], max_new_tokens=8, batch_size=1, stop_at_newline=False)[0] for p in prompts]
    assert [g.text for g in batched] == [g.text for g in single]
    assert [g.prompt_tokens for g in batched] == [g.prompt_tokens for g in single]
    assert all(0 < g.output_tokens <= 8 and g.seconds > 0 for g in batched)


def test_chat_template_is_used_when_the_tokenizer_has_one(tiny_model_dir):
    _, tokenizer = load_generator(str(tiny_model_dir), "cpu")
    assert "<|im_start|>user\nPrice?<|im_end|>" in format_prompt(tokenizer, "Price?")
    tokenizer.chat_template = None
    assert format_prompt(tokenizer, "Price?") == "Price?\nAnswer:"


def test_batches_are_formed_longest_first_as_lm_evaluation_harness_forms_them(tiny_model_dir, monkeypatch):
    # in bf16 on AMX cores a batch's shape changes the arithmetic: the peer's batches give the peer's outputs
    model, tokenizer = load_generator(str(tiny_model_dir), "cpu")
    questions = ["Price?", "What is the warranty of the Velkor Aero 3 drone?", "Year?", "Year of release of the lamp?", "Color?"]
    prompts = [format_prompt(tokenizer, q) for q in questions]
    batches, run = [], model.generate
    monkeypatch.setattr(model, "generate", lambda **kw: batches.append(kw["attention_mask"].sum(-1).tolist()) or run(**kw))
    outputs = generate(model, tokenizer, prompts, max_new_tokens=4, batch_size=2)
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    by_length = sorted(range(len(prompts)), key=lambda i: (-lengths[i], prompts[i]))
    assert batches == [[lengths[i] for i in by_length[s : s + 2]] for s in (0, 2, 4)]
    assert [g.prompt_tokens for g in outputs] == lengths  # results come back in input order


def test_a_fully_fine_tuned_model_loads_its_own_weights_and_only_them(tiny_model_dir, tmp_path, monkeypatch):
    import torch

    from bench.models import loading

    tuned, _ = load_generator(str(tiny_model_dir), "cpu", precision="fp32")
    with torch.no_grad():
        tuned.model.norm.weight.fill_(0.5)
    tuned.save_pretrained(tmp_path / "full")  # as full fine-tuning saves it: the whole model, no adapter_config.json
    loaded, run = [], loading.load_model
    monkeypatch.setattr(loading, "load_model", lambda path, dtype, **kw: loaded.append(str(path)) or run(path, dtype, **kw))
    model, _ = load_generator(str(tiny_model_dir), "cpu", adapter=tmp_path / "full", precision="fp32")
    assert loaded == [str(tmp_path / "full")]  # the base model is not loaded first and thrown away
    assert torch.equal(model.model.norm.weight, torch.full_like(model.model.norm.weight, 0.5))


def test_a_damaged_fine_tuned_model_in_the_cache_says_which_folder_to_delete(tiny_model_dir, tmp_path):
    import shutil

    import pytest

    from bench.records.errors import UserError

    damaged = tmp_path / "full"
    damaged.mkdir()
    shutil.copy(tiny_model_dir / "config.json", damaged)  # no weights: a folder emptied by hand or a full disk
    with pytest.raises(UserError) as caught:
        load_generator(str(tiny_model_dir), "cpu", adapter=damaged, precision="fp32")
    message = str(caught.value)
    assert f"fine-tuned model cached at '{damaged}'" in message and "Delete that folder" in message
    assert "model.generator" not in message


def test_the_preallocated_cache_gives_the_outputs_of_generates_own_cache(tiny_model_dir, monkeypatch):
    from bench.models import generate as generation

    model, tokenizer = load_generator(str(tiny_model_dir), "cpu")
    prompts = [format_prompt(tokenizer, q) for q in ["Price?", "What is the warranty of the Velkor Aero 3 drone?", "Color?"]]
    caches, run = [], model.generate
    monkeypatch.setattr(model, "generate", lambda **kw: caches.append(kw["past_key_values"]) or run(**kw))
    ours = generate(model, tokenizer, prompts, max_new_tokens=12, batch_size=3, stop_at_newline=False)
    padded = max(g.prompt_tokens for g in ours)
    for layer in caches[0].layers:  # one buffer a layer, reserved at the prompt for all 12 new tokens, written in place
        assert type(layer) is generation.PreallocatedLayer and layer.key_buffer.shape[-2] == padded + 12
        assert layer.keys.data_ptr() == layer.key_buffer.data_ptr() and layer.values.data_ptr() == layer.value_buffer.data_ptr()
    monkeypatch.setattr(generation, "preallocated_cache", lambda model, capacity: None)  # generate's own DynamicCache
    theirs = generate(model, tokenizer, prompts, max_new_tokens=12, batch_size=3, stop_at_newline=False)
    assert caches[1] is None
    assert [g.text for g in ours] == [g.text for g in theirs]
    assert [g.output_tokens for g in ours] == [g.output_tokens for g in theirs]


def test_a_preallocated_layer_holds_what_concatenation_would_through_crops_selections_and_overflow():
    import torch

    from bench.models.generate import PreallocatedLayer

    torch.manual_seed(0)
    layer, expected = PreallocatedLayer(capacity=4), None
    steps = [torch.randn(3, 2, n, 8) for n in (3, 1, 2)]  # the third overruns the 4 positions reserved
    for i in range(3):
        new = steps[i]
        keys, values = layer.update(new, -new)
        expected = new if expected is None else torch.cat([expected, new], dim=-2)
        assert torch.equal(keys, expected) and torch.equal(values, -expected) and layer.get_seq_length() == expected.shape[-2]
        if i == 0:
            layer.crop(-1)  # DynamicLayer's crop and batch selection replace the keys: the next update starts from them
            layer.batch_select_indices(torch.tensor([0, 2]))
            expected = expected[[0, 2], :, :-1]
            steps = [s[[0, 2]] for s in steps]


def test_a_shared_prompt_prefix_runs_once_and_gives_the_outputs_of_whole_prompts(tiny_model_dir, monkeypatch):
    import torch

    from bench.models import generate as generation, prefix

    model, tokenizer = load_generator(str(tiny_model_dir), "cpu", precision="fp32")
    instruction = "Answer with a short phrase only. If you do not know, say so.\nQuestion: "
    prompts = [format_prompt(tokenizer, instruction + q) for q in ["Price?", "What is the warranty of the Velkor Aero 3 drone?", "Color?"]]
    cached, run = [], model.generate
    monkeypatch.setattr(model, "generate", lambda **kw: cached.append(kw["past_key_values"].get_seq_length()) or run(**kw))
    shared = generate(model, tokenizer, prompts, max_new_tokens=12, batch_size=3, stop_at_newline=False)
    monkeypatch.setattr(prefix, "SHARED_PREFIX_MIN", 10**6)
    whole = generate(model, tokenizer, prompts, max_new_tokens=12, batch_size=3, stop_at_newline=False)
    rows = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    common = len(os.path.commonprefix(rows))
    assert cached == [common, 0]  # the prefix was in the cache before generation began; then no prefix
    assert [g.text for g in shared] == [g.text for g in whole]
    assert [g.prompt_tokens for g in shared] == [g.prompt_tokens for g in whole]
    # the first step's logits, which a tiny model's texts may not show: each row's from its prompt run whole
    monkeypatch.setattr(prefix, "SHARED_PREFIX_MIN", 16)
    cache = generation.preallocated_cache(model, max(map(len, rows)) + 1)
    ids, mask, _ = prefix.prefixed_batch(model, tokenizer, rows, cache, new_tokens=1)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # as generate derives them from the mask
    with torch.no_grad():
        first = model(input_ids=ids[:, common:], attention_mask=mask, position_ids=positions[:, common:], past_key_values=cache).logits[:, -1]
        alone = [model(input_ids=torch.tensor([row])).logits[0, -1] for row in rows]
    assert torch.allclose(first, torch.stack(alone), atol=1e-5)
