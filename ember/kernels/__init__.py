"""Fast paths: fused kernels, and the switch back to the plain-NumPy reference.

Every fused kernel keeps the plain composition of ops it replaces as its reference. The
reference runs instead when the environment has ``EMBER_KERNELS=reference`` or inside
``with ember.kernels.reference():``; the test suite runs the op tests both ways.

``taken`` counts which fast paths ran, so a test can check that the models of the benchmark
really use them (it is a plain Counter: cheap enough to bump on every call).
"""

from __future__ import annotations

import os
from collections import Counter

try:  # numba is optional (the `fast` extra); without it the NumPy paths run
    import numba  # noqa: F401

    HAVE_NUMBA = os.environ.get("EMBER_NUMBA", "1") != "0"
except ImportError:
    HAVE_NUMBA = False


class _State:
    fast = os.environ.get("EMBER_KERNELS", "fast") != "reference"


state = _State()
taken: Counter = Counter()


def enabled() -> bool:
    """True when fused kernels may run (the default)."""
    return state.fast


def set_enabled(mode: bool) -> None:
    state.fast = bool(mode)


class reference:
    """Run the plain-NumPy reference paths inside the block (or, with ``False``, the fast ones)."""

    def __init__(self, on: bool = True):
        self.on = on

    def __enter__(self):
        self.prev = state.fast
        state.fast = not self.on
        return self

    def __exit__(self, *exc):
        state.fast = self.prev
        return False
