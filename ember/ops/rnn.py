"""Fused recurrent layers: one LSTM or GRU layer, in one direction, over a whole sequence,
as a single op.

The reference (``ember.nn.modules.rnn``) records a dozen small ops per time step, so a
sequence of 64 steps makes a graph of ~1000 nodes whose backward is as many Python calls.
Here one ``Function`` runs the time loop on raw arrays:

- forward: the input's projection for all steps is one matrix product, written into a
  (T, N, G * H) buffer of gates (G = 4 for LSTM, 3 for GRU); a step then computes one
  product with the hidden state and applies the gate math in place, into preallocated
  buffers.
- backward through time: a step is the gate math's derivative and one matrix product for
  the hidden state's gradient. The weight gradients are one matrix product each over all
  steps (the stacked gate gradients against the stacked inputs, or against the stacked
  previous hidden states); so is the input's gradient.

Where an LSTM direction runs as compiled loops (``ember.kernels.rnn``), the input's
projection is part of each step's product and the biases' gradient is summed in the loop;
the weight and input gradients come from compiled products over the kept gate gradients.
Those loops hold their arrays in panels (features by batch lanes): the forward keeps them
in that layout for the backward (``ctx.c0_panels`` says it did).

A step's gate math runs in one numba kernel (``ember.kernels.rnn``) when numba is there
(the forward for float32 only); otherwise in the NumPy loops below, which also serve CuPy:
their forward takes sigmoid(v) as 0.5 * tanh(v / 2) + 0.5, so the four LSTM gates are one
tanh over the (N, 4H) row, and their backward computes the factors that multiply the
incoming gradients for all steps at once before the loop.

Double backward: the fused backward is written on raw arrays, so it is not differentiable.
When it is called with grad mode on (``backward(create_graph=True)``, ``autograd.grad(...,
create_graph=True)``) it instead recomputes the layer with the reference per-step ops, from
the saved inputs, and differentiates that graph with ``create_graph=True``: gradients of
gradients are then the reference path's.
"""

from __future__ import annotations

import numpy as np

from ember import kernels
from ember.autograd import grad_mode
from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.kernels import gemm
from ember.kernels import rnn as fused

__all__ = ["GRULayer", "LSTMLayer"]


def _steps(T: int, reverse: bool):
    return range(T - 1, -1, -1) if reverse else range(T)


def _projection(xp, x, w_ih, bias):
    """x (T, N, I) @ W_ih^T (+ bias) as a new (T, N, G) array."""
    T, N, I = x.shape
    y = gemm.matmul(x.reshape(T * N, I), w_ih.T)
    if bias is not None:
        y += bias
    return y.reshape(T, N, w_ih.shape[0])


def _sequence_usable(H, *arrays):
    """True when an LSTM direction runs as compiled loops (see kernels.rnn): float32 NumPy
    arrays throughout, and a hidden size the loop takes."""
    return fused.sequence_usable(H) and all(
        type(a) is np.ndarray and a.dtype == np.float32 for a in arrays)  # fmt: skip


def _previous(xp, seq, first, reverse):
    """The value before each step, in time order: (first, seq[0], …, seq[T-2]) (reversed
    direction: (seq[1], …, seq[T-1], first))."""
    prev = xp.empty_like(seq)
    if reverse:
        prev[:-1] = seq[1:]
        prev[-1] = first
    else:
        prev[1:] = seq[:-1]
        prev[0] = first
    return prev


def _weight_grads(xp, need, dgx, dgh, x, y, h0, reverse, w_ih):
    """Gradients of x, W_ih, W_hh, b_ih, b_hh (``need``: which are wanted) from the gate
    gradients of all steps: ``dgx`` (T, N, G) with respect to the input's projection,
    ``dgh`` with respect to the hidden state's (the same array for LSTM). The hidden state
    before each step is y's step before it, or h0 for the first step."""
    T, N, I = x.shape
    G, H = dgx.shape[-1], y.shape[-1]
    dgx2 = dgx.reshape(T * N, G)
    gx = gemm.matmul(dgx2, w_ih).reshape(T, N, I) if need[0] else None
    gw_ih = gemm.matmul(dgx2.T, x.reshape(T * N, I)) if need[1] else None
    gw_hh = None
    if need[2]:  # sum over t of dgh[t]^T h_{t-1}: y's steps in one product, then h0's
        first, rest, prev = (T - 1, slice(0, T - 1), slice(1, T)) if reverse else (
            0, slice(1, T), slice(0, T - 1))  # fmt: skip
        gw_hh = gemm.matmul(dgh[first].T, h0)
        if T > 1:
            rows = (T - 1) * N
            gemm.matmul(dgh[rest].reshape(rows, G).T, y[prev].reshape(rows, H), out=gw_hh,
                        accumulate=True)  # fmt: skip
    gb_ih = dgx2.sum(0) if need[3] else None
    gb_hh = (gb_ih.copy() if dgh is dgx else dgh.reshape(T * N, G).sum(0)) if need[4] else None
    return gx, gw_ih, gw_hh, gb_ih, gb_hh


