"""Cost, from what was measured: one-off seconds (training, index), per-query seconds and tokens, FLOPs, memory;
money from the price settings; the query volume at which fine-tuning's cheaper queries repay its training."""
from __future__ import annotations

import numpy as np

from bench.records.arms import ARMS
from bench.records.config import PriceConfig
from bench.records.manifest import ModelFlops, RunManifest, causal_pairs
from bench.records.predictions import Prediction
from bench.records.scores import BreakEven, Cost, Definition

COST_DEFINITIONS = {
    "usd_per_1k_queries": Definition(label="USD / 1k queries", better="lower",
        definition="Cost of 1,000 queries: mean measured seconds per query at the device's hour rate (prices.*), or prompt and output tokens at the per-1k-token prices when those are set."),
    "one_off_usd": Definition(label="one-off USD", better="lower",
        definition="Training plus index-building seconds x the hour rate / 3,600: paid once, before the first query."),
    "break_even": Definition(label="break-even", better="lower",
        definition="Query volume at which fine-tuning's lower per-query cost repays its extra one-off cost compared "
                   "with RAG (the fine-tuned arm the verdict compares: the better of ft and ft_plain)."),
}


# with less of its threads' time than this, a stage most likely shared the cores with other work, and its wall seconds
# (the cost's measure) ran long. On 2 Zen 5 cores alone, SmolLM2-135M's training had 0.98-0.99 and its answering
# 0.97-0.99; a 2-thread torch loop had 0.99 alone and 0.50 beside a second one. Single-threaded Python lowers it too:
# the tests' 2-layer model answered at 0.78-0.97 alone
SHARED_CORES = 0.75


def shared_cores(cost: Cost) -> list[tuple[str, float]]:
    """The stages of an arm's cost that other work slowed ("training", "answering"), with the share of the cores each
    had."""
    stages = [("training", cost.train.cpu_share if cost.train else None), ("answering", cost.cpu_share)]
    return [(stage, share) for stage, share in stages if share is not None and share < SHARED_CORES]


def hour_rate(prices: PriceConfig, device: str) -> float:
    return prices.gpu_hour_usd if device == "cuda" else prices.cpu_hour_usd


def cost_block(run: RunManifest, arm_name: str, predictions: list[Prediction]) -> Cost:
    arm, prices = ARMS[arm_name], run.config.prices
    rate = hour_rate(prices, run.device)
    seconds = [p.seconds for p in predictions]
    memory = [p.peak_memory_mb for p in predictions if p.peak_memory_mb is not None]
    prompt_tokens = float(np.mean([p.prompt_tokens for p in predictions]))
    output_tokens = float(np.mean([p.output_tokens for p in predictions]))
    adapter = run.adapter(arm.weights, run.config.seeds[0])
    train = adapter.stats if adapter else None
    index = run.index if arm.retrieves else None
    one_off_seconds = (train.seconds if train else 0.0) + (index.build_seconds if index else 0.0)
    # a cached adapter or index is priced at the device that built it, not the one this run answers on
    spent = ([(train.seconds, train.device)] if train else []) + ([(index.build_seconds, index.device)] if index else [])
    one_off_usd = sum(seconds / 3600 * hour_rate(prices, device) for seconds, device in spent)
    return Cost(
        train=train, index=index, one_off_seconds=one_off_seconds, one_off_usd=one_off_usd,
        query_seconds_p50=float(np.percentile(seconds, 50)), query_seconds_p95=float(np.percentile(seconds, 95)),
        query_seconds_mean=float(np.mean(seconds)), prompt_tokens_mean=prompt_tokens, output_tokens_mean=output_tokens,
        query_flops=float(np.mean([query_flops(p, run.query_rates, run.n_params) for p in predictions])),
        usd_per_1k_queries=usd_per_1k_queries(prices, rate, float(np.mean(seconds)), prompt_tokens, output_tokens),
        hour_rate_usd=rate, priced_by_tokens=prices.by_tokens, device=run.device,
        peak_memory_mb=max(memory) if memory else None, cpu_share=answering_cpu_share(predictions),
    )


