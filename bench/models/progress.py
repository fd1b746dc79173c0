"""Progress bars with rate and ETA; in a log file (no terminal) they update every 30 s instead of many times a second."""
from __future__ import annotations

import sys
from contextlib import contextmanager, nullcontext

from tqdm import tqdm


def progress(**kwargs) -> tqdm:
    return tqdm(mininterval=0.5 if sys.stderr.isatty() else 30, **kwargs)


@contextmanager
def bar_for(bar: tqdm | None, **kwargs):
    """The caller's bar (one bar for a whole arm, fed batch by batch), or a new one for this call alone."""
    with nullcontext(bar) if bar is not None else progress(leave=False, **kwargs) as chosen:
        yield chosen
