"""Fused kernels of one LSTM or GRU time step: the gate math between the step's two matrix
products, in one pass over the (N, G * H) row of gates.

The NumPy version of a step (in ``ember.ops.rnn``) is about ten whole-array calls, each
reading and writing the gates again; here each element is read once. The step kernels are
single-threaded (``nogil``); the matrix products around them are called from Python.

Where ember's own matrix product runs (``ember.kernels.gemm``: AVX-512) and the hidden size
is a whole number of its panels, a whole LSTM direction runs as one compiled loop instead
(``lstm_forward_sequence``, ``lstm_backward_sequence``): at each step each core takes half
of the hidden units, computes the columns of its units of the step's input and recurrent
products (the weights packed once) straight into the gates, and runs their gate math, so
no Python runs between steps and a core's gate math reads what that core has just written.
The backward also sums the biases' gradient as it goes, and computes the input's gradient
one step behind, each core a share of its rows.

The kernels are numba functions compiled at their first call (``cache=True``). The forward
kernels take float32 only: their sigmoid and tanh come from an exp computed in float32 by
a polynomial (sigmoid and tanh within ~5 ulp of the exact values over float32's range,
measured), so the loops vectorise 16 lanes wide, where numba's libm tanh costs ~40 ns an
element. float64 runs the NumPy path. The backward kernels have no transcendental functions
and take both dtypes. ``usable`` says whether an array can go through them; when numba is
missing, nothing can, and ``ember.ops.rnn`` runs its NumPy loop.
"""

from __future__ import annotations

import math

import numpy as np

from ember import kernels
from ember.kernels import gemm

if kernels.HAVE_NUMBA:
    import numba

    # fastmath without "nnan" and "ninf": NaN and inf must go through as they would
    _FAST = {"contract", "arcp", "nsz", "afn", "reassoc"}
    _jit = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
    _inline = numba.njit(
        cache=True, nogil=True, error_model="numpy", fastmath=_FAST, inline="always"
    )
else:  # the NumPy loop of ember.ops.rnn runs; the functions below are never called

    def _jit(fn):
        return fn

    _inline = _jit


# float32 constants (a Python float would make numba compute in float64)
_F = np.float32
_LOG2E, _HALF, _ONE, _TWO, _LIMIT = _F(1 / math.log(2)), _F(0.5), _F(1), _F(2), _F(88)
_LN2_HI = _F(0.693359375)  # ln 2 in two parts: n * _LN2_HI is exact for the n used here
_LN2_LO = _F(math.log(2) - 0.693359375)
_E2, _E3, _E4, _E5, _E6, _E7 = (_F(1 / math.factorial(k)) for k in range(2, 8))
# tanh's Taylor series near 0 (odd powers 3 to 11), where 1 - 2 / (e^2v + 1) cancels
_T3, _T5, _T7, _T9, _T11 = (_F(c) for c in (-1 / 3, 2 / 15, -17 / 315, 62 / 2835, -1382 / 155925))
_TANH_SERIES = _F(0.3)  # below this |v| the series, to |v|^11, is within float32's rounding


def usable(*arrays, forward: bool) -> bool:
    """True when numba is on and the arrays are NumPy arrays of a dtype the kernels take."""
    if not kernels.HAVE_NUMBA:
        return False
    for a in arrays:
        if type(a) is not np.ndarray:
            return False
    dt = arrays[0].dtype
    return dt == np.float32 or (not forward and dt == np.float64)


# ---------------------------------------------------------------- sigmoid and tanh
@_inline
def _exp(s):
    """exp(s) for float32 -88 <= s <= 88, within ~3 ulp: 2^n times a degree-7 Taylor
    polynomial of the remainder |r| <= ln(2) / 2, 2^n made from its bits, so the loop
    vectorises (16 lanes)."""
    n = np.floor(s * _LOG2E + _HALF)
    r = (s - n * _LN2_HI) - n * _LN2_LO
    p = _ONE + r * (_ONE + r * (_E2 + r * (_E3 + r * (_E4 + r * (_E5 + r * (_E6 + r * _E7))))))
    return p * np.int32((np.int32(n) + 127) << 23).view(np.float32)