def _gradients_by_reference(ctx, mode, grads, need):
    """The input gradients as a differentiable graph: rerun the reference per-step ops on
    the saved inputs and differentiate them with create_graph (used for double backward).
    ``need``: which of (x, h0, c0, W_ih, W_hh, b_ih, b_hh) want a gradient."""
    from ember.autograd.engine import grad
    from ember.nn.modules.rnn import _reference_direction

    inputs = list(ctx.saved_tensors[:7])
    # Fresh nodes in front of the inputs: grad() then stops at them, and does not also
    # follow a path from one input to another (x computed from h0, say).
    wrt = [i for i, t in enumerate(inputs) if t is not None and need[i]]
    for i in wrt:
        inputs[i] = inputs[i].clone()
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = inputs
    y, h, c = _reference_direction(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, None, ctx.reverse)
    outs = (y, h, c) if mode == "LSTM" else (y, h)
    got = grad(outs, [inputs[i] for i in wrt], grads, create_graph=True, allow_unused=True)
    result = [None] * 7
    for i, g in zip(wrt, got):
        result[i] = g
    return result


def _lstm_forward_loop(xp, gates, h0, c0, w_hh_t, c_all, tanh_c, y, reverse):
    """The NumPy steps forward: gates (T, N, 4H) in place from pre-activations to i, f, g,
    o; writes c_t, tanh(c_t) and h_t for every step."""
    T, N, H = y.shape
    dt = y.dtype
    # sigmoid(a) = 0.5 * tanh(a / 2) + 0.5 for i, f, o; plain tanh for g
    half = xp.full(4 * H, 0.5, dt)
    half[2 * H : 3 * H] = 1
    shift = xp.full(4 * H, 0.5, dt)
    shift[2 * H : 3 * H] = 0
    hw = xp.empty((N, 4 * H), dt)
    ig = xp.empty((N, H), dt)
    h, c = h0, c0
    for t in _steps(T, reverse):
        a = gates[t]
        xp.matmul(h, w_hh_t, out=hw)
        a += hw
        a *= half
        xp.tanh(a, out=a)
        a *= half
        a += shift
        c_t = c_all[t]
        xp.multiply(a[:, H : 2 * H], c, out=c_t)
        xp.multiply(a[:, :H], a[:, 2 * H : 3 * H], out=ig)
        c_t += ig
        xp.tanh(c_t, out=tanh_c[t])
        xp.multiply(a[:, 3 * H :], tanh_c[t], out=y[t])
        h, c = y[t], c_t


def _lstm_backward_loop(xp, a, c_all, tanh_c, c0, gy, dh, dc, dgates, w_hh, reverse):
    """The NumPy steps back through time: dgates (T, N, 4, H), and dh, dc at t = 0."""
    T, N, _, H = dgates.shape
    a4 = a.reshape(T, N, 4, H)
    i, f, g, o = a4[:, :, 0], a4[:, :, 1], a4[:, :, 2], a4[:, :, 3]
    c_prev = _previous(xp, c_all, c0, reverse)
    # What multiplies dc (for the gates i, f, g) and dh (for o) at each step, for all
    # steps at once; the loop is then a few products per step.
    p = xp.empty((T, N, 4, H), a.dtype)
    xp.multiply(g, i * (1 - i), out=p[:, :, 0])
    xp.multiply(c_prev, f * (1 - f), out=p[:, :, 1])
    xp.multiply(i, 1 - g * g, out=p[:, :, 2])
    xp.multiply(tanh_c, o * (1 - o), out=p[:, :, 3])
    o_dtanh = o * (1 - tanh_c * tanh_c)  # dc_t / dh_t
    del c_prev
    tmp = xp.empty((N, H), a.dtype)
    for t in _steps(T, not reverse):
        dh += gy[t]
        xp.multiply(dh, o_dtanh[t], out=tmp)
        dc += tmp
        xp.multiply(p[t, :, :3], dc[:, None, :], out=dgates[t, :, :3])
        xp.multiply(p[t, :, 3], dh, out=dgates[t, :, 3])
        dc *= f[t]
        xp.matmul(dgates[t].reshape(N, 4 * H), w_hh, out=dh)


