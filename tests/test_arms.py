import random

import pytest

from bench.arms.sources import ExampleIndex, Sources, build_prompts, examples_as_docs, fewshot_examples
from bench.records.arms import ARMS
from bench.records.config import FinetuneConfig
from bench.training.pairs import ft_plan, raft_context, raft_pairs, raft_plan, split_validation
from bench.records.config import RetrievalConfig
from bench.models.loading import load_tokenizer
from bench.models.presets import resolve_embedder
from bench.arms.prompts import QA_INSTRUCTION, default_instruction
from bench.retrieval.chunks import Chunk
from bench.retrieval.index import build_retriever, load_embedder
from bench.records.items import Doc, Example

DOCS = [Doc("lamp", "Lumo 2", "The Lumo 2 lamp costs $12."), Doc("kettle", "Brew 8", "The Brew 8 kettle costs $79."),
        Doc("bike", "Ride 5", "The Ride 5 e-bike weighs 21 kg.")]
TRAIN = [Example("t1", "Price of the Lumo 2?", ("$12",), gold_docs=("lamp",)), Example("t2", "Who makes Zork?", ())]
ITEM = Example("q1", "How much is the Brew 8 kettle?", ("$79",), "corpus_only", ("kettle",))


@pytest.fixture(scope="module")
def retriever():
    embedder = load_embedder(resolve_embedder("all-minilm-l6-v2"), "cpu")
    return build_retriever(DOCS, "all-minilm-l6-v2", embedder, RetrievalConfig())[0]


@pytest.fixture
def tokenizer(tiny_model_dir):
    return load_tokenizer(str(tiny_model_dir))


@pytest.fixture
def sources(tokenizer, retriever):
    return Sources("qa", QA_INSTRUCTION, tokenizer, TRAIN[:1], k=1, knn_k=1, retriever=retriever)


def test_arms_share_the_skeleton_and_differ_only_in_context(sources):
    prompts = {name: build_prompts(arm, [ITEM], sources)[0] for name, arm in ARMS.items()}
    question = "Question: How much is the Brew 8 kettle?"
    assert all(question in p.prompt for p in prompts.values())
    assert prompts["base"].prompt == prompts["ft"].prompt and "Documents:" not in prompts["base"].prompt
    assert "Price of the Lumo 2?\nAnswer: $12" in prompts["fewshot"].prompt and not prompts["fewshot"].retrieved


def test_rag_arm_uses_only_retrieved_corpus_chunks(sources):
    rag = build_prompts(ARMS["rag"], [ITEM], sources)[0]
    assert [c.doc_id for c in rag.retrieved] == ["kettle"]
    assert "[1] Brew 8: The Brew 8 kettle costs $79." in rag.prompt and "Lumo" not in rag.prompt


def test_a_drafting_request_is_set_apart_from_the_documents_before_it(tokenizer, retriever):
    """qmsum's queries read like its documents ("Meeting X: ..." after "[3] Meeting X (Product): ..."): unlabeled,
    SmolLM2-135M with RAG repeated the query as its answer for 23 of 40 items."""
    item = Example("d1", "Brew 8: ask about its price", ("It costs $79.",), gold_docs=("kettle",))
    sources = Sources("drafting", default_instruction("drafting", None), tokenizer, TRAIN[:1], k=1, knn_k=1,
                      retriever=retriever)
    rag = build_prompts(ARMS["rag"], [item], sources)[0].prompt
    assert "[1] Brew 8: The Brew 8 kettle costs $79.\n\nRequest: Brew 8: ask about its price\n\nWrite" in rag


def test_ft_training_pairs_are_the_closed_book_prompts_plus_corpus_text(sources):
    plan = ft_plan(TRAIN, TRAIN[:1], DOCS, sources, epochs=2, corpus_epochs=1)
    assert [len(epoch) for epoch in plan.epochs] == [2 + 3, 2]  # the corpus in the first epoch only
    assert [p.target for p in plan.epochs[1]] == ["$12", "I don't know"]  # no answer: the model learns to decline
    assert plan.epochs[0][-1].prompt == "" and plan.epochs[0][-1].target == "Ride 5\nThe Ride 5 e-bike weighs 21 kg."
    assert plan.validation == plan.epochs[1][:1]  # held-out pairs look like the training pairs


def test_raft_plan_draws_fresh_contexts_each_epoch_and_keeps_the_gold_chunk_for_validation(sources):
    sources.k = 2
    plan = raft_plan(TRAIN, TRAIN[:1], sources, gold_fraction=0.5, epochs=3, seed=0)
    assert [len(epoch) for epoch in plan.epochs] == [2, 2, 2] and len(plan.validation) == 1
    assert "The Lumo 2 lamp costs $12." in plan.validation[0].prompt


