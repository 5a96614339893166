"""Switches for gradient recording: no_grad, enable_grad, set_grad_enabled."""

from __future__ import annotations

import functools


class _State:
    enabled = True


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


class _Mode:
    """Sets gradient recording to ``mode`` inside a ``with`` block or a decorated function."""

    mode = True

    def __enter__(self):
        self.prev = state.enabled
        state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        state.enabled = self.prev
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = state.enabled
            state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                state.enabled = prev

        return wrapper


class no_grad(_Mode):
    """Don't record operations for autograd: ``with ember.no_grad(): ...`` or ``@ember.no_grad()``."""

    mode = False


class enable_grad(_Mode):
    """Record operations for autograd again, inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_Mode):
    """Turn gradient recording on or off: as a call (takes effect at once), a context manager
    or a decorator."""

    def __init__(self, mode: bool = True):
        self.prev = state.enabled
        self.mode = bool(mode)
        state.enabled = self.mode

    def __enter__(self):  # the switch already happened in __init__
        return self

    def __call__(self, fn):
        state.enabled = self.prev  # used as a decorator: creating it changed nothing
        return super().__call__(fn)
