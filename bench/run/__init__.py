"""Orchestration: one run of a task, stage after stage, each cached; it ends with the score stage and the report."""
