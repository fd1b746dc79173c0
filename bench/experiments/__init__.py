"""Experiments on a finished run: knowledge update (`update.py`) and forgetting (`forgetting.py`).

Each reuses the run's artifacts (its settings, model, index and adapters, all cached), answers into
`experiments/<name>/` of the run folder with its own manifest, and ends with the run's score stage and report, which
read those files alone: `ftrag score` recomputes an experiment's figures as it does the run's.
"""
