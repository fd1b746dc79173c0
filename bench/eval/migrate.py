"""Reading `scores.json` of any version: the one place that knows older layouts.

Version 1 is the unversioned file written before scoring was its own stage: each arm's strata nested inside
its accuracy block, a missing block stored as null, seed spreads as flat dicts.
"""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bench.records.errors import UserError
from bench.records.scores import SCORES_VERSION, ScoresFile


def upgrade_scores(raw: dict[str, Any], source: str) -> ScoresFile:
    """A ScoresFile from a scores.json of this or an older version; a file ftrag cannot read gets one message."""
    try:
        version = raw.get("schema_version", 1)
        if version == 1:
            raw = _from_version_1(raw)
        elif version != SCORES_VERSION:
            raise UserError(f"{source}: written by a newer ftrag (schema_version {version}); upgrade ftrag to read it.")
        return ScoresFile.model_validate(raw)
    except (ValidationError, KeyError, TypeError, AttributeError) as err:
        raise UserError(f"{source}: not a scores.json ftrag can read ({str(err).splitlines()[0]}). "
                        "Run `ftrag score <run folder>` to write it again from the stored predictions.") from None


def _from_version_1(raw: dict[str, Any]) -> dict[str, Any]:
    arms = {}
    for name, arm in raw["arms"].items():
        accuracy = dict(arm["accuracy"])
        cost = dict(arm["cost"])
        cost.setdefault("peak_memory_mb", cost.pop("peak_rss_mb", None))
        arms[name] = {**arm, "accuracy": accuracy, "by_stratum": accuracy.pop("by_stratum", {}),
                      "hallucination": arm.get("hallucination") or {}, "cost": cost}
    seeds = {name: {"seeds": block["seeds"], "metrics": {k: v for k, v in block.items() if k != "seeds"}}
             for name, block in (raw.get("seeds") or {}).items()} or None
    comparisons = [{k: v for k, v in c.items() if k not in ("p_bootstrap", "p_mcnemar")}
                   | {"p": c["p_mcnemar"] if c.get("p_mcnemar") is not None else c["p_bootstrap"],
                      "test": "McNemar exact" if c.get("p_mcnemar") is not None else "paired bootstrap"}
                   for c in raw.get("comparisons") or []]
    return {**raw, "schema_version": SCORES_VERSION, "arms": arms, "seeds": seeds, "comparisons": comparisons}
