"""ftrag's constrained choice (the base arm) against lm-evaluation-harness on the same items, prompts and weights.

The comparison itself lives in benchmarks/peer_harness.py (also a script for the real model); here it runs on the
tiny 2-layer Llama over a handful of in-memory items, with and without a chat template.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("lm_eval")

from benchmarks.peer_harness import compare, main  # noqa: E402
from bench.data.readers import data_dir
from bench.records.items import Example  # noqa: E402

PUBMEDQA_LIKE = [
    ("Does aspirin reduce the risk of a second heart attack?", "yes"),
    ("Is vitamin C effective against the common cold?", "maybe"),
    ("Does smoking lower the risk of lung cancer?", "no"),
    ("Do statins cause memory loss in older adults?", "no"),
    ("Is regular exercise associated with lower blood pressure?", "yes"),
    ("Does coffee consumption prevent Parkinson's disease?", "maybe"),
    ("Are antibiotics useful against viral infections?", "no"),
    ("Does breastfeeding reduce childhood asthma?", "yes"),
]
BANKING_LIKE = [
    ("I lost my card yesterday, what do I do?", "card_lost"),
    ("Can I get my money back for this purchase?", "request_refund"),
    ("What rate do you use to convert euros to dollars?", "exchange_rate"),
    ("My card is nowhere to be found.", "card_lost"),
    ("Why is the conversion rate so bad?", "exchange_rate"),
]


def examples(rows: list[tuple[str, str]]) -> list[Example]:
    return [Example(f"item{i}", text, (target,)) for i, (text, target) in enumerate(rows)]


@pytest.fixture(scope="module")
def plain_model_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model with its tokenizer's chat template removed: plain prompts ending in 'Answer:'."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path_factory.mktemp("tiny-plain")
    AutoModelForCausalLM.from_pretrained(tiny_model_dir).save_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.chat_template = None
    tokenizer.save_pretrained(out)
    return out


def assert_agree(result, max_diff: float) -> None:
    assert list(result.ftrag.predicted) == list(result.peer.predicted), result.report()
    assert result.agreement == 1.0
    assert result.ftrag.accuracy == pytest.approx(result.peer.accuracy)
    assert result.max_abs_diff_without_offset < 1e-3, result.report()
    assert result.max_abs_diff < max_diff, result.report()


def test_chat_template_prompts_agree(tiny_model_dir):
    result = compare(str(tiny_model_dir), examples(PUBMEDQA_LIKE), "qa", ["yes", "no", "maybe"], batch_size=4)
    assert result.target_delimiter == ""
    # lm-eval moves the prompt's final "\n" into every continuation: one extra term per item, the same for all
    # its choices (the tiny random model gives the newline ~1/vocab probability, hence the large raw offset)
    spread = np.ptp(result.peer.loglik - result.ftrag.loglik, axis=1)
    assert spread.max() < 1e-3, result.report()
    assert_agree(result, max_diff=float("inf"))


def test_plain_prompts_and_multi_token_choices_agree(plain_model_dir):
    labels = ["card_lost", "request_refund", "exchange_rate"]
    result = compare(str(plain_model_dir), examples(BANKING_LIKE), "classification", labels, batch_size=4)
    assert result.target_delimiter == " "
    assert_agree(result, max_diff=1e-3)  # no whitespace to move: the raw log-likelihoods match


@pytest.mark.skipif(data_dir() is None, reason="no data directory (FTRAG_DATA_DIR or ../shared/data)")
def test_script_on_pubmedqa_items(tiny_model_dir, capsys):
    assert main(["--model", str(tiny_model_dir), "--task", "pubmedqa", "--limit", "4", "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "items: 4" in out and "verdict: AGREE" in out and "same predicted choice: 1.0000 (4/4)" in out


def test_vs_lm_eval_times_both_sides_in_turn_and_compares_their_medians(monkeypatch):
    from benchmarks import vs_lm_eval

    clock, calls = iter([0, 1, 1, 5, 5, 8, 8, 10, 10, 11, 11, 20]), []  # ours 1, 3, 1 s; theirs 4, 2, 9 s
    monkeypatch.setattr(vs_lm_eval.time, "perf_counter", lambda: next(clock))
    work = lambda side: lambda: calls.append(side) or f"{side} {len(calls)}"  # noqa: E731
    ours, theirs, our_seconds, their_seconds = vs_lm_eval.side_by_side(work("ours"), work("theirs"), repeats=3)
    assert calls == ["ours", "theirs"] * 3  # in turn, so that a drifting machine slows both alike
    assert (ours, theirs) == ("ours 1", "theirs 2")  # the first round's results are the ones compared
    assert (our_seconds, their_seconds) == (1, 4)
