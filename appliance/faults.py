"""Small helpers for surviving hardware faults: describe them in one line, close quietly."""

from __future__ import annotations

import contextlib


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, for a log field."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"


def close_quietly(device) -> None:
    """Close a device that may already be dead; a failure to close changes nothing."""
    with contextlib.suppress(Exception):
        device.close()