@_inline
def _sigmoid(v):
    # clamped where sigmoid is 0 or 1 in float32 anyway; NaN goes through (min/max keep it)
    return _ONE / (_ONE + _exp(min(max(-v, -_LIMIT), _LIMIT)))


@_inline
def _tanh(v):
    # 1 - 2 / (e^{2v} + 1) cannot overflow; near 0, where it cancels, the series
    far = _ONE - _TWO / (_exp(min(max(_TWO * v, -_LIMIT), _LIMIT)) + _ONE)
    v2 = v * v
    near = v + v * v2 * (_T3 + v2 * (_T5 + v2 * (_T7 + v2 * (_T9 + v2 * _T11))))
    return near if abs(v) < _TANH_SERIES else far


# ---------------------------------------------------------------- LSTM
# The loops run over one row's gate slices from index 0, one gate at a time: that is the
# form LLVM vectorises (an offset range, or stores to several gates of the same row in one
# loop, compile to scalar code, ~7x slower). A step may be cut by hidden units: u0:u1 of
# each gate (0, H for all of them).
@_jit
def lstm_forward_step(a, hw, c_prev, c, tanh_c, y, u0, u1):
    """a: (N, 4H) the input's projection (+ biases), replaced by the gates i, f, g, o;
    hw: (N, 4H) h_{t-1} W_hh^T, or one row (1, 4H) added to every row of a; writes c_t,
    tanh(c_t) and h_t = o * tanh(c_t)."""
    N, H = c.shape
    n = u1 - u0
    one = hw.shape[0] == 1
    for b in range(N):
        ab, hb = a[b], hw[0 if one else b]
        i, f = ab[u0:u1], ab[H + u0 : H + u1]
        g, o = ab[2 * H + u0 : 2 * H + u1], ab[3 * H + u0 : 3 * H + u1]
        hi, hf = hb[u0:u1], hb[H + u0 : H + u1]
        hg, ho = hb[2 * H + u0 : 2 * H + u1], hb[3 * H + u0 : 3 * H + u1]
        for j in range(n):
            i[j] = _sigmoid(i[j] + hi[j])
        for j in range(n):
            f[j] = _sigmoid(f[j] + hf[j])
        for j in range(n):
            g[j] = _tanh(g[j] + hg[j])
        for j in range(n):
            o[j] = _sigmoid(o[j] + ho[j])
        cp, cb, tb, yb = c_prev[b, u0:u1], c[b, u0:u1], tanh_c[b, u0:u1], y[b, u0:u1]
        for j in range(n):
            cb[j] = f[j] * cp[j] + i[j] * g[j]
        for j in range(n):
            tb[j] = _tanh(cb[j])
        for j in range(n):
            yb[j] = o[j] * tb[j]


@_jit
def lstm_backward_step(a, tanh_c, c_prev, gy, dh, dc, dgates, u0, u1):
    """One step back from the gates a (N, 4H) with dh (the gradient of h_t from the next
    step) and gy (from the output): writes the gates' gradients (before their
    nonlinearities) into dgates (N, 4H) and dc_{t-1} into dc. The caller then sets
    dh = dgates @ W_hh."""
    N, H = dh.shape
    n = u1 - u0
    d_h = np.empty(n, dh.dtype)
    for b in range(N):
        ab, db = a[b], dgates[b]
        i, f = ab[u0:u1], ab[H + u0 : H + u1]
        g, o = ab[2 * H + u0 : 2 * H + u1], ab[3 * H + u0 : 3 * H + u1]
        di, df = db[u0:u1], db[H + u0 : H + u1]
        dg, do = db[2 * H + u0 : 2 * H + u1], db[3 * H + u0 : 3 * H + u1]
        tb, cp, gyb = tanh_c[b, u0:u1], c_prev[b, u0:u1], gy[b, u0:u1]
        dhb, d_c = dh[b, u0:u1], dc[b, u0:u1]
        for j in range(n):  # one gate a loop, as in the forward (a loop storing to all
            d_h[j] = dhb[j] + gyb[j]  # of them compiles to scalar code, ~4x slower)
        for j in range(n):
            d_c[j] += d_h[j] * o[j] * (1 - tb[j] * tb[j])
        for j in range(n):
            di[j] = d_c[j] * g[j] * i[j] * (1 - i[j])
        for j in range(n):
            df[j] = d_c[j] * cp[j] * f[j] * (1 - f[j])
        for j in range(n):
            dg[j] = d_c[j] * i[j] * (1 - g[j] * g[j])
        for j in range(n):
            do[j] = d_h[j] * tb[j] * o[j] * (1 - o[j])
        for j in range(n):
            d_c[j] *= f[j]


