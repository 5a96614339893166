"""ember's exceptions, and the traceback filter that ends a traceback at the user's line."""

from __future__ import annotations

import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class EmberIndexError(IndexError, ValueError):
    """An index or dim out of range: an IndexError as in PyTorch, and a ValueError."""


def _is_internal(tb) -> bool:
    return os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_PACKAGE_DIR + os.sep)


def filter_traceback(tb):
    """Drop ember's own frames from the end of a traceback, so its last frame is the line of
    user code that called into ember (frames of user callbacks called by ember are kept)."""
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    end = len(frames)
    while end > 1 and _is_internal(frames[end - 1]):
        end -= 1
    if end == len(frames) or end == 0:
        return frames[0] if frames else None
    frames[end - 1].tb_next = None
    return frames[0]


def _hook(exc_type, exc, tb, _previous=sys.excepthook):
    if os.environ.get("EMBER_FULL_TRACEBACK") != "1" and tb is not None:
        tb = filter_traceback(tb)
        if exc is not None:
            exc = exc.with_traceback(tb)
    return _previous(exc_type, exc, tb)


def install_excepthook() -> None:
    """Make uncaught errors raised inside ember show the user's line last.
    Set EMBER_FULL_TRACEBACK=1 to see ember's own frames."""
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _hook
