"""The ftrag command restarts itself once with mimalloc preloaded (bench/run/allocator.py), or with what FTRAG_ALLOCATOR names."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from bench.records.errors import UserError
from bench.run.allocator import chosen_library, mimalloc_library

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="preloading is Linux's LD_PRELOAD")

# restarts (when it should), then says which allocator the process runs with and what it preloaded
PROBE = ("import os; from bench.run.allocator import restart_with_allocator, in_use; restart_with_allocator(); "
         "print(in_use(), len(os.environ.get('LD_PRELOAD', '').split(':')) if os.environ.get('LD_PRELOAD') else 0)")


def probe(**settings: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("FTRAG_ALLOCATOR", "LD_PRELOAD")}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env={**env, **settings})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_default_is_the_installed_mimalloc():
    assert mimalloc_library().is_file()  # make setup installs cmeel-mimalloc
    assert probe() == "mimalloc 1"  # preloaded once: the restarted process does not restart again


def test_system_keeps_the_c_librarys_malloc():
    assert chosen_library("system") is None
    assert probe(FTRAG_ALLOCATOR="system") == "system 0"


def test_a_library_path_is_preloaded(tmp_path):
    assert probe(FTRAG_ALLOCATOR=str(mimalloc_library())) == "mimalloc 1"
    custom = tmp_path / "libcustom.so"  # a name ftrag does not know: preloaded once all the same
    shutil.copy(mimalloc_library(), custom)
    assert probe(FTRAG_ALLOCATOR=str(custom)) == "libcustom.so 1"


def test_a_malloc_the_user_preloaded_is_kept():
    assert probe(LD_PRELOAD=str(mimalloc_library()), FTRAG_ALLOCATOR="/elsewhere/libtcmalloc.so") == "mimalloc 1"


def test_a_missing_library_is_one_clear_message(tmp_path):
    with pytest.raises(UserError, match="FTRAG_ALLOCATOR=.*no such file.*mimalloc.*system"):
        chosen_library(str(tmp_path / "libnone.so"))
    env = {**os.environ, "FTRAG_ALLOCATOR": str(tmp_path / "libnone.so")}
    done = subprocess.run([sys.executable, "-m", "bench.cli", "list"], capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "FTRAG_ALLOCATOR" in done.stderr
