"""Exclusive locks, so two ftrag processes started together neither corrupt nor duplicate each other's work.

A lock is a file beside what it guards (a cache entry being built, a run folder being written), held with an OS
file lock: a killed holder releases it at once, so a lock never outlives its process.
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)


@contextmanager
def exclusive(path: Path, what: str):
    """Hold the lock at `path`; if another process holds it, say so and wait for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = path.with_suffix(".pid")
        pid = holder.read_text().strip() if holder.exists() else "?"
        log.warning("another ftrag process (pid %s) is %s: waiting for it to finish (Ctrl-C to stop; "
                    "finished work is kept)", pid, what)
        lock.acquire()
    try:
        path.with_suffix(".pid").write_text(str(os.getpid()))
        yield
    finally:
        lock.release()
