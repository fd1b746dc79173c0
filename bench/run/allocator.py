"""The memory allocator ftrag runs with: mimalloc (from the cmeel-mimalloc wheel) where it is installed, on Linux.

glibc's malloc keeps memory that PyTorch freed inside its heap when training allocates tensors of many sizes (ft_rag's
rows run 270 to 335 tokens). Measured on 2 Xeon cores, LoRA steps of 8 such rows (fp32, not recomputed): glibc's process
peaked at 2,208 MB, mimalloc's at 1,795 MB (tcmalloc 1,735, jemalloc 1,722), at the same speed within the machine's
noise (side by side, 6.38 and 6.41 s a step against 6.96 and 6.34); the default bench's ft_rag stage peaked at 2,395 MB
against 3,237 MB, so long rows need not recompute their activations (finetune.recompute_over). An allocator must be in
place before the process starts, so the command line starts itself again, once, with it preloaded. FTRAG_ALLOCATOR
picks another: `system` (the C library's malloc), or the path of a malloc library such as tcmalloc's or jemalloc's.
With mimalloc the restart also sets how long freed pages stay before they go back (MIMALLOC_PURGE_DELAY) unless set.
The command also bounds what oneDNN keeps between bf16 matmuls (bound_onednn_cache).
"""
from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

from bench.records.errors import UserError

SETTING = "FTRAG_ALLOCATOR"
DEFAULT = "mimalloc"
KNOWN = ("mimalloc", "tcmalloc", "jemalloc")  # the malloc libraries ftrag recognises, preloaded or mapped


def mimalloc_library() -> Path | None:
    """libmimalloc.so from the cmeel-mimalloc wheel, if it is installed."""
    try:
        files = importlib.metadata.distribution("cmeel-mimalloc").files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    found = [f for f in files if f.name.startswith("libmimalloc.so")]
    return Path(found[0].locate()).resolve() if found else None


def known_mallocs(text: str) -> list[str]:
    """The KNOWN allocators whose library names appear in `text` (LD_PRELOAD, or the process's mapped files)."""
    return [name for name in KNOWN if f"lib{name}" in text]


def chosen_library(choice: str) -> Path | None:
    """The library FTRAG_ALLOCATOR names (None: the system's malloc)."""
    if choice == "system":
        return None
    if choice == DEFAULT:
        return mimalloc_library()  # not installed (ftrag installed without it): the system's malloc
    path = Path(choice).expanduser()
    if not path.is_file():
        raise UserError(f"{SETTING}={choice}: no such file. Set it to mimalloc (the default), system, or the path of "
                        f"a malloc library (e.g. /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4).")
    return path.resolve()


# mimalloc hands freed pages back to the system after purge_delay (1 s by default); memory that the next part or step
# allocates again then faults in afresh, page by page. Training frees each part's activations and allocates them again
# some seconds later: on ft_rag's rows (~315 tokens, fp32 LoRA, 2 Zen 3 cores) a step took ~120,000 page faults and
# ~2 s of system time, and ran at 140-145 tokens/s against 153-157 with a minute's delay (alternated in one process),
# peaking 19 MB higher over those steps (1,635 against 1,616 MB). The default bench took 33.3 against 37.9 min, with
# stage peaks 50-160 MB higher (fit 2.40 against 2.25 GB). A purge that release_memory forces between stages still hands
# all back.
MIMALLOC_PURGE_DELAY_MS = "60000"


def restart_with_allocator() -> None:
    """Start this same command again with the chosen allocator preloaded, unless there is none or a malloc library is
    preloaded already (this restart's, or one the user preloaded by hand)."""
    if not sys.platform.startswith("linux"):
        return
    preloaded = os.environ.get("LD_PRELOAD", "")
    if known_mallocs(preloaded):
        return
    library = chosen_library(os.environ.get(SETTING, DEFAULT))
    if library is None or str(library) in preloaded.split(":"):  # a library of another name, after its restart
        return
    sys.stdout.flush(), sys.stderr.flush()
    env = {**os.environ, "LD_PRELOAD": ":".join(filter(None, [str(library), preloaded]))}
    if "mimalloc" in library.name:
        env.setdefault("MIMALLOC_PURGE_DELAY", MIMALLOC_PURGE_DELAY_MS)
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


def in_use() -> str:
    """The allocator this process runs with, as its mapped libraries show: one of KNOWN, the file name of the library
    FTRAG_ALLOCATOR names, or "system"."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return "system"
    choice = os.environ.get(SETTING, DEFAULT)
    named = known_mallocs(maps)
    if not named and choice not in ("system", DEFAULT) and str(Path(choice).expanduser().resolve()) in maps:
        return Path(choice).name
    return named[0] if named else "system"


# oneDNN keeps up to 1,024 primitives by default, one for each shape a bf16 matmul ran in, with the buffers they
# hold. Training meets hundreds of shapes (each part's rows x length): 24 corpus-text steps and 8 of ft_rag's rows of
# bf16 LoRA on packed weights peaked at 2,425 MB and left 894 MB allocated after the model was freed; with 64 kept,
# 2,144 and 603 MB, at the same speed. Answering ran as fast (its decoding steps reuse a handful of shapes).
# torch's oneDNN bindings (ideep) keep a second cache of 1,024 by default, which batched bf16 matmuls (training's
# attention) fill: 12 steps each of corpus text, closed-book and ft_rag's rows peaked at 2,149-2,165 MB and left
# 730 MB after the model was freed; with 64 kept, 1,993 and 547 MB, as fast (SDPA's attention: 2,102 and 677 MB,
# with 64 kept 2,014 and 545).
ONEDNN_CACHED_PRIMITIVES = "64"
CACHE_SETTINGS = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")  # oneDNN's, ideep's


def bound_onednn_cache() -> None:
    """Keep oneDNN's and ideep's primitive caches to ONEDNN_CACHED_PRIMITIVES each unless the user set their size.
    Each reads its setting when it first makes a primitive, so this must run before any bf16 matmul."""
    for setting in CACHE_SETTINGS:
        os.environ.setdefault(setting, ONEDNN_CACHED_PRIMITIVES)
