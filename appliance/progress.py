"""Progress bars for long work, on standard error; plain iteration when tqdm is absent."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], *, total: int | None = None, desc: str = "") -> Iterator[T]:
    """Wrap ``items`` in a tqdm bar when tqdm is installed and stderr is a terminal or CI log."""
    try:
        from tqdm import tqdm
    except ImportError:
        yield from items
        return
    yield from tqdm(items, total=total, desc=desc, file=sys.stderr, mininterval=1.0,
                    dynamic_ncols=True, leave=False)
