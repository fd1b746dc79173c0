"""The ftrag command restarts itself once with mimalloc preloaded (bench/run/allocator.py), or with what FTRAG_ALLOCATOR names."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from bench.records.errors import UserError
from bench.run.allocator import MIMALLOC_PURGE_DELAY_MS, chosen_library, mimalloc_library

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


DELAY = ("import os; from bench.run.allocator import restart_with_allocator; restart_with_allocator(); "
         "print(os.environ.get('MIMALLOC_PURGE_DELAY'))")


def test_mimalloc_keeps_freed_pages_a_minute_unless_the_user_says_otherwise():
    env = {k: v for k, v in os.environ.items() if k not in ("FTRAG_ALLOCATOR", "LD_PRELOAD", "MIMALLOC_PURGE_DELAY")}
    for settings, expected in (({}, "60000"), ({"MIMALLOC_PURGE_DELAY": "10"}, "10"),
                               ({"FTRAG_ALLOCATOR": "system"}, "None")):
        done = subprocess.run([sys.executable, "-c", DELAY], capture_output=True, text=True, env={**env, **settings})
        assert done.returncode == 0 and done.stdout.strip() == expected, (settings, done.stdout, done.stderr)


def test_a_malloc_the_user_preloaded_is_kept():
    assert probe(LD_PRELOAD=str(mimalloc_library()), FTRAG_ALLOCATOR="/elsewhere/libtcmalloc.so") == "mimalloc 1"


def test_a_missing_library_is_one_clear_message(tmp_path):
    with pytest.raises(UserError, match="FTRAG_ALLOCATOR=.*no such file.*mimalloc.*system"):
        chosen_library(str(tmp_path / "libnone.so"))
    env = {**os.environ, "FTRAG_ALLOCATOR": str(tmp_path / "libnone.so")}
    done = subprocess.run([sys.executable, "-m", "bench.cli", "list"], capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "FTRAG_ALLOCATOR" in done.stderr


def test_the_command_bounds_onednns_primitive_caches_unless_the_user_sized_them(monkeypatch):
    from bench.cli import main
    from bench.run.allocator import CACHE_SETTINGS, ONEDNN_CACHED_PRIMITIVES
    assert CACHE_SETTINGS == ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")
    for setting in CACHE_SETTINGS:
        monkeypatch.delenv(setting, raising=False)
    assert main(["list"]) == 0
    assert all(os.environ[setting] == ONEDNN_CACHED_PRIMITIVES for setting in CACHE_SETTINGS)
    for setting in CACHE_SETTINGS:
        monkeypatch.setenv(setting, "512")
    assert main(["list"]) == 0 and all(os.environ[setting] == "512" for setting in CACHE_SETTINGS)


# frees 400 MB of 1 MB tensors under mimalloc, then prints the anonymous memory before and after release_memory
RELEASE = ("import torch; from bench.models.device import release_memory\n"
           "anon = lambda: int(next(l for l in open('/proc/self/status') if l.startswith('RssAnon')).split()[1]) // 1024\n"
           "chunks = [torch.ones(2**18) for _ in range(400)]\n"
           "del chunks\n"
           "before = anon(); release_memory(); print(before, anon())")


@pytest.mark.parametrize("delay", ["1000", MIMALLOC_PURGE_DELAY_MS])  # mimalloc's own default, and the command's
def test_release_memory_makes_a_preloaded_mimalloc_hand_back_what_was_freed(delay):
    env = {**os.environ, "LD_PRELOAD": str(mimalloc_library()), "MIMALLOC_PURGE_DELAY": delay}
    done = subprocess.run([sys.executable, "-c", RELEASE], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    before, after = map(int, done.stdout.split())
    assert before - after > 300, (before, after)  # mimalloc alone would keep the freed pages for its purge delay
