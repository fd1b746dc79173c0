"""Rows of a Hugging Face dataset named in task.yaml (`hf: owner/name`), with a clear message when it cannot be had:
offline and not in the local cache, an id or split that does not exist, no network."""
from __future__ import annotations

import contextlib
import os
import socket
from urllib.parse import urlparse

from bench.data.spec import DataPart
from bench.records.errors import UserError

TRUE = ("1", "true", "yes", "on")


def offline_by_setting() -> str | None:
    """The environment variable that puts Hugging Face libraries offline, when one does."""
    return next((name for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if os.environ.get(name, "").lower() in TRUE), None)


def hub_reachable(timeout: float = 3.0) -> bool:
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def offline_mode():
    """Tell datasets and huggingface_hub to use the local cache only (they read the setting once, at import)."""
    import datasets.config
    import huggingface_hub.constants

    saved = [(module, getattr(module, "HF_HUB_OFFLINE", None)) for module in (datasets.config, huggingface_hub.constants)]
    for module, _ in saved:
        module.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        for module, value in saved:
            module.HF_HUB_OFFLINE = value


def read_hf_rows(part: DataPart, where: str) -> list[dict]:
    setting = offline_by_setting()
    offline = setting or ("no network" if not hub_reachable() else None)
    try:
        import datasets  # imported when needed: only tasks named by a Hugging Face id use it

        with offline_mode() if offline else contextlib.nullcontext():
            return list(datasets.load_dataset(part.hf, split=part.split or "train"))
    except Exception as err:  # offline, unknown id, missing split: all user-fixable
        raise UserError(hf_message(part, where, err, setting, offline)) from None


def hf_message(part: DataPart, where: str, err: Exception, setting: str | None, offline: str | None) -> str:
    detail = " ".join(str(err).split())[:200]
    if "split" in detail.lower() and "unknown" in detail.lower():
        return f"{where}.split: dataset '{part.hf}' has no split '{part.split}' ({detail}). Set split to one it has."
    if offline:
        why = f"{setting} is set" if setting else "the Hugging Face Hub cannot be reached (no network)"
        return (f"{where}.hf: dataset '{part.hf}' is not in the local Hugging Face cache, and {why}, so it cannot be "
                f"downloaded. Check the id's spelling (offline, ftrag cannot tell a typo from a dataset not downloaded "
                f"yet); load it once online to cache it, or save it as a file and give path: instead of hf:.")
    return (f"{where}.hf: could not load Hugging Face dataset '{part.hf}' ({detail}). Check the id (owner/name, as on "
            f"huggingface.co/datasets) and the split, or save the data as a file and give path: instead of hf:.")