class LSTMLayer(Function):
    """One LSTM layer in one direction over a sequence (gates i, f, g, o).

    forward(x (T, N, I), h0 (N, H), c0 (N, H), W_ih (4H, I), W_hh (4H, H), b_ih (4H,) or
    None, b_hh (4H,) or None, reverse) -> (y (T, N, H), h_n (N, H), c_n (N, H)).
    ``reverse`` runs the steps from t = T-1 down to 0 (y stays in time order).
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
        xp = get_array_module(x)
        T, N, _ = x.shape
        H = w_hh.shape[1]
        dt = x.dtype
        bias = None if b_ih is None else b_ih + b_hh
        y = xp.empty((T, N, H), dt)
        last = 0 if reverse else T - 1
        ctx.c0_panels = None  # set when the compiled loop runs (its arrays are in panels)
        if _sequence_usable(H, x, h0, c0, w_ih, w_hh):  # the whole loop compiled
            kernels.taken["rnn.lstm_sequence"] += 1
            Q, I, NR = -(-N // gemm.NR), x.shape[2], gemm.NR
            parts = ctx.parts = gemm.threads()
            order = ctx.order = fused.gate_order(H, parts)
            c0p = xp.zeros((Q, H, NR), dt)
            fused.to_panels(c0, c0p, 0)
            xh = xp.zeros((T + 1, Q, I + H, NR), dt)
            fused.to_panels(h0, xh[0], I)
            gates = xp.empty((T, Q, 4 * H, NR), dt)
            c_all, tanh_c = xp.empty((T, Q, H, NR), dt), xp.empty((T, Q, H, NR), dt)
            lanes = xp.zeros(4 * H, dt) if bias is None else bias[order]
            fused.lstm_forward_sequence(
                x, fused.pack_forward_weights(w_ih, w_hh, order, parts), xp.repeat(lanes, NR),
                c0p, xh, gates, c_all, tanh_c, y, reverse, parts,
            )  # fmt: skip
            ctx.c0_panels = c0p
            c_n = xp.empty((N, H), dt)
            fused.from_panels(c_all[last], c_n)
        else:
            gates = _projection(xp, x, w_ih, bias)
            c_all, tanh_c = xp.empty((T, N, H), dt), xp.empty((T, N, H), dt)
            w_hh_t = xp.ascontiguousarray(w_hh.T)  # the steps' products run faster on it
            if fused.usable(x, h0, c0, forward=True):  # a step's gate math in one kernel
                w = gemm.pack(w_hh_t) or w_hh_t  # the same weight for every step: packed once
                hw = xp.empty((N, 4 * H), dt)
                h, c = h0, c0
                for t in _steps(T, reverse):
                    gemm.matmul(h, w, out=hw)
                    fused.lstm_forward_step(gates[t], hw, c, c_all[t], tanh_c[t], y[t])
                    h, c = y[t], c_all[t]
            else:
                _lstm_forward_loop(xp, gates, h0, c0, w_hh_t, c_all, tanh_c, y, reverse)
            c_n = c_all[last].copy()
        ctx.reverse = reverse
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, gates, c_all, tanh_c, y)
        return y, y[last].copy(), c_n

    @staticmethod
    def backward(ctx, gy, gh, gc):
        if grad_mode.is_grad_enabled():
            return (*_gradients_by_reference(ctx, "LSTM", (gy, gh, gc), ctx.needs_input_grad), None)
        x, h0, c0, w_ih, w_hh, _, _, a, c_all, tanh_c, y = (
            None if s is None else s._data for s in ctx.saved_tensors
        )
        xp = get_array_module(x)
        T, N, _ = x.shape
        H = w_hh.shape[1]
        reverse = ctx.reverse
        gy = gy._data
        need = ctx.needs_input_grad
        c0p = ctx.c0_panels
        if c0p is not None:  # the forward's compiled loop: its arrays are in panels
            kernels.taken["rnn.lstm_sequence_backward"] += 1
            parts, order, I = ctx.parts, ctx.order, x.shape[2]
            dhp, dcp = xp.zeros_like(c0p), xp.zeros_like(c0p)
            fused.to_panels(gh._data, dhp, 0)
            fused.to_panels(gc._data, dcp, 0)
            d = xp.empty(a.shape, a.dtype)  # every step's gate gradients, in panels
            sums = xp.zeros(a.shape[2] * gemm.NR, a.dtype)
            fused.lstm_backward_sequence(
                a, tanh_c, c_all, c0p, gy, dhp, dcp, d, sums,
                fused.pack_backward_weights(w_hh, order, parts), reverse, parts,
            )  # fmt: skip
            dh, dc = xp.empty((N, H), a.dtype), xp.empty((N, H), a.dtype)
            fused.from_panels(dhp, dh)
            fused.from_panels(dcp, dc)
            gb = xp.empty(4 * H, a.dtype)
            gb[order] = sums.reshape(4 * H, gemm.NR).sum(1, dtype=np.float64)
            gw_ih, gw_hh = xp.empty_like(w_ih), xp.empty_like(w_hh)
            gx = xp.empty((T * N if need[0] else 0, I), a.dtype)
            fused.lstm_weight_grads(
                d, xp.ascontiguousarray(x).reshape(T * N, I), y.reshape(T * N, H), h0,
                gemm.Packed(w_ih[order]).data, order, gw_ih, gw_hh, gx, reverse, parts,
            )  # fmt: skip
            gx = gx.reshape(T, N, I) if need[0] else None
            gb_ih = gb if need[5] else None
            gb_hh = gb.copy() if need[6] else None
            gw_ih, gw_hh = (gw_ih if need[3] else None), (gw_hh if need[4] else None)
        else:
            dgates = xp.empty((T, N, 4, H), a.dtype)
            dh = gh._data.copy()
            dc = gc._data.copy()
            if fused.usable(a, dh, dc, gy, c0, forward=False):
                w = gemm.pack(w_hh) or w_hh  # (float32 only)
                last = T - 1 if reverse else 0  # the step whose c_{t-1} is c0
                step = 1 if reverse else -1
                for t in _steps(T, not reverse):
                    c_prev = c0 if t == last else c_all[t + step]
                    d = dgates[t].reshape(N, 4 * H)
                    fused.lstm_backward_step(a[t], tanh_c[t], c_prev, gy[t], dh, dc, d)
                    gemm.matmul(d, w, out=dh)
            else:
                _lstm_backward_loop(xp, a, c_all, tanh_c, c0, gy, dh, dc, dgates, w_hh, reverse)
            dgates = dgates.reshape(T, N, 4 * H)
            gx, gw_ih, gw_hh, gb_ih, gb_hh = _weight_grads(
                xp, (need[0], need[3], need[4], need[5], need[6]), dgates, dgates, x, y, h0,
                reverse, w_ih,
            )  # fmt: skip
        return (
            gx,
            dh if need[1] else None,
            dc if need[2] else None,
            gw_ih,
            gw_hh,
            gb_ih,
            gb_hh,
            None,
        )


def _gru_forward_step(xp, a, hw, h, y):
    """A NumPy step: a (N, 3H) from pre-activations to r, z, n; y = h_t."""
    H = y.shape[1]
    rz = a[:, : 2 * H]
    rz += hw[:, : 2 * H]
    rz *= 0.5  # sigmoid(v) = 0.5 * tanh(v / 2) + 0.5
    xp.tanh(rz, out=rz)
    rz *= 0.5
    rz += 0.5
    n = a[:, 2 * H :]
    xp.multiply(a[:, :H], hw[:, 2 * H :], out=y)
    n += y
    xp.tanh(n, out=n)
    xp.subtract(h, n, out=y)  # h_t = n + z * (h - n)
    y *= a[:, H : 2 * H]
    y += n


def _gru_backward_loop(xp, a, hw_all, h_prev, gy, dh, dgx, dgh, w_hh, reverse):
    """The NumPy steps back through time: dgx, dgh (T, N, 3H), and dh at t = 0."""
    T, N, _ = a.shape
    H = dh.shape[1]
    a3 = a.reshape(T, N, 3, H)
    r, z, n = a3[:, :, 0], a3[:, :, 1], a3[:, :, 2]
    # What multiplies dh (for n and z) and dn's pre-activation (for r) at each step.
    q_n = (1 - z) * (1 - n * n)
    q_z = (h_prev - n) * (z * (1 - z))
    q_r = hw_all[:, :, 2 * H :] * (r * (1 - r))
    tmp = xp.empty((N, H), a.dtype)
    for t in _steps(T, not reverse):
        dh += gy[t]
        dn = dgx[t, :, 2 * H :]
        xp.multiply(dh, q_n[t], out=dn)
        xp.multiply(dh, q_z[t], out=dgh[t, :, H : 2 * H])
        xp.multiply(dn, q_r[t], out=dgh[t, :, :H])
        xp.multiply(dn, r[t], out=dgh[t, :, 2 * H :])
        dh *= z[t]
        dh += xp.matmul(dgh[t], w_hh, out=tmp)
    dgx[:, :, : 2 * H] = dgh[:, :, : 2 * H]


class GRULayer(Function):
    """One GRU layer in one direction over a sequence (gates r, z, n):
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.

    forward(x (T, N, I), h0 (N, H), W_ih (3H, I), W_hh (3H, H), b_ih (3H,) or None,
    b_hh (3H,) or None, reverse) -> (y (T, N, H), h_n (N, H)).
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
        xp = get_array_module(x)
        T, N, _ = x.shape
        H = w_hh.shape[1]
        dt = x.dtype
        gates = _projection(xp, x, w_ih, b_ih)  # becomes r, z, n
        hw_all = xp.empty((T, N, 3 * H), dt)  # W_hh h + b_hh: its n part is kept for backward
        y = xp.empty((T, N, H), dt)
        w_hh_t = xp.ascontiguousarray(w_hh.T)  # the steps' products run faster on it
        w = gemm.pack(w_hh_t) or w_hh_t  # the same weight for every step: packed once
        h = h0
        kernel = fused.usable(gates, h0, forward=True)
        for t in _steps(T, reverse):
            hw = hw_all[t]
            gemm.matmul(h, w, out=hw)
            if b_hh is not None:
                hw += b_hh
            if kernel:  # a step's gate math in one kernel
                fused.gru_forward_step(gates[t], hw, h, y[t])
            else:
                _gru_forward_step(xp, gates[t], hw, h, y[t])
            h = y[t]
        ctx.reverse = reverse
        ctx.save_for_backward(x, h0, None, w_ih, w_hh, b_ih, b_hh, gates, hw_all, y)
        return y, y[0 if reverse else T - 1].copy()

    @staticmethod
    def backward(ctx, gy, gh):
        if grad_mode.is_grad_enabled():
            need = ctx.needs_input_grad
            g = _gradients_by_reference(ctx, "GRU", (gy, gh), (*need[:2], False, *need[2:6]))
            return (*g[:2], *g[3:], None)
        x, h0, _, w_ih, w_hh, _, _, a, hw_all, y = (
            None if s is None else s._data for s in ctx.saved_tensors
        )
        xp = get_array_module(x)
        T, N, _ = x.shape
        H = w_hh.shape[1]
        reverse = ctx.reverse
        gy = gy._data
        dgx = xp.empty((T, N, 3 * H), a.dtype)  # gradients of the input's projection
        dgh = xp.empty((T, N, 3 * H), a.dtype)  # … and of the hidden state's
        dh = gh._data.copy()
        h_prev = _previous(xp, y, h0, reverse)
        if fused.usable(a, dh, gy, h_prev, forward=False):
            w = gemm.pack(w_hh) or w_hh
            for t in _steps(T, not reverse):
                fused.gru_backward_step(a[t], hw_all[t], h_prev[t], gy[t], dh, dgx[t], dgh[t])
                gemm.matmul(dgh[t], w, out=dh, accumulate=True)
        else:
            _gru_backward_loop(xp, a, hw_all, h_prev, gy, dh, dgx, dgh, w_hh, reverse)
        need = ctx.needs_input_grad
        gx, gw_ih, gw_hh, gb_ih, gb_hh = _weight_grads(
            xp, (need[0], *need[2:6]), dgx, dgh, x, y, h0, reverse, w_ih
        )
        return gx, dh if need[1] else None, gw_ih, gw_hh, gb_ih, gb_hh, None
