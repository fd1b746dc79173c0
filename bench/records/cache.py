"""Content-addressed artifacts.

An artifact (converted model, FAISS index, adapter) lives in `<cache>/<stage>/<key>/`, where the key hashes
every input that determines it. It is built in a temporary sibling directory and renamed into place, so a
killed build leaves nothing that looks finished. A lock per entry keeps two processes from building it twice.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from bench.records.locks import exclusive

# Bump a stage's version when its code changes what it produces, so old artifacts are not reused.
# predictions 3, paraphrases 2, probe_answers 2: bf16 answering on a CPU packs its weights (bench/models/packing.py),
# which can turn a near-tie the other way
STAGE_VERSIONS = {"model": 1, "index": 2, "adapter": 2, "predictions": 3, "paraphrases": 2, "probe_answers": 2}


def cache_root() -> Path:
    return Path(os.environ.get("FTRAG_CACHE_DIR", Path.home() / ".cache" / "ftrag"))


def digest(*parts: Any) -> str:
    """Stable short hash of JSON-serialisable parts."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:16]


def stage_key(stage: str, *parts: Any) -> str:
    return digest(stage, STAGE_VERSIONS[stage], *parts)


def cached_dir(stage: str, key: str, build: Callable[[Path], None]) -> tuple[Path, bool]:
    """Return (directory, was_cached). `build(tmp)` fills a fresh directory when the artifact is missing."""
    final = cache_root() / stage / key
    if final.exists():
        return final, True
    with exclusive(final.parent / f".{key}.lock", f"building the same {stage} artifact"):
        if final.exists():  # another process built it while this one waited
            return final, True
        for leftover in final.parent.glob(f".{key}.*/"):  # what a killed build left: never complete, never read
            shutil.rmtree(leftover, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=final.parent))
        try:
            build(tmp)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final, False