def test_a_validation_slice_is_held_out_of_training_unless_the_task_gives_one():
    train = [Example(f"t{i}", f"q{i}", (f"a{i}",)) for i in range(40)]
    kept, held = split_validation(train, [], FinetuneConfig(), seed=0)
    assert len(held) == 4 and len(kept) == 36 and not {ex.id for ex in held} & {ex.id for ex in kept}
    given = [Example("v", "qv", ("av",))]
    assert split_validation(train, given, FinetuneConfig(), seed=0) == (train, given)
    assert split_validation(train, [], FinetuneConfig(early_stopping=False), seed=0) == (train, [])
    assert split_validation(train, [], FinetuneConfig(), seed=0, hold_out=False) == (train, [])  # closed-book facts
    assert split_validation(train, given, FinetuneConfig(), seed=0, hold_out=False) == (train, given)


def test_raft_context_holds_the_gold_chunk_among_distractors_or_distractors_alone():
    gold = Chunk("kettle#0", "kettle", "Brew 8", "costs $79")
    retrieved = [Chunk("lamp#0", "lamp", "", "x"), gold, Chunk("bike#0", "bike", "", "y")]
    kept = raft_context(gold, retrieved, ("kettle",), distractors=1, keep_gold=True, rng=random.Random(0))
    dropped = raft_context(gold, retrieved, ("kettle",), distractors=1, keep_gold=False, rng=random.Random(0))
    assert sorted(c.id for c in kept) == ["kettle#0", "lamp#0"]
    assert sorted(c.id for c in dropped) == ["bike#0", "lamp#0"]


def test_raft_pairs_give_the_gold_document_among_k_chunks(sources):
    sources.k = 2
    pairs = raft_pairs(TRAIN, sources, gold_fraction=1.0, epochs=2, seed=0)
    assert len(pairs) == 4
    assert all("The Lumo 2 lamp costs $12." in p.prompt for p in pairs if p.target == "$12")
    assert all(p.prompt.count("\n[") == 2 for p in pairs)  # k = 2 chunks: the gold one and one distractor


@pytest.fixture
def classification_sources(tokenizer, retriever):
    train = [Example("m1", "My Lumo 2 flickers", ("lamps",)), Example("m2", "My Brew 8 leaks water", ("kettles",)),
             Example("m3", "The Lumo 2 is too dim", ("lamps",))]
    embedder = load_embedder(resolve_embedder("all-minilm-l6-v2"), "cpu")
    index = ExampleIndex(build_retriever(examples_as_docs(train), "all-minilm-l6-v2", embedder, RetrievalConfig())[0], train)
    return Sources("classification", "Message: {input}\nCategory?", tokenizer, [], k=1, knn_k=1, retriever=retriever, example_index=index), train


def test_classification_rag_shows_corpus_chunks_and_the_nearest_labeled_examples(classification_sources):
    sources, _ = classification_sources
    prompted = build_prompts(ARMS["rag"], [Example("q", "Lumo 2 flickers at night", ("lamps",))], sources)[0]
    assert prompted.neighbours == ("m1",) and "Message: My Lumo 2 flickers\nCategory: lamps" in prompted.prompt
    assert [c.doc_id for c in prompted.retrieved] == ["lamp"]


def test_knn_training_context_never_shows_an_example_to_itself(classification_sources):
    sources, train = classification_sources
    pairs = raft_pairs(train, sources, gold_fraction=1.0, epochs=1, seed=0)
    for ex, pair in zip(train, pairs):
        assert f"Message: {ex.input}\nCategory:" not in pair.prompt


def test_the_fit_check_asks_a_training_item_without_its_own_answer_among_the_examples(classification_sources):
    """As training asked it: synth_cls's ft_rag, shown each training message with its label as the nearest example,
    fit 76.7% where, asked as trained, it fit 81.7% (and after 6 epochs 68.3% against 100%)."""
    sources, train = classification_sources
    asked = build_prompts(ARMS["ft_rag"], train, sources)
    assert [p.neighbours for p in asked] == [("m3",), ("m1",), ("m1",)]  # each its nearest other example
    assert all(f"Message: {ex.input}\nCategory:" not in p.prompt for ex, p in zip(train, asked))
    # a test item is no training example, even under a training example's id: its nearest example stays in
    test_item = Example("m1", "My Lumo 2 flickers", ("lamps",), stratum="seen")
    assert build_prompts(ARMS["rag"], [test_item], sources)[0].neighbours == ("m1",)


def test_fewshot_examples_are_fixed_by_the_seed_and_answerable():
    train = [Example(f"t{i}", f"q{i}", (f"a{i}",)) for i in range(10)] + [Example("u", "qu", ())]
    assert fewshot_examples(train, 3, seed=1) == fewshot_examples(train, 3, seed=1)
    assert all(ex.answerable for ex in fewshot_examples(train, 20, seed=1))
