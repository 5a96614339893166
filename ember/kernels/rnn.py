"""Fused kernels of one LSTM or GRU time step: the gate math between the step's two matrix
products, in one pass over the (N, G * H) row of gates.

The NumPy version of a step (in ``ember.ops.rnn``) is about ten whole-array calls, each
reading and writing the gates again; here each element is read once. The step kernels are
single-threaded (``nogil``); the matrix products around them are called from Python.

Where ember's own matrix product runs (``ember.kernels.gemm``: AVX-512) on more than one
core, a whole LSTM direction runs as compiled loops instead (``lstm_forward_sequence``,
``lstm_backward_sequence``, then ``lstm_weight_grads``), its states held transposed, in
panels of 32 batch lanes (see "LSTM, a whole sequence" below): at each step each core
computes the gates of its share of the hidden units as one product, its rows of the
packed [W_ih | W_hh] times [x_t ; h_{t-1}], and runs their gate math on what it has just
written, so no Python runs between steps. The backward sums the biases' gradient as it
goes; the weights' and the input's gradients follow, a few steps at a time.

The kernels are numba functions compiled at their first call (``cache=True``). The forward
kernels take float32 only: their sigmoid and tanh come from an exp computed in float32 by
a polynomial (sigmoid and tanh within ~5 ulp of the exact values over float32's range,
measured), so the loops vectorise 16 lanes wide, where numba's libm tanh costs ~40 ns an
element. float64 runs the NumPy path. The backward step kernels have no transcendental
functions and take both dtypes; the whole-sequence loops take float32. ``usable`` says
whether an array can go through them; when numba is missing, nothing can, and
``ember.ops.rnn`` runs its NumPy loop.
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
# The loops run over slices of one gate from index 0, one gate at a time: that is the form
# LLVM vectorises (an offset range, or stores to several gates in one loop, compile to
# scalar code, ~7x slower). The per-step kernels run them along a row of the gates, the
# whole-sequence loops (below) along a run of batch lanes.
@_inline
def _cells(i, f, g, o, ai, af, ag, ao, c_prev, c, tanh_c, h, n):
    """One step of LSTM cells on n elements: the gates' pre-activations i, f, g, o (plus
    the addends ai, af, ag, ao) replaced by the gates; writes c_t, tanh(c_t), h_t."""
    for j in range(n):
        i[j] = _sigmoid(i[j] + ai[j])
    for j in range(n):
        f[j] = _sigmoid(f[j] + af[j])
    for j in range(n):
        g[j] = _tanh(g[j] + ag[j])
    for j in range(n):
        o[j] = _sigmoid(o[j] + ao[j])
    for j in range(n):
        c[j] = f[j] * c_prev[j] + i[j] * g[j]
    for j in range(n):
        tanh_c[j] = _tanh(c[j])
    for j in range(n):
        h[j] = o[j] * tanh_c[j]


@_inline
def _cell_grads(i, f, g, o, tanh_c, c_prev, gy, dh, dc, di, df, dg, do, n):
    """One step back through n cells: dh (the gradient of h_t from the step after) gets gy
    (from the output) added; writes the gates' gradients (before their nonlinearities) into
    di, df, dg, do and replaces dc by dc_{t-1}."""
    for j in range(n):
        dh[j] += gy[j]
    for j in range(n):
        dc[j] += dh[j] * o[j] * (_ONE - tanh_c[j] * tanh_c[j])
    for j in range(n):
        di[j] = dc[j] * g[j] * i[j] * (_ONE - i[j])
    for j in range(n):
        df[j] = dc[j] * c_prev[j] * f[j] * (_ONE - f[j])
    for j in range(n):
        dg[j] = dc[j] * i[j] * (_ONE - g[j] * g[j])
    for j in range(n):
        do[j] = dh[j] * tanh_c[j] * o[j] * (_ONE - o[j])
    for j in range(n):
        dc[j] *= f[j]


@_jit
def lstm_forward_step(a, hw, c_prev, c, tanh_c, y):
    """a: (N, 4H) the input's projection (+ biases), replaced by the gates i, f, g, o;
    hw: (N, 4H) h_{t-1} W_hh^T; writes c_t, tanh(c_t) and h_t = o * tanh(c_t)."""
    N, H = c.shape
    for b in range(N):
        ab, hb = a[b], hw[b]
        _cells(ab[:H], ab[H : 2 * H], ab[2 * H : 3 * H], ab[3 * H :], hb[:H], hb[H : 2 * H],
               hb[2 * H : 3 * H], hb[3 * H :], c_prev[b], c[b], tanh_c[b], y[b], H)  # fmt: skip


@_jit
def lstm_backward_step(a, tanh_c, c_prev, gy, dh, dc, dgates):
    """One step back from the gates a (N, 4H) with dh (the gradient of h_t from the next
    step) and gy (from the output): writes the gates' gradients (before their
    nonlinearities) into dgates (N, 4H) and dc_{t-1} into dc; dh is left holding dh + gy.
    The caller then sets dh = dgates @ W_hh."""
    N, H = dh.shape
    for b in range(N):
        ab, db = a[b], dgates[b]
        _cell_grads(ab[:H], ab[H : 2 * H], ab[2 * H : 3 * H], ab[3 * H :], tanh_c[b],
                    c_prev[b], gy[b], dh[b], dc[b], db[:H], db[H : 2 * H],
                    db[2 * H : 3 * H], db[3 * H :], H)  # fmt: skip


def sequence_usable(H: int) -> bool:
    """True when a whole LSTM sequence can run as compiled loops (lstm_forward_sequence,
    lstm_backward_sequence, lstm_weight_grads): ember's own matrix product is there, with
    more than one core (see gemm.threads: a forked child, which has one, must not start a
    parallel loop)."""
    return gemm.AVAILABLE and kernels.state.fast and H > 0 and gemm.threads() > 1


# ---------------------------------------------------------------- LSTM, a whole sequence
# The compiled loops hold a step's matrices transposed, features by batch, in panels of
# gemm.NR batch columns: an (N, R) matrix M is held as P (Q, R, NR), Q = ceil(N / NR),
# P[q, r, c] = M[q NR + c, r] (zeros past the batch). A panel is what ember's matrix
# product takes as its packed right operand, so a step's product reads the states as the
# step before wrote them, and the gate math runs along contiguous rows of batch lanes.
#
# Each core takes the same share u0:u1 of the hidden units at every step, and the 4H rows
# of the gates are held in "block order": core p's rows are 4 u0 .. 4 u1, its units' gate
# i, then f, g, o (gate k of unit u at row 4 u0 + k (u1 - u0) + u - u0; gate_order gives
# the gate row k H + u of each). A step's gates are then, for each core, one product of its
# rows of [W_ih | W_hh] (packed once, per core) with the panel [x_t ; h_{t-1}], and its gate
# math reads four contiguous runs it has just written.
if gemm.AVAILABLE:
    from numba import prange

    _pjit = numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy", fastmath=_FAST)
    _NR, _MR = gemm.NR, gemm.MR

    @_jit
    def to_panels(m, p, r0):
        """p[q, r0 + r, c] = m[q NR + c, r] for an (N, R) matrix m (any strides)."""
        N, R = m.shape
        for q in range(p.shape[0]):
            for c in range(min(_NR, N - q * _NR)):
                row = m[q * _NR + c]
                for r in range(R):
                    p[q, r0 + r, c] = row[r]

    @_jit
    def from_panels(p, m):
        """The inverse of to_panels (r0 = 0): m (N, R) from its panels p (Q, R, NR)."""
        N, R = m.shape
        for q in range(p.shape[0]):
            for c in range(min(_NR, N - q * _NR)):
                row = m[q * _NR + c]
                for r in range(R):
                    row[r] = p[q, r, c]

    @_jit
    def _units(H, parts, p):
        """The hidden units u0:u1 that core p of `parts` takes."""
        return gemm._cut(H, parts, 1, p)

    @_jit
    def _panels_before(H, parts, p, per_unit):
        """Panels of MR rows packed before core p's, for per_unit rows a unit (each core's
        rows start a panel)."""
        tiles = 0
        for k in range(p):
            u0, u1 = _units(H, parts, k)
            tiles += (per_unit * (u1 - u0) + _MR - 1) // _MR
        return tiles

    @_jit
    def gate_order(H, parts):
        """The gate row (k H + u) of each row of the block order."""
        rows = np.empty(4 * H, np.intp)
        for p in range(parts):
            u0, u1 = _units(H, parts, p)
            n = u1 - u0
            for k in range(4):
                for j in range(n):
                    rows[4 * u0 + k * n + j] = k * H + u0 + j
        return rows

    @_pjit
    def pack_forward_weights(w_ih, w_hh, order, parts):
        """Each core's rows of [W_ih | W_hh] (4H, I + H), in block order, in panels of MR
        rows: a panel's column j is its MR rows' elements j, consecutive (the layout of
        gemm's micro-kernel; rows past the core's are zeros). Each core packs its own."""
        G, I = w_ih.shape
        H = G // 4
        K = I + H
        out = np.empty(_panels_before(H, parts, parts, 4) * _MR * K, np.float32)
        for p in prange(parts):
            u0, u1 = _units(H, parts, p)
            start = _panels_before(H, parts, p, 4) * _MR * K
            rows = 4 * (u1 - u0)
            for tile in range((rows + _MR - 1) // _MR):
                at = start + tile * _MR * K
                for r in range(_MR):
                    if tile * _MR + r < rows:
                        src = order[4 * u0 + tile * _MR + r]
                        a, b = w_ih[src], w_hh[src]
                        for j in range(I):
                            out[at + j * _MR + r] = a[j]
                        for j in range(H):
                            out[at + (I + j) * _MR + r] = b[j]
                    else:
                        for j in range(K):
                            out[at + j * _MR + r] = 0
        return out

    @_pjit
    def pack_backward_weights(w_hh, order, parts):
        """Each core's rows u0:u1 of W_hh^T (H, 4H), its columns in block order, packed as
        in pack_forward_weights: the left operand of dh = W_hh^T times the gates'
        gradients."""
        G, H = w_hh.shape
        out = np.empty(_panels_before(H, parts, parts, 1) * _MR * G, np.float32)
        for p in prange(parts):
            u0, u1 = _units(H, parts, p)
            start = _panels_before(H, parts, p, 1) * _MR * G
            for tile in range((u1 - u0 + _MR - 1) // _MR):
                at = start + tile * _MR * G
                lo = u0 + tile * _MR
                for col in range(G):
                    row = w_hh[order[col]]
                    for r in range(_MR):
                        out[at + col * _MR + r] = row[lo + r] if lo + r < u1 else 0
        return out

    @_jit
    def _rows_product(a, k, b, c, r0, rows):
        """Rows r0:r0 + rows of the panel c (R, NR) = the packed rows at address a (panels
        of MR rows, depth k: pack_forward_weights' layout) times the panel b (k, NR)."""
        b_at, c_at = b.ctypes.data, c.ctypes.data + 4 * r0 * _NR
        for r in range(0, rows, _MR):
            gemm._micro(k, a + 4 * r * k, 1, _MR, b_at, c_at + 4 * r * _NR, _NR, 0,
                        min(_MR, rows - r))  # fmt: skip

    @_jit
    def _forward_cells(g, bias, c_prev, c, tc, hx, Q, H, K, I, u0, u1):
        """The gate math of one step for the units u0:u1, every batch panel, on flat views:
        g (Q 4H NR) the step's products, replaced by the gates; bias (4H NR) in lanes;
        writes c_t, tanh(c_t) (Q H NR) and h_t into hx's rows I + u (Q K NR: the next
        step's right operand)."""
        n = (u1 - u0) * _NR
        b = 4 * u0 * _NR
        bi, bf = bias[b : b + n], bias[b + n : b + 2 * n]
        bg, bo = bias[b + 2 * n : b + 3 * n], bias[b + 3 * n : b + 4 * n]
        for q in range(Q):
            at = (q * 4 * H + 4 * u0) * _NR
            i, f = g[at : at + n], g[at + n : at + 2 * n]
            gg, o = g[at + 2 * n : at + 3 * n], g[at + 3 * n : at + 4 * n]
            at = (q * H + u0) * _NR
            h = hx[(q * K + I + u0) * _NR :]
            _cells(i, f, gg, o, bi, bf, bg, bo, c_prev[at:], c[at:], tc[at:], h, n)

    @_pjit
    def lstm_forward_sequence(x, w, bias, c0, xh, gates, c_all, tanh_c, y, reverse, parts):
        """The forward of a whole sequence (see LSTMLayer): x (T, N, I); w from
        pack_forward_weights; bias (4H NR,) b_ih + b_hh in block order, each repeated for
        the NR lanes; c0 (Q, H, NR) and the gates (T, Q, 4H, NR), c_all, tanh_c (T, Q, H,
        NR) in panels; xh (T + 1, Q, I + H, NR) zeros but for h0's panels in xh[0]'s rows
        I:; writes y (T, N, H). At step s (time t) each core computes its rows of the gates,
        its rows of w times xh[s] (x_t and h_{t-1}), then their gate math, which writes its
        units of h_t into xh[s + 1]."""
        T, Q, G, _ = gates.shape
        H = G // 4
        I = x.shape[2]
        K = I + H
        for s in prange(T):  # the input's rows of every step's right operand
            k = np.intp(s)  # (prange's index is unsigned)
            to_panels(x[T - 1 - k if reverse else k], xh[k], 0)
        for s in range(T):
            t = T - 1 - s if reverse else s
            for p in prange(parts):
                u0, u1 = _units(H, parts, p)
                rows = 4 * (u1 - u0)
                if rows > 0:
                    a = w.ctypes.data + 4 * _panels_before(H, parts, p, 4) * _MR * K
                    g = gates[t]
                    for q in range(Q):
                        _rows_product(a, K, xh[s, q], g[q], 4 * u0, rows)
                    c_prev = c0 if s == 0 else c_all[t + 1 if reverse else t - 1]
                    _forward_cells(g.reshape(-1), bias, c_prev.reshape(-1), c_all[t].reshape(-1),
                                   tanh_c[t].reshape(-1), xh[s + 1].reshape(-1), Q, H, K, I,
                                   u0, u1)  # fmt: skip
        for s in prange(T):  # y from the h_t rows of the right operands
            k = np.intp(s)
            from_panels(xh[k + 1, :, I:], y[T - 1 - k if reverse else k])

    @_jit
    def _backward_cells(a, tc, c_prev, gy, dh, dc, d, gb, Q, H, N, u0, u1):
        """One step back for the units u0:u1, every batch panel, on flat views (block order,
        as _forward_cells), from dh (the gradient of h_t from the step after) and gy (from
        the output): writes the gates' gradients (before their nonlinearities) into d (Q 4H
        NR) with zeros in the lanes past the batch, adds them into gb (4H NR), and
        replaces dc by dc_{t-1}."""
        n = (u1 - u0) * _NR
        last = N - (Q - 1) * _NR  # the lanes of the last panel
        for q in range(Q):
            at = (q * 4 * H + 4 * u0) * _NR
            i, f = a[at : at + n], a[at + n : at + 2 * n]
            g, o = a[at + 2 * n : at + 3 * n], a[at + 3 * n : at + 4 * n]
            di, df = d[at : at + n], d[at + n : at + 2 * n]
            dg, do = d[at + 2 * n : at + 3 * n], d[at + 3 * n : at + 4 * n]
            at = (q * H + u0) * _NR
            _cell_grads(i, f, g, o, tc[at:], c_prev[at:], gy[at:], dh[at:], dc[at:], di, df, dg,
                        do, n)  # fmt: skip
            at = (q * 4 * H + 4 * u0) * _NR
            if q == Q - 1 and last < _NR:
                for r in range(4 * (u1 - u0)):
                    d[at + r * _NR + last : at + (r + 1) * _NR] = 0
            sums, rows = gb[4 * u0 * _NR :], d[at : at + 4 * n]
            for j in range(4 * n):  # (in float32, lane by lane: in float64, 3x slower)
                sums[j] += rows[j]

    @_jit
    def _dh_product(w, d, dh, H, parts, p, u0, u1):
        """dh's units u0:u1 (core p's) = W_hh^T (w: pack_backward_weights) times the gates'
        gradients d (Q, 4H, NR), every batch panel."""
        G = 4 * H
        a = w.ctypes.data + 4 * _panels_before(H, parts, p, 1) * _MR * G
        for q in range(d.shape[0]):
            _rows_product(a, G, d[q], dh[q], u0, u1 - u0)

    @_pjit
    def lstm_backward_sequence(a, tanh_c, c_all, c0, gy, dh, dc, d, gb, w, reverse, parts):
        """The steps back through time (see LSTMLayer.backward), on the forward's panels
        (the gates a in block order, c_all, tanh_c, c0); gy (T, N, H); dh, dc (Q, H, NR) the
        gradients of h_n and c_n, replaced by those of h0 and c0; w from
        pack_backward_weights. Writes every step's gate gradients into d (T, Q, 4H, NR),
        block order, and their sums over the batch into gb (4H NR,). At each step each core
        computes its units' rows of dh (W_hh^T times the gate gradients of the step done
        before), then their gate math."""
        T, Q, G, _ = a.shape
        H = G // 4
        N = gy.shape[1]
        gyp = np.zeros((T, Q, H, _NR), np.float32)
        for s in prange(T):
            k = np.intp(s)
            to_panels(gy[k], gyp[k], 0)
        for s in range(T):
            t = s if reverse else T - 1 - s
            for p in prange(parts):
                u0, u1 = _units(H, parts, p)
                if u0 < u1:
                    if s > 0:
                        _dh_product(w, d[t - 1 if reverse else t + 1], dh, H, parts, p, u0, u1)
                    c_prev = c0 if s == T - 1 else c_all[t + 1 if reverse else t - 1]
                    _backward_cells(a[t].reshape(-1), tanh_c[t].reshape(-1), c_prev.reshape(-1),
                                    gyp[t].reshape(-1), dh.reshape(-1), dc.reshape(-1),
                                    d[t].reshape(-1), gb, Q, H, N, u0, u1)  # fmt: skip
        for p in prange(parts):
            u0, u1 = _units(H, parts, p)
            if u0 < u1:
                _dh_product(w, d[T - 1 if reverse else 0], dh, H, parts, p, u0, u1)

    @_pjit
    def lstm_weight_grads(d, x, y, h0, w_ih, order, gw_ih, gw_hh, gx, reverse, parts):
        """The gradients of W_ih, W_hh (gate order, into gw_ih, gw_hh) and, when gx (T N, I)
        has rows, of the input, from every step's gate gradients d (T, Q, 4H, NR) (block
        order): x (T N, I) and y (T N, H) with contiguous rows, w_ih: W_ih's rows in block
        order, packed by gemm._pack_all. A few steps at a time, each core copies its rows
        of their gate gradients into a (4H, steps N) buffer, in the order of x's rows, and
        adds their products with x's and h_{t-1}'s rows into its rows of the weights'
        gradients; then the cores share out the rows of the input's gradient."""
        T, Q, G, _ = d.shape
        H = G // 4
        N, I = x.shape[0] // T, x.shape[1]
        steps = max(1, gemm.KC // N)
        buf = np.empty((G, steps * N), np.float32)
        wi, wh = np.empty((G, I), np.float32), np.empty((G, H), np.float32)
        # the step whose h_{t-1} is h0 alone, then runs of steps whose h_{t-1} are rows of y
        chunks = 1 + (T - 1 + steps - 1) // steps
        for ch in range(chunks):
            if ch == 0:
                t0 = T - 1 if reverse else 0
                t1 = t0 + 1
            else:
                t0 = (ch - 1) * steps + (0 if reverse else 1)
                t1 = min(t0 + steps, T - 1 if reverse else T)
            m = (t1 - t0) * N
            lag = N if reverse else -N
            h = h0 if ch == 0 else y[t0 * N + lag : t1 * N + lag]
            for p in prange(parts):
                u0, u1 = _units(H, parts, p)
                r0, r1 = 4 * u0, 4 * u1
                for t in range(t0, t1):
                    for q in range(Q):
                        lanes = min(_NR, N - q * _NR)
                        for r in range(r0, r1):
                            src, to = d[t, q, r], buf[r, (t - t0) * N + q * _NR :]
                            for j in range(lanes):
                                to[j] = src[j]
                if r0 < r1:
                    gemm._gemm_serial(buf[:, :m], x[t0 * N : t1 * N], wi, r0, r1, 0, I, ch > 0)
                    gemm._gemm_serial(buf[:, :m], h, wh, r0, r1, 0, H, ch > 0)
            if gx.shape[0] > 0:
                for p in prange(parts):
                    i0, i1 = gemm._cut(m, parts, _MR, p)
                    if i0 < i1:
                        gemm._gemm_packed_serial(buf[:, :m].T, w_ih, gx[t0 * N : t1 * N], i0, i1,
                                                 0, I, False)  # fmt: skip
        for p in prange(parts):
            u0, u1 = _units(H, parts, p)
            for r in range(4 * u0, 4 * u1):
                gw_ih[order[r]] = wi[r]
                gw_hh[order[r]] = wh[r]


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
