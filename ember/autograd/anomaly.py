"""detect_anomaly: find the forward op whose backward first produced NaN or Inf."""

from __future__ import annotations

import os
import traceback


class _State:
    enabled = False


state = _State()
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def is_anomaly_enabled() -> bool:
    return state.enabled


class detect_anomaly:
    """Check every gradient for NaN/Inf during backward; name the forward op that made it.

    Slow: each op records where it was created. Use it while debugging::

        with ember.autograd.detect_anomaly():
            loss.backward()   # RuntimeError: Log (created at train.py:12) returned nan ...
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self.prev = state.enabled
        state.enabled = self.check_nan
        return self

    def __exit__(self, *exc):
        state.enabled = self.prev
        return False


def set_detect_anomaly(mode: bool) -> None:
    state.enabled = bool(mode)


def user_frame(stack) -> str:
    """The innermost frame of ``stack`` outside ember itself: the user's line."""
    for fr in reversed(stack):
        if not os.path.abspath(fr.filename).startswith(_PACKAGE_DIR + os.sep):
            return f'File "{fr.filename}", line {fr.lineno}, in {fr.name}\n    {fr.line}'
    fr = stack[-1]
    return f'File "{fr.filename}", line {fr.lineno}, in {fr.name}'


def record_stack():
    return traceback.extract_stack()[:-2]


def check_gradients(node, grads):
    from ember.backend import get_array_module

    for i, g in enumerate(grads):
        if g is None:
            continue
        if not bool(get_array_module(g._data).isfinite(g._data).all()):
            where = user_frame(node._stack) if getattr(node, "_stack", None) else "(unknown)"
            raise RuntimeError(
                f"autograd anomaly: the backward of {type(node).__name__} returned NaN or Inf "
                f"in its gradient for input {i}. The forward op was created at:\n  {where}"
            )
