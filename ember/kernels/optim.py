"""Fused optimizer updates: one pass over a parameter and its state.

Adam's update in NumPy is about ten whole-array operations per parameter, each reading and
writing the parameter's size again (for the benchmark's MLP, a third of a training step),
SGD's with momentum four; here each element is read and written once, in the order of
operations of the references (``ember.optim.adam``, ``ember.optim.sgd``), in the arrays'
own dtype (the scalars are cast to it), without contracting multiplies and adds, so that
the two paths agree to the last bit or so.

Single-threaded numba loops (``nogil``); without numba, ``usable`` is False and the
optimizer runs its NumPy update (so do AMSGrad, a tensor learning rate, and SGD's first
step with momentum, which makes the buffer).
"""

from __future__ import annotations

import math

import numpy as np

from ember import kernels

if kernels.HAVE_NUMBA:
    import numba

    _jit = numba.njit(cache=True, nogil=True, error_model="numpy")
else:  # the NumPy update runs; the loop below is never called

    def _jit(fn):
        return fn


def usable(*arrays) -> bool:
    """True when numba is on and the arrays are contiguous NumPy arrays of one float dtype."""
    if not kernels.HAVE_NUMBA:
        return False
    dt = arrays[0].dtype
    if dt != np.float32 and dt != np.float64:
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != dt or not a.flags.c_contiguous:
            return False
    return True


@_jit
def _adam_loop(
    x, g, m, v, sign, wd, w1, one_minus_w1, beta2, one_minus_beta2, bc2_sqrt, eps, step_size
):
    small = abs(w1) < 0.5
    for i in range(x.size):
        d = sign * g[i]
        if wd != 0:
            d = x[i] * wd + d
        mi = m[i]
        if small:  # torch.lerp's two forms, as ember.optim.optimizer._lerp_
            mi = mi + (d - mi) * w1
        else:
            mi = d - (d - mi) * one_minus_w1
        vi = v[i] * beta2 + (d * d) * one_minus_beta2
        m[i] = mi
        v[i] = vi
        x[i] = x[i] - (mi / (math.sqrt(vi) / bc2_sqrt + eps)) * step_size


def adam(x, g, m, v, *, beta1, beta2, eps, weight_decay, maximize, step_size, bc2_sqrt):
    """Adam's step in place on x (the parameter), m and v (its moments), from the gradient g
    (coupled L2 weight decay ``weight_decay``; decoupled decay is applied by the caller)."""
    s = x.dtype.type
    _adam_loop(
        x.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
        s(-1.0 if maximize else 1.0), s(weight_decay), s(1 - beta1), s(1 - (1 - beta1)),
        s(beta2), s(1 - beta2),
        s(bc2_sqrt), s(eps), s(step_size),
    )  # fmt: skip


@_jit
def _sgd_loop(x, g, buf, sign, wd, lr, momentum, one_minus_dampening, plain, nesterov):
    for i in range(x.size):
        d = sign * g[i]
        if wd != 0:
            d = x[i] * wd + d
        if momentum != 0:
            b = buf[i] * momentum + (d if plain else d * one_minus_dampening)
            buf[i] = b
            d = b * momentum + d if nesterov else b
        x[i] = x[i] - d * lr


def sgd(x, g, buf, *, lr, momentum, dampening, weight_decay, nesterov, maximize):
    """SGD's step in place on x and its momentum buffer (already holding the first step's
    gradient after the first step; ignored when momentum is 0)."""
    s = x.dtype.type
    _sgd_loop(
        x.reshape(-1), g.reshape(-1), buf.reshape(-1), s(-1.0 if maximize else 1.0),
        s(weight_decay), s(lr), s(momentum), s(1 - dampening), dampening == 0, nesterov,
    )  # fmt: skip