def answering_cpu_share(predictions: list[Prediction]) -> float | None:
    """The share of the cores answering had, over all its batches (weighted by their model seconds)."""
    if any(p.cpu_share is None for p in predictions):
        return None
    model_seconds = [p.seconds - p.retrieval_seconds for p in predictions]
    total = sum(model_seconds)
    return round(sum(p.cpu_share * s for p, s in zip(predictions, model_seconds)) / total, 3) if total > 0 else None


def query_flops(prediction: Prediction, rates: ModelFlops | None, n_params: int) -> float:
    """The forward model FLOPs of one query served alone (models.flops): its whole prompt, however much of it the batch
    shared. Generation: the prompt and the output fed back attend causally, the LM head reads one position per
    generated token. A label choice: the choice pass's tokens attend to the prompt and to themselves (their ancestors
    in the choice tree, not counted, are a few tokens each), the head reads the prompt's last position and each of
    them. Without `rates` (a run.json of an older ftrag), 2 x every parameter x every token, as that ftrag counted."""
    prompt, after = prediction.prompt_tokens, prediction.output_tokens
    if rates is None:
        return 2 * n_params * (prompt + after)
    if prediction.choice_logprobs is not None:
        return rates.of(tokens=prompt + after, targets=1 + after, pairs=causal_pairs(prompt) + after * (prompt + 1))
    ran = prompt + max(after - 1, 0)  # the last generated token is never fed back
    return rates.of(tokens=ran, targets=after, pairs=causal_pairs(ran))


def usd_per_1k_queries(prices: PriceConfig, rate: float, seconds: float, prompt_tokens: float, output_tokens: float) -> float:
    if prices.by_tokens:
        return prompt_tokens * prices.usd_per_1k_prompt_tokens + output_tokens * prices.usd_per_1k_output_tokens
    return seconds * 1000 / 3600 * rate


def break_even(costs: dict[str, Cost], ft_arm: str = "ft", rag_arm: str = "rag") -> BreakEven | None:
    """Queries after which fine-tuning's lower per-query cost repays its one-off cost, versus RAG."""
    if ft_arm not in costs or rag_arm not in costs:
        return None
    ft, rag = costs[ft_arm], costs[rag_arm]
    extra_one_off = ft.one_off_usd - rag.one_off_usd
    saving_per_query = (rag.usd_per_1k_queries - ft.usd_per_1k_queries) / 1000
    # fine-tuning never cheaper per query: it never catches up
    queries = max(0.0, extra_one_off / saving_per_query) if saving_per_query > 0 else None
    per_query = ("measured prompt and output tokens at the configured per-1k-token prices" if ft.priced_by_tokens
                 else "mean measured seconds per query, as answered in this run")
    return BreakEven(arms=[ft_arm, rag_arm], extra_one_off_usd=extra_one_off, saving_per_query_usd=saving_per_query,
                     queries=queries,
                     assumptions=f"One-off cost = measured fine-tuning seconds ({ft_arm}) or index build seconds "
                                 f"({rag_arm}), each at the hour rate of the device that measured it; per-query "
                                 f"cost = {per_query} (retrieval included) at {ft.hour_rate_usd:.2f} USD per "
                                 f"{ft.device} hour. Serving both arms on the same hardware is assumed."
                                 + busy_clause([(arm, costs[arm]) for arm in (ft_arm, rag_arm)]))


def busy_clause(costs: list[tuple[str, Cost]]) -> str:
    """A sentence naming the stages that shared the cores with other work, or "" when none did."""
    busy = [f"{arm}'s {stage} ({share:.0%} of its threads' time)"
            for arm, cost in costs for stage, share in shared_cores(cost)]
    return (f" Other work most likely shared the cores during {', '.join(busy)}: those seconds, and the costs priced "
            "from them, run high." if busy else "")
