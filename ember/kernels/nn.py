"""Fused kernels of the transformer and MLP layers: exact GELU and erf, layer norm, softmax
with cross-entropy, the ReLU gradient.

Each kernel is a numba function compiled at its first call (``cache=True``) and
single-threaded (``nogil``, no thread pool of its own: the cores are left to the matrix
products around these kernels). Each has a NumPy fallback that runs
when numba is missing. The functions named without a leading underscore take and return
NumPy arrays and choose between the two; the ops in ``ember.ops`` call them only for
float32 and float64 NumPy arrays.

erf in float32 is a polynomial evaluated in float64 (its error, below 1e-9, is far under
float32's rounding), so that the loop vectorises: the libm ``erf`` that numba would call
otherwise costs ~20 ns an element, 100 times PyTorch's GELU. float64 uses ``math.erf``.
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
else:  # the NumPy fallbacks run; the loops below are never called

    def _jit(fn):
        return fn

    _inline = _jit


# inf and nan go through silently, as in PyTorch (the NumPy fallbacks would warn)
_quiet = np.errstate(all="ignore")

_SQRT1_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_LOG2E = 1 / math.log(2)
_LN2 = math.log(2)

# erf(x) / x as a polynomial in x^2 on |x| <= 1 (relative error < 2e-9), and
# erfc(x) exp(x^2) as a polynomial in t = 1 / (1 + x / 2) on 1 <= x <= 10 (< 4e-10): least
# squares fits on Chebyshev nodes against math.erf / math.erfc (see tests/test_kernels_nn.py).
_ERF_P = (
    1.1283791658815019, -0.3761262690358025, 0.11283597463486109, -0.026854328795984497,
    0.005189311942515533, -0.0008018854991130393, 7.882497104106166e-05,
)  # fmt: skip
_ERFC_Q = (
    1.2430692788167885e-06, 0.282055272460306, 0.2826446612302727, 0.24243896697824036,
    0.19848990184879883, 0.010892346039843145, 0.14793060368660332, -0.23688006068151254,
    0.005245088484577761, 0.1105586087931825, -0.04347645566506372,
)  # fmt: skip
_P0, _P1, _P2, _P3, _P4, _P5, _P6 = _ERF_P
_Q0, _Q1, _Q2, _Q3, _Q4, _Q5, _Q6, _Q7, _Q8, _Q9, _Q10 = _ERFC_Q


# ---------------------------------------------------------------- erf and the normal CDF
@_inline
def _exp_neg(s):
    """exp(-s) for 0 <= s <= 700 (float64, relative error ~1e-9): 2^-n times a Taylor
    polynomial on the remainder, with 2^-n made from its bits, so the loop vectorises."""
    n = math.floor(s * _LOG2E + 0.5)
    r = n * _LN2 - s  # |r| <= ln(2) / 2
    p = 1.0 + r * (1.0 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (
        1 / 720 + r * (1 / 5040 + r * (1 / 40320))))))))  # fmt: skip
    return p * np.int64((1023 - np.int64(n)) << 52).view(np.float64)


@_inline
def _erf_parts(u):
    """For float64 ``u``: (erf(u) where |u| < 1 else erfc(|u|), exp(-u^2))."""
    u2 = u * u
    e = _exp_neg(min(u2, 700.0))
    small = u * (_P0 + u2 * (_P1 + u2 * (_P2 + u2 * (_P3 + u2 * (_P4 + u2 * (_P5 + u2 * _P6))))))
    t = 1.0 / (1.0 + 0.5 * abs(u))
    q = _Q0 + t * (_Q1 + t * (_Q2 + t * (_Q3 + t * (_Q4 + t * (_Q5 + t * (_Q6 + t * (
        _Q7 + t * (_Q8 + t * (_Q9 + t * _Q10)))))))))  # fmt: skip
    return (small if u2 < 1.0 else e * q), e


@_inline
def _cdf_pdf(v):
    """The standard normal CDF and density at float64 ``v``."""
    u = v * _SQRT1_2
    r, e = _erf_parts(u)
    # 0.5 * erfc(-u), without the cancellation of 1 + erf(u) for u << 0
    cdf = 0.5 + 0.5 * r if u * u < 1.0 else (1.0 - 0.5 * r if u > 0 else 0.5 * r)
    return cdf, e * _INV_SQRT_2PI


@_jit
def _erf_loop32(x, y):
    for i in range(x.size):
        u = np.float64(x[i])
        r, _ = _erf_parts(u)
        r = r if u * u < 1.0 else math.copysign(1.0 - r, u)
        y[i] = u if math.isnan(u) else r


@_jit
def _erf_loop64(x, y):
    for i in range(x.size):
        y[i] = math.erf(x[i])


@_jit
def _gelu_loop32(x, y):
    for i in range(x.size):
        v = np.float64(x[i])
        cdf, _ = _cdf_pdf(v)
        y[i] = v * cdf


@_jit
def _gelu_loop64(x, y):
    for i in range(x.size):
        v = x[i]
        y[i] = 0.5 * v * (1.0 + math.erf(v * _SQRT1_2))


@_jit
def _gelu_backward_loop32(gy, x, gx):
    for i in range(x.size):
        v = np.float64(x[i])
        cdf, pdf = _cdf_pdf(v)
        gx[i] = gy[i] * (cdf + v * pdf)


@_jit
def _gelu_backward_loop64(gy, x, gx):
    for i in range(x.size):
        v = x[i]
        cdf = 0.5 * (1.0 + math.erf(v * _SQRT1_2))
        gx[i] = gy[i] * (cdf + v * math.exp(-0.5 * v * v) * _INV_SQRT_2PI)


def _flat(a):
    return np.ascontiguousarray(a).reshape(-1)


def _erf_numpy(x, scale=1.0):
    """The same polynomials as the numba loop, as NumPy array ops in float64, at x * scale."""
    u = x.astype(np.float64) * scale
    u2 = u * u
    small = np.polyval(_ERF_P[::-1], u2) * u
    a = np.abs(u)
    t = 1 / (1 + 0.5 * a)
    big = np.polyval(_ERFC_Q[::-1], t) * np.exp(-u2)
    return u2, small, big


@_quiet
def erf(x):
    """erf of a float32 or float64 array, elementwise."""
    y = np.empty(x.shape, x.dtype)
    if kernels.HAVE_NUMBA:
        (_erf_loop32 if x.dtype == np.float32 else _erf_loop64)(_flat(x), y.reshape(-1))
        return y
    if x.dtype == np.float64:  # exact: the reference erf
        from ember.ops.elementwise import _erf_array

        return _erf_array(x)
    u2, small, big = _erf_numpy(x)
    np.copyto(y, np.where(u2 < 1, small, np.copysign(1 - big, x)), casting="unsafe")
    return y


@_quiet
def gelu(x):
    """Exact GELU ``x * Phi(x)`` of a float32 or float64 array."""
    y = np.empty(x.shape, x.dtype)
    if kernels.HAVE_NUMBA:
        (_gelu_loop32 if x.dtype == np.float32 else _gelu_loop64)(_flat(x), y.reshape(-1))
        return y
    cdf, _ = _cdf_pdf_numpy(x)
    np.multiply(x, cdf, out=y, casting="unsafe")
    return y


@_quiet
def gelu_backward(gy, x):
    """The gradient of exact GELU: ``gy * (Phi(x) + x * phi(x))``."""
    gx = np.empty(x.shape, x.dtype)
    if kernels.HAVE_NUMBA:
        loop = _gelu_backward_loop32 if x.dtype == np.float32 else _gelu_backward_loop64
        loop(_flat(np.broadcast_to(gy, x.shape)), _flat(x), gx.reshape(-1))
        return gx
    cdf, pdf = _cdf_pdf_numpy(x)
    pdf *= x
    pdf += cdf
    np.multiply(gy, pdf, out=gx, casting="unsafe")
    return gx


def _cdf_pdf_numpy(x):
    if x.dtype == np.float64:  # exact, through the reference erf
        from ember.ops.elementwise import _erf_array

        cdf = 0.5 * (1 + _erf_array(x * _SQRT1_2))
        return cdf, np.exp(-0.5 * x * x) * _INV_SQRT_2PI
    u2, small, big = _erf_numpy(x, _SQRT1_2)
    cdf = np.where(u2 < 1, 0.5 + 0.5 * small, np.where(x > 0, 1 - 0.5 * big, 0.5 * big))
    return cdf, np.exp(-u2) * _INV_SQRT_2PI


# ---------------------------------------------------------------- softmax and cross-entropy
@_inline
def _exp_minus(s, exact):
    """exp(-s) for s >= 0 (s = inf gives 0): exact (libm) for float64 data, else the
    vectorising polynomial. ``exact`` is the same for the whole loop, so LLVM compiles the
    loop once for each value of it."""
    return math.exp(-s) if exact else _exp_neg(min(s, 700.0))


@_jit
def _softmax_rows(x, scale, causal, exact, y):
    """y[b, i] = softmax(scale * x[b, i]) over the last dim of 3-d x; with ``causal``, row
    i only over columns j <= i (the rest 0): a top-left causal mask."""
    nb, n, c = x.shape
    for b in range(nb):
        for i in range(n):
            end = min(i + 1, c) if causal else c
            mx = -np.inf
            for j in range(end):
                mx = max(mx, x[b, i, j])
            s = 0.0
            for j in range(end):
                e = _exp_minus(scale * (mx - x[b, i, j]), exact)
                y[b, i, j] = e
                s += e
            r = 1.0 / s
            for j in range(end):
                y[b, i, j] *= r
            for j in range(end, c):
                y[b, i, j] = 0.0


@_inline
def _logsumexp(row, exact):
    """log(sum(exp(row))) of a 1-d row, its max taken out first so nothing overflows."""
    mx = -np.inf
    for j in range(row.size):
        mx = max(mx, row[j])
    s = 0.0
    for j in range(row.size):
        s += _exp_minus(mx - row[j], exact)
    return mx + math.log(s)


@_jit
def _log_softmax_rows(x, exact, y):
    n, c = x.shape
    for i in range(n):
        lse = _logsumexp(x[i], exact)
        for j in range(c):
            y[i, j] = x[i, j] - lse


@_jit
def _softmax_backward_rows(gy, y, scale, gx):
    """gx = scale * y * (gy - sum(gy * y)) row by row (gx may be gy itself)."""
    n, c = y.shape
    for i in range(n):
        s = 0.0
        for j in range(c):
            s += gy[i, j] * y[i, j]
        for j in range(c):
            gx[i, j] = scale * y[i, j] * (gy[i, j] - s)


@_jit
def _cross_entropy_rows(x, t, ignore_index, exact, loss, lse):
    n = x.shape[0]
    for i in range(n):
        lse[i] = _logsumexp(x[i], exact)
        k = t[i]
        loss[i] = 0.0 if k == ignore_index else lse[i] - x[i, k]


@_jit
def _cross_entropy_backward_rows(x, t, lse, coef, ignore_index, exact, gx):
    """gx[i] = coef[i] * (softmax(x[i]) - onehot(t[i]))."""
    n, c = x.shape
    for i in range(n):
        ci = coef[i]
        m = lse[i]
        for j in range(c):
            gx[i, j] = ci * _exp_minus(m - x[i, j], exact)
        k = t[i]
        if k != ignore_index:
            gx[i, k] -= ci


def _rows(x):
    """x as a C-contiguous 2-d array of its rows (the last dim)."""
    return np.ascontiguousarray(x).reshape(-1, x.shape[-1])


@_quiet
def softmax_last(x, scale=1.0, causal=False, out=None):
    """softmax(scale * x) over the last dim; ``causal``: each row i of the last two dims
    over columns j <= i only. ``out`` may be x itself (then x is overwritten)."""
    y = np.empty(x.shape, x.dtype) if out is None else out
    if x.size == 0:
        return y
    if kernels.HAVE_NUMBA:
        L, S = x.shape[-2:] if x.ndim >= 2 else (1, x.shape[-1])
        x3 = np.ascontiguousarray(x).reshape(-1, L, S)
        _softmax_rows(x3, scale, causal, x.dtype == np.float64, y.reshape(x3.shape))
        return y
    if causal:
        L, S = x.shape[-2:]
        x = np.where(_causal_keep(L, S), x, -np.inf)
    x = x - x.max(axis=-1, keepdims=True)
    np.copyto(y, x)
    if scale != 1.0:
        y *= scale
    np.exp(y, out=y)
    y /= y.sum(axis=-1, keepdims=True)
    return y


_CAUSAL = {}


def _causal_keep(L, S):
    key = (L, S)
    keep = _CAUSAL.get(key)
    if keep is None:
        keep = _CAUSAL[key] = np.tril(np.ones((L, S), dtype=bool))
    return keep


@_quiet
def log_softmax_last(x):
    y = np.empty(x.shape, x.dtype)
    if x.size == 0:
        return y
    if kernels.HAVE_NUMBA:
        xr = _rows(x)
        _log_softmax_rows(xr, x.dtype == np.float64, y.reshape(xr.shape))
        return y
    np.subtract(x, x.max(axis=-1, keepdims=True), out=y)
    y -= np.log(np.exp(y).sum(axis=-1, keepdims=True))
    return y


@_quiet
def softmax_backward_last(gy, y, scale=1.0, out=None):
    """scale * y * (gy - sum(gy * y, -1)), the gradient of softmax(scale * x) at its
    output y. ``out`` may be gy (then gy is overwritten)."""
    gx = np.empty(y.shape, y.dtype) if out is None else out
    if y.size == 0:
        return gx
    if kernels.HAVE_NUMBA:
        yr = _rows(y)
        _softmax_backward_rows(_rows(gy), yr, scale, gx.reshape(yr.shape))
        return gx
    s = (gy * y).sum(axis=-1, keepdims=True)
    np.subtract(gy, s, out=gx)
    gx *= y
    if scale != 1.0:
        gx *= scale
    return gx


@_quiet
def cross_entropy(x, t, ignore_index):
    """Per-row loss ``logsumexp(x[i]) - x[i, t[i]]`` (0 where t[i] == ignore_index) of 2-d
    logits x, and the logsumexp of each row (for backward)."""
    n = x.shape[0]
    loss = np.empty(n, x.dtype)
    lse = np.empty(n, x.dtype)
    if kernels.HAVE_NUMBA:
        x = np.ascontiguousarray(x)
        _cross_entropy_rows(x, t, ignore_index, x.dtype == np.float64, loss, lse)
        return loss, lse
    mx = x.max(axis=1, keepdims=True)
    np.log(np.exp(x - mx).sum(axis=1, keepdims=True), out=lse[:, None])
    lse += mx[:, 0]
    valid = t != ignore_index
    picked = np.take_along_axis(x, np.where(valid, t, 0)[:, None], axis=1)[:, 0]
    np.subtract(lse, picked, out=loss)
    loss[~valid] = 0
    return loss, lse


@_quiet
def cross_entropy_backward(x, t, lse, coef, ignore_index):
    """``coef[i] * (softmax(x[i]) - onehot(t[i]))``; coef is 0 for ignored rows."""
    gx = np.empty(x.shape, x.dtype)
    coef = np.ascontiguousarray(coef, dtype=x.dtype)
    if kernels.HAVE_NUMBA:
        _cross_entropy_backward_rows(
            np.ascontiguousarray(x), t, lse, coef, ignore_index, x.dtype == np.float64, gx
        )
        return gx
    np.subtract(x, lse[:, None], out=gx)
    np.exp(gx, out=gx)
    valid = t != ignore_index
    rows = np.flatnonzero(valid)
    gx[rows, t[rows]] -= 1
    gx *= coef[:, None]
    return gx


# ---------------------------------------------------------------- layer norm
@_jit
def _layer_norm_rows(x, w, b, eps, y, mean, rstd):
    n, d = x.shape
    for i in range(n):
        s = 0.0
        for j in range(d):
            s += x[i, j]
        m = s / d
        v = 0.0
        for j in range(d):
            c = x[i, j] - m
            v += c * c
        r = 1.0 / math.sqrt(v / d + eps)
        mean[i] = m
        rstd[i] = r
        for j in range(d):
            y[i, j] = (x[i, j] - m) * r * w[j] + b[j]


@_jit
def _layer_norm_backward_rows(gy, x, mean, rstd, w, gx, gw, gb):
    n, d = x.shape
    for j in range(d):
        gw[j] = 0.0
        gb[j] = 0.0
    for i in range(n):
        m = mean[i]
        r = rstd[i]
        a = 0.0
        c = 0.0
        for j in range(d):
            xh = (x[i, j] - m) * r
            g = gy[i, j] * w[j]
            a += g
            c += g * xh
            gw[j] += gy[i, j] * xh
            gb[j] += gy[i, j]
        a /= d
        c /= d
        for j in range(d):
            xh = (x[i, j] - m) * r
            gx[i, j] = r * (gy[i, j] * w[j] - a - xh * c)


@_quiet
def layer_norm(x, w, b, eps):
    """Layer norm of the rows of 2-d x: (y, mean, rstd), with w, b of the row's length
    (None: 1 and 0)."""
    n, d = x.shape
    dt = x.dtype
    w = np.ones(d, dt) if w is None else w
    b = np.zeros(d, dt) if b is None else b
    y = np.empty((n, d), dt)
    mean, rstd = np.empty(n, dt), np.empty(n, dt)
    if kernels.HAVE_NUMBA:
        _layer_norm_rows(np.ascontiguousarray(x), w, b, eps, y, mean, rstd)
        return y, mean, rstd
    mu = x.mean(axis=1, keepdims=True)
    np.subtract(x, mu, out=y)
    var = np.square(y).mean(axis=1, keepdims=True)
    r = (1 / np.sqrt(var + eps)).astype(dt)
    y *= r
    y *= w
    y += b
    mean[:], rstd[:] = mu[:, 0], r[:, 0]
    return y, mean, rstd


@_quiet
def layer_norm_backward(gy, x, mean, rstd, w):
    """The gradients (gx, gw, gb) of layer_norm at 2-d x (w None: 1)."""
    n, d = x.shape
    dt = x.dtype
    w = np.ones(d, dt) if w is None else w
    gx = np.empty((n, d), dt)
    if kernels.HAVE_NUMBA:
        gw, gb = np.empty(d, np.float64), np.empty(d, np.float64)
        _layer_norm_backward_rows(
            np.ascontiguousarray(gy), np.ascontiguousarray(x), mean, rstd, w, gx, gw, gb
        )
        return gx, gw.astype(dt), gb.astype(dt)
    xhat = (x - mean[:, None]) * rstd[:, None]
    gb = gy.sum(axis=0)
    gw = (gy * xhat).sum(axis=0)
    g = gy * w
    c = (g * xhat).mean(axis=1, keepdims=True)
    np.subtract(g, g.mean(axis=1, keepdims=True), out=gx)
    xhat *= c
    gx -= xhat
    gx *= rstd[:, None]
    return gx, gw, gb


# ---------------------------------------------------------------- relu
@_jit
def _relu_loop(x, y):
    for i in range(x.size):
        v = x[i]
        y[i] = v if not v <= 0 else 0.0  # NaN goes through, as in PyTorch


def relu(x):
    """max(x, 0), NaN kept: one compiled pass, 4-7x faster here than NumPy's maximum (its
    reference, and the fallback without numba); a large array's shared between the cores."""
    if kernels.HAVE_NUMBA:
        y = np.empty(x.shape, x.dtype)
        flat, out = _flat(x), y.reshape(-1)
        parts = gemm.cores_for(flat.size, SHARE_ELEMENTS)
        if parts > 1:
            _relu_shared(flat, out, parts)
        else:
            _relu_loop(flat, out)
        return y
    with np.errstate(all="ignore"):
        return np.maximum(x, 0)


