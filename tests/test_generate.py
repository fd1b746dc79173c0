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
