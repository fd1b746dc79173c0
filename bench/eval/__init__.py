"""The score stage: per-item metrics (one registry), hallucination measures, statistics and cost, computed from
stored predictions alone. No torch: scoring never needs a model."""