@_jit
def _relu_backward_loop(gy, y, gx):
    for i in range(y.size):
        gx[i] = gy[i] if y[i] > 0 else 0.0


@_quiet
def relu_backward(gy, y):
    """``gy`` where ``y > 0``, else 0 (y: relu's output)."""
    gx = np.empty(y.shape, y.dtype)
    if kernels.HAVE_NUMBA and gy.shape == y.shape:
        args = _flat(gy), _flat(y), gx.reshape(-1)
        parts = gemm.cores_for(y.size, SHARE_ELEMENTS)
        if parts > 1:
            _relu_backward_shared(*args, parts)
        else:
            _relu_backward_loop(*args)
        return gx
    np.copyto(gx, np.where(y > 0, gy, 0))
    return gx


# A loop over this many elements or more is shared between the cores (gemm.cores_for)
SHARE_ELEMENTS = 1 << 18


if gemm.AVAILABLE:
    from numba import prange

    _pjit = numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy", fastmath=_FAST)

    @_pjit
    def _relu_shared(x, y, parts):
        for p in prange(parts):
            lo, hi = gemm._cut(x.size, parts, 1024, p)
            _relu_loop(x[lo:hi], y[lo:hi])

    @_pjit
    def _relu_backward_shared(gy, y, gx, parts):
        for p in prange(parts):
            lo, hi = gemm._cut(y.size, parts, 1024, p)
            _relu_backward_loop(gy[lo:hi], y[lo:hi], gx[lo:hi])