def sequence_usable(H: int) -> bool:
    """True when a whole LSTM sequence can run as one compiled loop (lstm_forward_sequence,
    lstm_backward_sequence): ember's own matrix product is there with more than one core
    (see gemm.threads), and the hidden size is a whole number of its panels (each core then
    takes whole panels of every gate)."""
    return gemm.AVAILABLE and kernels.state.fast and H % gemm.NR == 0 and gemm.threads() > 1


if gemm.AVAILABLE:
    from numba import prange

    _pjit = numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy", fastmath=_FAST)

    @_inline
    def _add_gate_sums(d, gb, H, u0, u1):
        """gb[k H + u] += the sum over d's rows of d[:, k H + u], for the units u0 <= u < u1
        of each gate k: a step's rows summed in float32 first (a row at a time, the form
        that vectorises), then added to gb."""
        n = u1 - u0
        step = np.zeros(4 * n, np.float32)
        for b in range(d.shape[0]):
            row = d[b]
            for k in range(4):
                part, total = row[k * H + u0 : k * H + u1], step[k * n : (k + 1) * n]
                for j in range(n):
                    total[j] += part[j]
        for k in range(4):
            total = gb[k * H + u0 : k * H + u1]
            for j in range(n):
                total[j] += step[k * n + j]

    @_pjit
    def lstm_forward_sequence(x, w_in, bias, h0, c0, w, gates, c_all, tanh_c, y, reverse, parts):
        """The forward of a whole sequence (see LSTMLayer): x (T, N, I), w_in = W_ih^T and
        w = W_hh^T packed by gemm.pack, bias (1, 4H) = b_ih + b_hh; writes the gates i, f,
        g, o into gates (T, N, 4H). At each step each core takes a share of the hidden
        units: it computes x_t W_ih^T + h_{t-1} W_hh^T for the columns of its units in all
        four gates, straight into gates[t], then runs their gate math on what it has just
        written (still in its cache), so a core reads only what it computed."""
        T, N, G = gates.shape
        H = G // 4
        for s in range(T):
            t = T - 1 - s if reverse else s
            before = t + 1 if reverse else t - 1
            for p in prange(parts):
                u0, u1 = gemm._cut(H, parts, gemm.NR, p)
                if u0 < u1:
                    h = h0 if s == 0 else y[before]
                    c_prev = c0 if s == 0 else c_all[before]
                    a = gates[t]
                    for k in range(4):
                        gemm._gemm_packed_serial(x[t], w_in, a, 0, N, k * H + u0, k * H + u1, False)
                        gemm._gemm_packed_serial(h, w, a, 0, N, k * H + u0, k * H + u1, True)
                    lstm_forward_step(a, bias, c_prev, c_all[t], tanh_c[t], y[t], u0, u1)

    @_pjit
    def lstm_backward_sequence(
        a, tanh_c, c_all, c0, gy, dh, dc, dgates, gb, w, gx, w_in, reverse, parts
    ):
        """The steps back through time (see LSTMLayer.backward), w = W_hh packed by
        gemm.pack: at each step a core first finishes dh of its hidden units from the step
        before (dgates_{t+1} @ W_hh, its columns), then runs their gate math and adds its
        gates' gradients, summed over the batch, into gb (4H,) (the biases' gradient).
        With gx (T, N, I) not empty, each core also computes its share of the rows of the
        step before's input gradient, gx_{t+1} = dgates_{t+1} @ W_ih (w_in: W_ih packed),
        while those gates are still in the caches."""
        T, N, G = a.shape
        H = G // 4
        I = gx.shape[2]
        for s in range(T):
            t = s if reverse else T - 1 - s
            later = t - 1 if reverse else t + 1  # the step done just before this one
            before = t + 1 if reverse else t - 1
            for p in prange(parts):
                u0, u1 = gemm._cut(H, parts, gemm.NR, p)
                if s > 0 and I > 0:
                    r0, r1 = gemm._cut(N, parts, 1, p)
                    if r0 < r1:
                        gemm._gemm_packed_serial(dgates[later], w_in, gx[later], r0, r1, 0, I,
                                                 False)  # fmt: skip
                if u0 < u1:
                    if s > 0:
                        gemm._gemm_packed_serial(dgates[later], w, dh, 0, N, u0, u1, False)
                    c_prev = c0 if s == T - 1 else c_all[before]
                    d = dgates[t]
                    lstm_backward_step(a[t], tanh_c[t], c_prev, gy[t], dh, dc, d, u0, u1)
                    _add_gate_sums(d, gb, H, u0, u1)
        last = T - 1 if reverse else 0
        for p in prange(parts):
            u0, u1 = gemm._cut(H, parts, gemm.NR, p)
            if u0 < u1:
                gemm._gemm_packed_serial(dgates[last], w, dh, 0, N, u0, u1, False)
            r0, r1 = gemm._cut(N, parts, 1, p)
            if I > 0 and r0 < r1:
                gemm._gemm_packed_serial(dgates[last], w_in, gx[last], r0, r1, 0, I, False)


