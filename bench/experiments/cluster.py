"""Sweep cells as Ray tasks: each cell (the task with one model) is an ordinary `ftrag run` inside a Ray worker,
with the CPUs and GPUs it asks for, on the cache and results folders the driver uses.

Nothing is home-made here: Ray schedules the cells, and retries a cell whose worker dies (`max_retries`). A retried
cell is a plain re-run, so it resumes from the cached artifacts (model, index, adapters and their checkpoints,
answered batches) that its killed attempt left. Every node needs ftrag installed and the same paths for the cache,
the results and the data (one machine, or a shared filesystem): cells share work only through them.

Ray is an optional extra (`pip install -e ".[ray]"`); it is imported only when a sweep asks for it.
"""
from __future__ import annotations

import logging
from pathlib import Path

from bench.data.readers import data_dir
from bench.records.cache import cache_root
from bench.records.errors import UserError
from bench.records.layout import results_dir
from bench.run.launch import run

log = logging.getLogger(__name__)
RETRIES = 3  # attempts after a worker dies (a killed process, a lost node), each resuming from the cache


def shared_paths() -> dict[str, str]:
    """The folders every cell must read and write, as absolute paths: a worker starts in a folder of Ray's own."""
    paths = {"FTRAG_CACHE_DIR": cache_root(), "FTRAG_RESULTS_DIR": results_dir(), "FTRAG_DATA_DIR": data_dir()}
    return {name: str(Path(path).resolve()) for name, path in paths.items() if path is not None}


def run_cell(task: str, overrides: list[str]) -> str:
    """One cell, in a Ray worker: torch gets as many threads as the CPUs Ray reserved for the cell, no more, so
    cells sharing a machine do not fight over its cores. Its stage messages go to the driver as a local run's do."""
    import ray
    import torch

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(max(1, int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1))))
    return str(run(task, overrides))


def run_on_ray(task: str, cells: list[list[str]], address: str | None, cpus: float, gpus: float) -> list[Path]:
    """Every cell as a Ray task, all submitted at once; the run folders in the order of `cells`."""
    try:
        import ray
    except ImportError:
        raise UserError('sweep --backend ray: Ray is not installed. Install it with `pip install -e ".[ray]"` '
                        "(or `make setup-ray`), or drop --backend ray to run the cells here, one after another.") from None
    ray.init(address=address, runtime_env={"env_vars": shared_paths()}, logging_level=logging.WARNING)
    try:
        cell = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=RETRIES)(run_cell)
        log.info("sweep on Ray (%s): %d cells, %s CPU and %s GPU each", ray.get_runtime_context().gcs_address,
                 len(cells), cpus, gpus)
        pending = [cell.remote(task, overrides) for overrides in cells]
        try:
            return [Path(folder) for folder in ray.get(pending)]
        except ray.exceptions.RayTaskError as error:
            if isinstance(error.cause, UserError):  # the cell's own clear message, not Ray's wrapping of it
                raise error.cause from None
            raise
    finally:
        ray.shutdown()
