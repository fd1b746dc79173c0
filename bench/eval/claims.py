"""Published claims that a run's own numbers bear on: each finding is derived from the scores (a paired test at 5%),
never written by hand. "not measured" when the run lacks the arms, stratum or experiment a claim needs."""
from __future__ import annotations

from bench.eval.comparisons import find
from bench.eval.metrics import METRICS, Scored
from bench.eval.stats import MCNEMAR, paired_test
from bench.records.scores import Claim, Interval, ScoresFile

OVADIA = ("Ovadia et al., 2024", "Retrieval beats fine-tuning on facts the model has never seen.")
RAFT = ("Zhang et al. (RAFT), 2024", "Training with distractor documents makes fine-tuning plus retrieval beat retrieval alone.")
BIDERMAN = ("Biderman et al., 2024", "LoRA forgets less than full fine-tuning.")
GEKHMAN = ("Gekhman et al., 2024", "Fine-tuning on new knowledge makes a model answer made-up questions more often.")


def described(diff: Interval, p: float, what: str, test: str) -> str:
    return (f"{what}: {100 * diff.mean:+.1f} points (95% CI {100 * diff.low:+.1f} to {100 * diff.high:+.1f}; "
            f"{test} p = {p:.3g}; n = {diff.n})")


def judged(source: tuple[str, str], diff: Interval | None, p: float | None, what: str, test: str) -> Claim:
    """Agrees when the difference (claimed direction positive) is significant and positive, disagrees when it is
    significant and negative."""
    if diff is None or p is None or diff.n == 0 or p != p:
        return Claim(source=source[0], claim=source[1], finding="not measured", figures=what)
    finding = "no clear difference" if p >= 0.05 else ("agrees" if diff.mean > 0 else "disagrees")
    return Claim(source=source[0], claim=source[1], finding=finding, figures=described(diff, p, what, test))


def from_comparison(scores: ScoresFile, source: tuple[str, str], better: str, worse: str, stratum: str) -> Claim:
    """A claim that arm `better` scores higher than `worse` on the headline, read from the stored paired test."""
    found = find(scores.comparisons, better, worse, scores.headline, stratum)
    if found is None:
        return judged(source, None, None, f"needs the {better} and {worse} arms", "")
    diff = found.diff if found.a == better else Interval(mean=-found.diff.mean, low=-found.diff.high, high=-found.diff.low, n=found.diff.n)
    where = "" if stratum == "all" else f" on {stratum} facts"
    return judged(source, diff, found.p, f"{better} minus {worse}{where}, {scores.headline}", found.test)


def made_up_answers(scores: ScoresFile, runs_by_arm: dict[str, list[list[Scored]]]) -> Claim:
    """ft against the base model on the unanswerable questions: the share it answers anyway (every answer made up)."""
    metric = METRICS["answered_unanswerable"]
    if not {"ft", "base"} <= runs_by_arm.keys() or scores.family != "qa":
        return judged(GEKHMAN, None, None, "needs the base and ft arms on a QA task with unanswerable questions", "")
    ft = {s.item.id: v for s in runs_by_arm["ft"][0] if (v := metric.value(s)) is not None}
    base = {s.item.id: v for s in runs_by_arm["base"][0] if (v := metric.value(s)) is not None}
    shared = [i for i in ft if i in base]
    if not shared:
        return judged(GEKHMAN, None, None, "needs unanswerable questions (probes.unanswerable)", "")
    test = paired_test([ft[i] for i in shared], [base[i] for i in shared], scores.config.get("bootstrap_resamples", 1000))
    return judged(GEKHMAN, test.diff, test.p, "ft minus base, share of unanswerable questions answered anyway", test.test)


def lora_forgets_less(scores: ScoresFile) -> Claim:
    """LoRA's general-knowledge accuracy against full fine-tuning's, paired on every probe item. Forgetting is a loss
    against the base model: where neither method lost significantly, there was nothing to forget less of, and a gap
    between two gains is no clear difference on this claim."""
    f = scores.forgetting
    if f is None or f.lora_vs_full is None:
        return judged(BIDERMAN, None, None, "needs ftrag forgetting with --methods lora,full", "")
    arm = f.methods_arm
    claim = judged(BIDERMAN, f.lora_vs_full, f.lora_vs_full_p,
                   f"general-knowledge accuracy of {arm} by LoRA minus {arm} by full fine-tuning", MCNEMAR)
    ft = [v for v in f.variants if v.arm == arm and v.general_change is not None and v.general_p is not None]
    against_base = "; against the base model: " + ", ".join(
        f"{v.method} {100 * v.general_change.mean:+.1f} points (p = {v.general_p:.3g}; domain gain {100 * v.domain_gain.mean:+.1f})"
        for v in ft if v.domain_gain is not None)
    forgot = [v for v in ft if v.general_change.mean < 0 and v.general_p < 0.05]
    if claim.finding != "no clear difference" and not forgot:
        return claim.model_copy(update={"finding": "no clear difference",
                                        "figures": claim.figures + against_base + ": neither method forgot, so neither forgot less"})
    return claim.model_copy(update={"figures": claim.figures + against_base})


def ft_read_the_corpus(scores: ScoresFile) -> bool:
    """Whether the ft arm trained on corpus text (knowledge fine-tuning), not on the training pairs alone."""
    return scores.task.corpus_documents > 0 and scores.config.get("finetune", {}).get("corpus_epochs", 1) > 0


def retrieval_beats_fine_tuning(scores: ScoresFile, stratum: str) -> Claim:
    """Ovadia et al. fine-tune on the documents that hold the facts: an ft arm that never read the corpus was never
    given them, and retrieval beating it says nothing about the claim."""
    if not ft_read_the_corpus(scores):
        needs = "needs an ft arm trained on the corpus (finetune.corpus_epochs of 1 or more)"
        return judged(OVADIA, None, None, needs, "")
    return from_comparison(scores, OVADIA, "rag", "ft", stratum)


def claims(scores: ScoresFile, runs_by_arm: dict[str, list[list[Scored]]]) -> list[Claim]:
    """Each claim's finding from this run's figures (unadjusted paired tests at 5%, each claim on its own)."""
    unseen = "corpus_only" if any("corpus_only" in a.by_stratum for a in scores.arms.values()) else "all"
    return [retrieval_beats_fine_tuning(scores, unseen), from_comparison(scores, RAFT, "ft_rag", "rag", "all"),
            lora_forgets_less(scores), made_up_answers(scores, runs_by_arm)]
