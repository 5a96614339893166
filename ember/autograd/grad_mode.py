"""Switches for gradient recording: no_grad, enable_grad, set_grad_enabled, inference_mode."""

from __future__ import annotations

import functools


class _State:
    enabled = True
    inference = False


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


def is_inference_mode_enabled() -> bool:
    """Whether an ``inference_mode()`` block or decorated function is running."""
    return state.inference


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


class inference_mode(_Mode):
    """Run without recording operations, for inference: ``with ember.inference_mode(): ...``,
    ``@ember.inference_mode()`` or ``@ember.inference_mode``. In ember it is ``no_grad`` that
    also sets ``is_inference_mode_enabled()``; ``inference_mode(False)`` turns recording
    back on, as in PyTorch.
    """

    def __new__(cls, mode=True):
        if mode is None or isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)  # used bare as a decorator: @ember.inference_mode

    def __init__(self, mode: bool = True):
        self.inference = bool(mode)
        self.mode = not self.inference

    def __enter__(self):
        self.prev_inference = state.inference
        state.inference = self.inference
        return super().__enter__()

    def __exit__(self, *exc):
        state.inference = self.prev_inference
        return super().__exit__(*exc)

    def __call__(self, fn):
        inference = self.inference

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(inference):
                return fn(*args, **kwargs)

        return wrapper