# ---------------------------------------------------------------- embedding gradient
@_jit
def _add_rows_loop(gw, rows, g):
    for k in range(rows.size):
        dst, src = gw[rows[k]], g[k]
        for j in range(src.size):
            dst[j] += src[j]


def add_rows(gw, rows, g):
    """``gw[rows[k]] += g[k]`` for every k, a repeated row collecting each of its rows of
    ``g`` (``np.add.at(gw, rows, g)``, whose general indexing costs ~10x more). rows: 1-d
    integers, each in range (the embedding checked them when it read the rows)."""
    if kernels.HAVE_NUMBA and rows.dtype.kind in "iu" and g.dtype == gw.dtype:
        _add_rows_loop(gw, rows, np.ascontiguousarray(g))
    else:
        np.add.at(gw, rows, g)


# ---------------------------------------------------------------- batch norm (training)
# x as (N, C, L): channel c's values are the rows x[:, c]; statistics accumulate in float64.
@_jit
def _batch_norm_rows(x, w, b, eps, y, mean, var, rstd):
    n, c, length = x.shape
    count = n * length
    acc = np.zeros(c)
    for i in range(n):
        for ch in range(c):
            row = x[i, ch]
            s = 0.0
            for j in range(length):
                s += row[j]
            acc[ch] += s
    for ch in range(c):
        mean[ch] = acc[ch] / count
        acc[ch] = 0.0
    for i in range(n):  # the variance around the mean (two passes: no cancellation)
        for ch in range(c):
            row, m = x[i, ch], mean[ch]
            s = 0.0
            for j in range(length):
                d = row[j] - m
                s += d * d
            acc[ch] += s
    for ch in range(c):
        var[ch] = acc[ch] / count
        rstd[ch] = 1.0 / math.sqrt(var[ch] + eps)
    for i in range(n):
        for ch in range(c):
            row, out = x[i, ch], y[i, ch]
            scale = rstd[ch] * w[ch]
            shift = b[ch] - mean[ch] * scale
            for j in range(length):
                out[j] = row[j] * scale + shift


