"""Progress bars with rate and ETA; in a log file (no terminal) they update every 30 s instead of many times a second."""
from __future__ import annotations

import sys

from tqdm import tqdm


def progress(**kwargs) -> tqdm:
    return tqdm(mininterval=0.5 if sys.stderr.isatty() else 30, **kwargs)