# ---------------------------------------------------------------- GRU
@_jit
def gru_forward_step(a, hw, h_prev, y):
    """a: (N, 3H) the input's projection (+ b_ih), replaced by the gates r, z, n;
    hw: (N, 3H) h_{t-1} W_hh^T + b_hh; writes h_t = n + z * (h_{t-1} - n)."""
    N, H = y.shape
    for b in range(N):
        ab, hb = a[b], hw[b]
        r, z, n = ab[:H], ab[H : 2 * H], ab[2 * H :]
        hr, hz, hn = hb[:H], hb[H : 2 * H], hb[2 * H :]
        for j in range(H):
            r[j] = _sigmoid(r[j] + hr[j])
        for j in range(H):
            z[j] = _sigmoid(z[j] + hz[j])
        for j in range(H):
            n[j] = _tanh(n[j] + r[j] * hn[j])
        hp, yb = h_prev[b], y[b]
        for j in range(H):
            yb[j] = n[j] + z[j] * (hp[j] - n[j])


@_jit
def gru_backward_step(a, hw, h_prev, gy, dh, dgx, dgh):
    """One step back: from dh (the gradient of h_t from the next step) and gy (from the
    output), writes the gradients of the input's projection (dgx) and of h_{t-1} W_hh^T
    + b_hh (dgh), each (N, 3H), and the direct part of dh_{t-1} (dh * z) into dh. The
    caller then adds dgh @ W_hh to dh."""
    N, H = dh.shape
    for b in range(N):
        ab, xb, hb = a[b], dgx[b], dgh[b]
        r, z, n, hn = ab[:H], ab[H : 2 * H], ab[2 * H :], hw[b, 2 * H :]
        xr, xz, xn = xb[:H], xb[H : 2 * H], xb[2 * H :]
        hr, hz, hnn = hb[:H], hb[H : 2 * H], hb[2 * H :]
        hp, gyb, dhb = h_prev[b], gy[b], dh[b]
        for j in range(H):
            d_h = dhb[j] + gyb[j]
            dn = d_h * (1 - z[j]) * (1 - n[j] * n[j])
            dz = d_h * (hp[j] - n[j]) * z[j] * (1 - z[j])
            dr = dn * hn[j] * r[j] * (1 - r[j])
            xr[j] = dr
            xz[j] = dz
            xn[j] = dn
            hr[j] = dr
            hz[j] = dz
            hnn[j] = dn * r[j]
            dhb[j] = d_h * z[j]