@_jit
def _batch_norm_backward_rows(gy, x, mean, rstd, w, gx, gw, gb):
    n, c, length = x.shape
    count = n * length
    sg = np.zeros(c)
    sgx = np.zeros(c)
    for i in range(n):
        for ch in range(c):
            g, row, m = gy[i, ch], x[i, ch], mean[ch]
            s1 = 0.0
            s2 = 0.0
            for j in range(length):
                s1 += g[j]
                s2 += g[j] * (row[j] - m)
            sg[ch] += s1
            sgx[ch] += s2
    for ch in range(c):
        gb[ch] = sg[ch]
        gw[ch] = sgx[ch] * rstd[ch]  # the sum of gy * xhat
    for i in range(n):
        for ch in range(c):
            g, row, out = gy[i, ch], x[i, ch], gx[i, ch]
            r, m = rstd[ch], mean[ch]
            # gx = w r (gy - mean(gy) - xhat mean(gy xhat)), xhat = (x - m) r
            a = w[ch] * r
            k = a * gw[ch] * r / count
            c0 = a * sg[ch] / count - k * m
            for j in range(length):
                out[j] = a * g[j] - k * row[j] - c0


def batch_norm(x, w, b, eps):
    """Batch norm in training of x (N, C, L) over N and L per channel: (y, mean, var, rstd),
    the variance biased, with w, b (C,) (None: 1 and 0)."""
    c = x.shape[1]
    dt = x.dtype
    w = np.ones(c, dt) if w is None else w
    b = np.zeros(c, dt) if b is None else b
    y = np.empty(x.shape, dt)
    if kernels.HAVE_NUMBA:
        mean, var, rstd = np.empty(c), np.empty(c), np.empty(c)
        _batch_norm_rows(np.ascontiguousarray(x), w, b, eps, y, mean, var, rstd)
        return y, mean.astype(dt), var.astype(dt), rstd.astype(dt)
    mean = x.mean(axis=(0, 2), dtype=np.float64)
    xc = x - mean[:, None].astype(dt)
    var = np.square(xc).mean(axis=(0, 2), dtype=np.float64)
    rstd = 1 / np.sqrt(var + eps)
    np.multiply(xc, (rstd * w)[:, None].astype(dt), out=y)
    y += b[:, None]
    return y, mean.astype(dt), var.astype(dt), rstd.astype(dt)


def batch_norm_backward(gy, x, mean, rstd, w):
    """The gradients (gx, gw, gb) of batch_norm from gy (N, C, L), with the forward's mean
    and rstd (C,) and w (None: 1)."""
    n, c, length = x.shape
    dt = x.dtype
    w = np.ones(c, dt) if w is None else w
    gx = np.empty(x.shape, dt)
    if kernels.HAVE_NUMBA:
        gw, gb = np.empty(c), np.empty(c)
        _batch_norm_backward_rows(
            np.ascontiguousarray(gy), np.ascontiguousarray(x), mean, rstd, w, gx, gw, gb
        )
        return gx, gw.astype(dt), gb.astype(dt)
    xhat = (x - mean[:, None]) * rstd[:, None]
    gb = gy.sum(axis=(0, 2))
    gw = (gy * xhat).sum(axis=(0, 2))
    count = n * length
    np.multiply(gy - (gb / count)[:, None] - xhat * (gw / count)[:, None],
                (w * rstd)[:, None], out=gx)  # fmt: skip
    return gx, gw, gb
