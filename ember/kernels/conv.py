"""Fast paths of convolution and pooling (NumPy arrays only), used by ``ember.ops.conv``.

A convolution is im2col and a matrix product, done a few samples (a *chunk*) at a time so
that the column matrix of a chunk stays in the cache and is never written out whole: per
chunk, im2col copies the windows into a reused buffer laid out (C * kH * kW, m, oH * oW),
one matrix product (``ember.kernels.gemm``) gives the chunk's output, copied into NCHW
while it is in cache; the backward takes one product per chunk for the weight's gradient
and one for the columns of the input's gradient, which col2im adds into the input's
gradient without a padded canvas.

``geo`` below is the tuple (kh, kw, sh, sw, ph, pw, dh, dw, oh, ow): kernel, stride, the
padding before (the padding after follows from the output size), dilation, output size.

Where ember's own matrix products run (AVX-512, ember.kernels.gemm), a float32 forward
skips the column matrix: ``_direct`` gathers each panel of 32 columns straight from the
input into the layout the product's micro-kernel reads and multiplies it while it is in
L1 (a 1-sample CNN's layers: 1.5-2x faster than im2col and a product); so do the weight's
gradient (``_direct_grad_weight``) where a sample has 64 output positions or more, and a
stride-1 layer's input gradient (the convolution of gy with the kernels flipped).

3x3 stride-1 layers with enough channels go to Winograd's algorithm instead
(ember.kernels.winograd: 4/9 of the multiply-adds, no im2col or col2im), and
``conv2d_backward`` gives both gradients from one pass over gy there.

im2col, col2im and the k x k, stride k max pooling are numba kernels when numba is
installed (single-threaded: the cores are the matrix products'); each has a plain NumPy
twin that computes the same thing.
"""

from __future__ import annotations

import threading

import numpy as np

from ember import kernels
from ember.kernels import gemm, winograd
from ember.kernels import nn as knn

# The column buffer of a chunk. Measured on the benchmark's CNN (2-core EPYC, 1 MiB L2 a
# core): 2 MiB steps ~10% faster than 512 KiB, whose one-sample chunks of the 16x16 layer
# make products too small for two BLAS threads; 8 MiB and more fall out of the cache.
CHUNK_BYTES = 1 << 21

# The weight's gradient in the fused direct loop takes layers with at least this many
# output positions a sample: each product's depth is one sample's positions, and with
# fewer (ResNet-18's last stage, 4x4) loading and storing C costs more than it saves.
DIRECT_MIN_POSITIONS = 64

_local = threading.local()


def scratch(name: str, shape: tuple, dtype) -> np.ndarray:
    """A reused buffer of ``shape`` (contents undefined): one per name, dtype and thread,
    grown to the largest size asked for, so a training step allocates no fresh columns."""
    bufs = _local.__dict__.setdefault("bufs", {})
    n = 1
    for s in shape:
        n *= s
    key = (name, np.dtype(dtype))
    flat = bufs.get(key)
    if flat is None or flat.size < n:
        flat = bufs[key] = np.empty(n, dtype)
    return flat[:n].reshape(shape)


# ---------------------------------------------------------------- im2col / col2im, NumPy
def _offsets(geo):
    """The (oh, ow) strided slices of a padded (.., H', W') array, one per kernel offset."""
    kh, kw, sh, sw, _, _, dh, dw, oh, ow = geo
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(i * dh, i * dh + (oh - 1) * sh + 1, sh),
                         slice(j * dw, j * dw + (ow - 1) * sw + 1, sw))  # fmt: skip


def _canvas_size(h, w, geo):
    kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = geo
    return (max((oh - 1) * sh + (kh - 1) * dh + 1, ph + h),
            max((ow - 1) * sw + (kw - 1) * dw + 1, pw + w))  # fmt: skip


def pad_input(x, geo):
    """x (N, C, H, W) zero-padded to every position the windows read (once per call)."""
    ph, pw = geo[4], geo[5]
    n, c, h, w = x.shape
    xpad = np.zeros((n, c) + _canvas_size(h, w, geo), x.dtype)
    xpad[:, :, ph : ph + h, pw : pw + w] = x
    return xpad


def im2col(x, cols, geo):
    """cols[(c, i, j), b, (r, q)] = x[b, c, r*sh + i*dh - ph, q*sw + j*dw - pw] for a chunk
    x (m, C, H, W), 0 where that is in the padding: a numba loop where numba is (2-6x faster
    than NumPy's strided copies, whose rows are short, and no padded copy of x), else
    im2col_numpy on the padded chunk."""
    if kernels.HAVE_NUMBA and x.flags.c_contiguous and cols.flags.c_contiguous:
        _im2col_nb(x, cols, *geo)
    else:
        im2col_numpy(pad_input(x, geo), cols, geo)


def im2col_numpy(xpad, cols, geo):
    """im2col of a padded chunk xpad (m, C, H', W', see pad_input) by NumPy's strided
    copies, one per kernel offset."""
    kh, kw, oh, ow = geo[0], geo[1], geo[8], geo[9]
    m, c = xpad.shape[:2]
    out = cols.reshape(c, kh, kw, m, oh, ow)
    src = xpad.transpose(1, 0, 2, 3)
    for i, j, (rows, cols_) in _offsets(geo):
        out[:, i, j] = src[:, :, rows, cols_]


def col2im_numpy(cols, gx, geo):
    """The adjoint of im2col, from columns laid out (C * kH * kW, m, oH * oW): gx[b, c, y, x]
    is the sum of the columns that were read from there."""
    kh, kw, ph, pw, oh, ow = geo[0], geo[1], geo[4], geo[5], geo[8], geo[9]
    m, c, h, w = gx.shape
    canvas = np.zeros((c, m) + _canvas_size(h, w, geo), gx.dtype)
    src = cols.reshape(c, kh, kw, m, oh, ow)
    for i, j, (rows, cols_) in _offsets(geo):
        canvas[:, :, rows, cols_] += src[:, i, j]
    gx[...] = canvas[:, :, ph : ph + h, pw : pw + w].transpose(1, 0, 2, 3)


# ---------------------------------------------------------------- max pooling, NumPy
def maxpool_numpy(x, kh, kw):
    """Max over k x k blocks (stride k, no padding; a ragged edge is left out) and the
    position of each maximum in its block (row-major, uint8); the first maximum wins, and a
    NaN wins over numbers (the last NaN over earlier ones), as PyTorch's."""
    n, c, h, w = x.shape
    oh, ow = h // kh, w // kw
    blocks = x[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow, kw)
    best = blocks[:, :, :, 0, :, 0].copy()
    code = np.zeros((n, c, oh, ow), np.uint8)
    for k in range(1, kh * kw):
        v = blocks[:, :, :, k // kw, :, k % kw]
        take = (v > best) | np.isnan(v)
        best = np.where(take, v, best)
        code[take] = k
    return best, code


def maxpool_scatter_numpy(gy, code, kh, kw, h, w):
    """gx of shape (n, c, h, w): each gy added at the position ``code`` names in its block."""
    n, c, oh, ow = gy.shape
    gx = np.zeros((n, c, h, w), gy.dtype)
    blocks = gx[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow, kw)
    for k in range(kh * kw):
        blocks[:, :, :, k // kw, :, k % kw] = np.where(code == k, gy, 0)
    return gx


def maxpool_gather_numpy(x, code, kh, kw):
    """y[b, c, r, q] = x at the position ``code`` names in block (r, q): max pooling's
    values, given where the maxima are."""
    n, c, oh, ow = code.shape
    blocks = x[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow, kw)
    y = np.zeros(code.shape, x.dtype)
    for k in range(kh * kw):
        y = np.where(code == k, blocks[:, :, :, k // kw, :, k % kw], y)
    return y


# ---------------------------------------------------------------- the kernels, numba
if kernels.HAVE_NUMBA:
    import numba
    from numba import njit

    @njit(cache=True, nogil=True)
    def _span(off, stride, size, n_out):
        """The outputs q (of n_out) whose input position q * stride + off is in [0, size)."""
        q0 = max(0, -(off // stride)) if off < 0 else 0
        q1 = min(n_out, (size - 1 - off) // stride + 1) if size - 1 - off >= 0 else 0
        return q0, max(q0, q1)

    _u = numba.uint64  # unsigned indices: no wraparound checks, so the copies vectorise

    @njit(cache=True, nogil=True, error_model="numpy", fastmath=knn._FAST)
    def _channel_sums_nb(g, out):
        # each row of a channel summed in reassociated (vectorised) float32, the rows' sums
        # in float64
        for ci in range(g.shape[1]):
            total = 0.0
            for s in range(g.shape[0]):
                row, part = g[s, ci], np.float32(0.0)
                for j in range(row.size):
                    part += row[j]
                total += part
            out[ci] = total

    @njit(cache=True, nogil=True)
    def _add_bias_nb(y, b):
        for i in range(y.shape[0]):
            row, v = y[i], b[i]
            for j in range(row.size):
                row[j] += v

    @njit(cache=True, nogil=True)
    def _im2col_nb(x, cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
        # x (unpadded) and cols C-contiguous; cols filled in order, a row of ow at a time,
        # zeros where a window reads the padding
        m, c, h, w = x.shape
        src, dst = x.reshape(-1), cols.reshape(-1)
        o, n, step = _u(0), _u(ow), _u(sw)
        for ci in range(c):
            for i in range(kh):
                for j in range(kw):
                    off = j * dw - pw
                    q0, q1 = _span(off, sw, w, ow)
                    for b in range(m):
                        plane = _u((b * c + ci) * h * w)
                        for r in range(oh):
                            y = r * sh - ph + i * dh
                            if y < 0 or y >= h or q0 == q1:
                                for q in range(n):
                                    dst[o + q] = 0
                            else:
                                for q in range(q0):
                                    dst[o + q] = 0
                                at = plane + _u(y * w + off)  # (read from q0 on: >= 0)
                                if sw == 1:
                                    for q in range(_u(q0), _u(q1)):
                                        dst[o + q] = src[at + q]
                                else:
                                    for q in range(_u(q0), _u(q1)):
                                        dst[o + q] = src[at + q * step]
                                for q in range(q1, ow):
                                    dst[o + q] = 0
                            o += n

    @njit(cache=True, nogil=True)
    def _col2im_nb(cols, gx, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
        m, c, h, w = gx.shape
        for b in range(m):
            for ci in range(c):
                dst = gx[b, ci]
                dst[:, :] = 0
                for i in range(kh):
                    for j in range(kw):
                        src = cols[(ci * kh + i) * kw + j, b]
                        off = j * dw - pw
                        q0, q1 = _span(off, sw, w, ow)
                        for r in range(oh):
                            y = r * sh - ph + i * dh
                            if y < 0 or y >= h:
                                continue
                            d = dst[y]
                            s = src[r * ow : (r + 1) * ow]
                            if sw == 1:  # a unit stride lets the loop vectorise
                                for q in range(q0, q1):
                                    d[q + off] += s[q]
                            else:
                                for q in range(q0, q1):
                                    d[q * sw + off] += s[q]

    @njit(cache=True, nogil=True)
    def _maxpool_nb(x, y, code, kh, kw):
        n, c, oh, ow = y.shape
        for b in range(n):
            for ci in range(c):
                for r in range(oh):
                    yr = y[b, ci, r]
                    cr = code[b, ci, r]
                    for q in range(ow):
                        best = x[b, ci, r * kh, q * kw]
                        k_best = 0
                        k = 0
                        for i in range(kh):
                            row = x[b, ci, r * kh + i]
                            for j in range(kw):
                                v = row[q * kw + j]
                                if k and (v > best or np.isnan(v)):
                                    best = v
                                    k_best = k
                                k += 1
                        yr[q] = best
                        cr[q] = k_best

    @njit(cache=True, nogil=True)
    def _maxpool2_nb(x, y, code):
        # the common 2x2 case, unrolled: a third of the time of the general loop
        n, c, oh, ow = y.shape
        for b in range(n):
            for ci in range(c):
                for r in range(oh):
                    top = x[b, ci, 2 * r]
                    bot = x[b, ci, 2 * r + 1]
                    yr = y[b, ci, r]
                    cr = code[b, ci, r]
                    for q in range(ow):
                        best = top[2 * q]
                        k = 0
                        v = top[2 * q + 1]
                        if v > best or np.isnan(v):
                            best = v
                            k = 1
                        v = bot[2 * q]
                        if v > best or np.isnan(v):
                            best = v
                            k = 2
                        v = bot[2 * q + 1]
                        if v > best or np.isnan(v):
                            best = v
                            k = 3
                        yr[q] = best
                        cr[q] = k

    @njit(cache=True, nogil=True)
    def _maxpool_scatter_nb(gy, code, gx, kh, kw):
        n, c, oh, ow = gy.shape
        for b in range(n):
            for ci in range(c):
                dst = gx[b, ci]
                dst[:, :] = 0
                for r in range(oh):
                    gr = gy[b, ci, r]
                    cr = code[b, ci, r]
                    for q in range(ow):
                        k = cr[q]
                        i = 0
                        while k >= kw:
                            k -= kw
                            i += 1
                        dst[r * kh + i, q * kw + k] = gr[q]

    @njit(cache=True, nogil=True)
    def _maxpool2_scatter_nb(gy, code, gx):
        # 2x2 unrolled: every position of gx written once, so no zeroing pass
        n, c, oh, ow = gy.shape
        for b in range(n):
            for ci in range(c):
                for r in range(oh):
                    top = gx[b, ci, 2 * r]
                    bot = gx[b, ci, 2 * r + 1]
                    gr = gy[b, ci, r]
                    cr = code[b, ci, r]
                    for q in range(ow):
                        k = cr[q]
                        g = gr[q]
                        # a literal 0.0 (not a typed zero) keeps this loop 4x faster
                        top[2 * q] = g if k == 0 else 0.0
                        top[2 * q + 1] = g if k == 1 else 0.0
                        bot[2 * q] = g if k == 2 else 0.0
                        bot[2 * q + 1] = g if k == 3 else 0.0
                if gx.shape[2] > 2 * oh:  # a ragged last row or column gets no gradient
                    gx[b, ci, 2 * oh :, :] = 0.0
                if gx.shape[3] > 2 * ow:
                    gx[b, ci, : 2 * oh, 2 * ow :] = 0.0

    @njit(cache=True, nogil=True)
    def _maxpool_gather_nb(x, code, y, kh, kw):
        n, c, oh, ow = y.shape
        for b in range(n):
            for ci in range(c):
                for r in range(oh):
                    yr = y[b, ci, r]
                    cr = code[b, ci, r]
                    for q in range(ow):
                        k = cr[q]
                        i = 0
                        while k >= kw:
                            k -= kw
                            i += 1
                        yr[q] = x[b, ci, r * kh + i, q * kw + k]


def _samples_parts(x) -> int:
    """Cores to share a 2x2 pooling loop of x (N, C, H, W) between, a share of the samples
    each."""
    return min(gemm.cores_for(x.size, knn.SHARE_ELEMENTS), x.shape[0])


if gemm.AVAILABLE:
    from numba import prange

    _pjit = njit(cache=True, nogil=True, parallel=True)

    @_pjit
    def _maxpool2_shared(x, y, code, parts):
        for p in prange(parts):
            lo, hi = gemm._cut(x.shape[0], parts, 1, p)
            _maxpool2_nb(x[lo:hi], y[lo:hi], code[lo:hi])

    @_pjit
    def _maxpool2_scatter_shared(gy, code, gx, parts):
        for p in prange(parts):
            lo, hi = gemm._cut(gy.shape[0], parts, 1, p)
            _maxpool2_scatter_nb(gy[lo:hi], code[lo:hi], gx[lo:hi])


if gemm.AVAILABLE:
    from ember.kernels.gemm import KC, MR, NR, _aligned, _micro

    @njit(cache=True, nogil=True)
    def _depth(k):
        """Rows of B per panel for a depth k: one panel up to 320 (its 32 columns then fill
        40 KiB of L1), else equal shares of at most KC."""
        return k if k <= 320 else -(-k // -(-k // KC))

    @njit(cache=True, nogil=True)
    def _window_offsets(c, kh, kw, dh, dw, hp, wp):
        """Where row k = (c, i, j) of im2col starts in a sample's padded input (flat)."""
        at = np.empty(c * kh * kw, np.int64)
        for ci in range(c):
            for i in range(kh):
                for j in range(kw):
                    at[(ci * kh + i) * kw + j] = ci * hp * wp + i * dh * wp + j * dw
        return at

    @njit(cache=True, nogil=True)
    def _direct(xp, w2, tail, b, y, koff, sh, sw, ow, first, last):
        """y = conv(xp, w2) (+ b) for the panels first:last of its columns, a panel being NR
        consecutive output positions (samples after one another): each panel of im2col's
        columns is gathered from the padded input xp (koff: where each of its rows starts
        in a sample, see _window_offsets) straight into the layout the micro-kernel reads,
        and multiplied while it is in L1 (no column matrix, no packing of B); w2's rows are
        read in place, its last ragged MR rows from tail (zero-padded)."""
        o, k = w2.shape
        ks = w2.strides[1] // 4  # 1, but not a constant to the compiler: with a literal 1,
        # LLVM rewrites the kernel's loads of A, and it runs at half speed (measured)
        p = y.shape[2] * y.shape[3]
        total = y.shape[0] * p
        plane, wp = xp[0].size, xp.shape[3]
        depth = _depth(k)
        bp = _aligned(depth * NR)
        edge = _aligned(MR * NR)
        at = np.zeros(NR, np.int64)  # where each column's window starts (past cols: 0)
        dest = np.zeros(NR, np.int64)  # where each column's y[s, 0, position] is
        src, yf = xp.reshape(-1), y.reshape(-1)
        for q in range(first, last):
            g0 = q * NR
            cols = min(NR, total - g0)
            s, pos = g0 // p, g0 % p
            whole = cols == NR and pos + NR <= p  # one sample's: C's tiles are stored in place
            row = whole and sw == 1 and pos % ow + NR <= ow  # one output row: copies, no gather
            y_at = y.ctypes.data + 4 * (s * o * p + pos)
            r, c = pos // ow, pos % ow
            for jj in range(cols):
                at[jj] = s * plane + r * sh * wp + c * sw
                dest[jj] = s * o * p + pos
                pos, c = pos + 1, c + 1
                if c == ow:
                    r, c = r + 1, 0
                if pos == p:
                    s, pos, r, c = s + 1, 0, 0, 0
            for jj in range(cols, NR):
                at[jj] = 0
            for pc in range(0, k, depth):
                kc = min(depth, k - pc)
                for kk in range(kc):  # (columns past cols gather garbage, never stored)
                    base, to = _u(koff[pc + kk]), _u(kk * NR)
                    if row:
                        base += _u(at[0])
                        for jj in range(_u(NR)):
                            bp[to + jj] = src[base + jj]
                    else:
                        for jj in range(_u(NR)):
                            bp[to + jj] = src[base + _u(at[jj])]
                for r0 in range(0, o, MR):
                    rows = min(MR, o - r0)
                    if rows == MR:
                        a_at = w2.ctypes.data + 4 * (r0 * k + pc)
                    else:
                        a_at = tail.ctypes.data + 4 * pc
                    if whole:
                        _micro(kc, a_at, k, ks, bp.ctypes.data, y_at + 4 * r0 * p, p, pc > 0, rows)
                        continue
                    _micro(kc, a_at, k, ks, bp.ctypes.data, edge.ctypes.data, NR, 0, rows)
                    for i in range(rows):
                        for jj in range(cols):
                            to, v = dest[jj] + (r0 + i) * p, edge[i * NR + jj]
                            yf[to] = yf[to] + v if pc else v
            if b.size:
                for i in range(o):
                    v = b[i]
                    for jj in range(cols):
                        yf[dest[jj] + i * p] += v

    @njit(cache=True, nogil=True)
    def _direct_grad_weight(xp, gy, koff, sh, sw, ow, first, last, acc):
        """acc (O, NR * panels) += gy[s] @ (im2col's columns of sample s)^T for the samples
        first:last: a depth (KC output positions) of each panel of NR columns of B is
        gathered from the padded input xp straight into the micro-kernel's layout; gy's
        rows are read in place, its last ragged MR rows from a zero-padded copy."""
        o = gy.shape[1]
        p = gy.shape[2] * gy.shape[3]
        k = koff.size
        width = acc.shape[1]
        ko = np.zeros(width, np.int64)  # (past k: 0, columns never kept)
        ko[:k] = koff
        plane, wp = xp[0].size, xp.shape[3]
        ks = gy.strides[3] // 4  # 1, not a constant to the compiler (see _direct)
        bp = _aligned(KC * NR)
        tail = _aligned(MR * KC)
        at = np.empty(KC, np.int64)
        src, g = xp.reshape(-1), gy.reshape(-1)
        rest = o % MR
        for s in range(first, last):
            for d0 in range(0, p, KC):
                dc = min(KC, p - d0)
                r, c = d0 // ow, d0 % ow
                for d in range(dc):
                    at[d] = s * plane + r * sh * wp + c * sw
                    c += 1
                    if c == ow:
                        r, c = r + 1, 0
                if rest:
                    for i in range(MR):
                        row = (s * o + o - rest + i) * p + d0
                        for d in range(dc):
                            tail[i * dc + d] = g[row + d] if i < rest else 0.0
                for q in range(width // NR):
                    for d in range(dc):
                        base, to = _u(at[d]), _u(d * NR)
                        for jj in range(_u(NR)):
                            bp[to + jj] = src[base + _u(ko[q * NR + jj])]
                    for r0 in range(0, o, MR):
                        rows = min(MR, o - r0)
                        if rows == MR:
                            a_at, rs = gy.ctypes.data + 4 * ((s * o + r0) * p + d0), p
                        else:
                            a_at, rs = tail.ctypes.data, dc
                        c_at = acc.ctypes.data + 4 * (r0 * width + q * NR)
                        _micro(dc, a_at, rs, ks, bp.ctypes.data, c_at, width, 1, rows)

    @_pjit
    def _direct_grad_weight_shared(xp, gy, koff, sh, sw, ow, acc):
        parts = acc.shape[0]
        for t in prange(parts):
            lo, hi = gemm._cut(gy.shape[0], parts, 1, t)
            _direct_grad_weight(xp, gy, koff, sh, sw, ow, lo, hi, acc[t])

    @_pjit
    def _direct_shared(xp, w2, tail, b, y, koff, sh, sw, ow, parts):
        total = (y.size // y.shape[1] + NR - 1) // NR
        for t in prange(parts):
            lo, hi = gemm._cut(total, parts, 1, t)
            _direct(xp, w2, tail, b, y, koff, sh, sw, ow, lo, hi)


def add_bias(y, b):
    """y (O, P) += b (O,) down its rows: a numba loop where numba is (~4x faster than
    NumPy's broadcast, measured on a 1-sample CNN's layers: 1.4 vs 6.3 us)."""
    if kernels.HAVE_NUMBA and y.flags.c_contiguous and b.dtype == y.dtype:
        _add_bias_nb(y, b)
    else:
        y += b.reshape(-1, 1)


def channel_sums(g):
    """The bias's gradient of a convolution: g (N, C, H, W) summed over all but C (a numba
    loop where numba is: ~4x faster than NumPy's sum over axes 0, 2 and 3)."""
    if kernels.HAVE_NUMBA and g.flags.c_contiguous and g.dtype == np.float32:
        out = np.empty(g.shape[1], g.dtype)
        _channel_sums_nb(g.reshape(g.shape[0], g.shape[1], -1), out)
        return out
    return g.sum(axis=(0, 2, 3))


def col2im(cols, gx, geo):
    if kernels.HAVE_NUMBA:
        _col2im_nb(cols, gx, *geo)
    else:
        col2im_numpy(cols, gx, geo)


def maxpool(x, kh, kw):
    if not kernels.HAVE_NUMBA:
        return maxpool_numpy(x, kh, kw)
    n, c, h, w = x.shape
    y = np.empty((n, c, h // kh, w // kw), x.dtype)
    code = np.empty(y.shape, np.uint8)
    parts = _samples_parts(x)
    if kh == kw == 2 and parts > 1:
        _maxpool2_shared(np.ascontiguousarray(x), y, code, parts)
    elif kh == kw == 2:
        _maxpool2_nb(np.ascontiguousarray(x), y, code)
    else:
        _maxpool_nb(np.ascontiguousarray(x), y, code, kh, kw)
    return y, code


def maxpool_scatter(gy, code, kh, kw, h, w):
    if not kernels.HAVE_NUMBA:
        return maxpool_scatter_numpy(gy, code, kh, kw, h, w)
    gx = np.empty(gy.shape[:2] + (h, w), gy.dtype)
    parts = _samples_parts(gx)
    if kh == kw == 2 and parts > 1:
        _maxpool2_scatter_shared(np.ascontiguousarray(gy), code, gx, parts)
    elif kh == kw == 2:
        _maxpool2_scatter_nb(np.ascontiguousarray(gy), code, gx)
    else:
        _maxpool_scatter_nb(np.ascontiguousarray(gy), code, gx, kh, kw)
    return gx


def maxpool_gather(x, code, kh, kw):
    if not kernels.HAVE_NUMBA:
        return maxpool_gather_numpy(x, code, kh, kw)
    y = np.empty(code.shape, x.dtype)
    _maxpool_gather_nb(np.ascontiguousarray(x), code, y, kh, kw)
    return y


# ---------------------------------------------------------------- convolution drivers
def _chunk(n, ck, p, itemsize):
    """Samples per chunk: as many as keep a chunk's columns within CHUNK_BYTES, but enough
    for 256 output positions, so that a product of a chunk reads the weight once for many
    columns (deep layers have few positions and a large weight)."""
    fit = CHUNK_BYTES // max(1, ck * p * itemsize)
    return max(1, min(n, max(fit, -(-256 // p))))


def conv2d(x, w, b, geo):
    """y (N, O, oH, oW) = conv(x, w) (+ b), groups 1: per chunk, im2col then one product,
    whose (O, m, oH * oW) result is copied into y's NCHW layout while still in cache, with
    the bias added in the same pass. 3x3 stride-1 layers go to Winograd's algorithm."""
    n, c = x.shape[:2]
    o = w.shape[0]
    if winograd.usable(geo, n, c, o):
        kernels.taken["conv2d_winograd"] += 1
        return winograd.conv2d(x, w, b, geo, scratch)[0]
    if gemm.AVAILABLE and x.dtype == w.dtype == np.float32:
        kernels.taken["conv2d_direct"] += 1
        return conv2d_direct(x, w, b, geo)
    oh, ow = geo[8], geo[9]
    p = oh * ow
    ck = w[0].size
    w2 = w.reshape(o, ck)
    out4 = np.empty((n, o, oh, ow), x.dtype)  # returned as made (not a view: no view to track)
    y = out4.reshape(n, o, p)
    step = _chunk(n, ck, p, x.itemsize)
    x = np.ascontiguousarray(x)
    for s in range(0, n, step):
        m = min(step, n - s)
        c = scratch("cols", (ck, m, p), x.dtype)
        im2col(x[s : s + m], c, geo)
        if m == 1:  # one sample's (O, oH * oW) is already its NCHW layout
            gemm.matmul(w2, c.reshape(ck, p), out=y[s])
            if b is not None:
                add_bias(y[s], b)
            continue
        out = scratch("out", (o, m, p), x.dtype)
        gemm.matmul(w2, c.reshape(ck, m * p), out=out.reshape(o, m * p))
        if b is None:
            y[s : s + m] = out.transpose(1, 0, 2)
        else:  # the bias added in the same pass
            np.add(out.transpose(1, 0, 2), b.reshape(o, 1), out=y[s : s + m])
    return out4


def _windows(x, geo):
    """What the direct loops read: x padded where its windows reach past it (else x
    itself, contiguous), and where each row of im2col starts in a sample of it."""
    kh, kw, ph, pw, dh, dw = geo[0], geo[1], geo[4], geo[5], geo[6], geo[7]
    canvas = _canvas_size(*x.shape[2:], geo)
    xp = pad_input(x, geo) if ph or pw or canvas != x.shape[2:] else np.ascontiguousarray(x)
    return xp, _window_offsets(x.shape[1], kh, kw, dh, dw, *xp.shape[2:])


def conv2d_direct(x, w, b, geo, parts=None):
    """conv2d by the fused loop _direct (x, w float32, groups 1), its panels shared between
    `parts` cores (by default all of them from 2^20 multiply-adds on)."""
    sh, sw, oh, ow = geo[2], geo[3], geo[8], geo[9]
    o = w.shape[0]
    xp, koff = _windows(x, geo)
    w2 = np.ascontiguousarray(w.reshape(o, -1))
    tail = np.zeros((MR, w2.shape[1]), np.float32)
    rest = o % MR
    if rest:
        tail[:rest] = w2[o - rest :]
    y = np.empty((x.shape[0], o, oh, ow), np.float32)
    b = np.empty(0, np.float32) if b is None else np.ascontiguousarray(b)
    items = -(-(x.shape[0] * oh * ow) // NR)
    if parts is None:
        parts = min(items, gemm.cores_for(2 * y.size * w2.shape[1], 1 << 20))
    if parts > 1:
        _direct_shared(xp, w2, tail, b, y, koff, sh, sw, ow, parts)
    else:
        _direct(xp, w2, tail, b, y, koff, sh, sw, ow, 0, items)
    return y


def conv2d_grad_weight_direct(x, gy, geo, parts=None):
    """conv2d_grad_weight by the fused loop _direct_grad_weight (x, gy float32), the
    samples shared between `parts` cores (by default all of them from 2^20 multiply-adds
    on), each into its own sum."""
    kh, kw, sh, sw, ow = geo[0], geo[1], geo[2], geo[3], geo[9]
    n, c = x.shape[:2]
    o = gy.shape[1]
    k = c * kh * kw
    xp, koff = _windows(x, geo)
    gy = np.ascontiguousarray(gy)
    if parts is None:
        parts = min(n, gemm.cores_for(2 * gy.size * k, 1 << 20))
    acc = np.zeros((parts, o, -(-k // NR) * NR), np.float32)
    if parts > 1:
        _direct_grad_weight_shared(xp, gy, koff, sh, sw, ow, acc)
        gw = acc.sum(axis=0)
    else:
        _direct_grad_weight(xp, gy, koff, sh, sw, ow, 0, n, acc[0])
        gw = acc[0]
    return np.ascontiguousarray(gw[:, :k]).reshape(o, c, kh, kw)


def conv2d_grad_input(gy, w, size, geo):
    """gx (N, C, H, W) of conv2d: per chunk, the columns' gradient w^T gy, then col2im; for
    a stride-1 layer where the direct loop runs, the convolution of gy with w's kernels
    flipped and its two channel dims swapped, padded so that its output is x's size
    (1.6-3.7x faster, measured on 1x1 to 5x5 layers of 16 to 128 channels)."""
    n, o = gy.shape[:2]
    if winograd.usable(geo, n, w.shape[1], o):
        kernels.taken["conv2d_winograd_backward"] += 1
        return winograd.conv2d_backward(None, w, gy, size, geo, scratch, need_w=False)[0]
    kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = geo
    if (
        gemm.AVAILABLE
        and gy.dtype == w.dtype == np.float32
        and sh == sw == 1
        and ph <= dh * (kh - 1)
        and pw <= dw * (kw - 1)
        and w.shape[1] >= MR  # (x's channels are the product's rows: a few would waste it)
    ):  # a stride-1 layer's: the convolution of gy with the flipped kernels, transposed
        kernels.taken["conv2d_direct_grad_input"] += 1
        flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        back = (kh, kw, 1, 1, dh * (kh - 1) - ph, dw * (kw - 1) - pw, dh, dw) + tuple(size)
        return conv2d_direct(gy, flipped, None, back)
    p = oh * ow
    ck = w[0].size
    w2t = w.reshape(o, ck).T
    gy3 = gy.reshape(n, o, p)
    gx = np.empty((n, w.shape[1]) + tuple(size), gy.dtype)
    step = _chunk(n, ck, p, gy.itemsize)
    for s in range(0, n, step):
        m = min(step, n - s)
        g = scratch("gyt", (o, m, p), gy.dtype)
        g[...] = gy3[s : s + m].transpose(1, 0, 2)
        gc = scratch("gcols", (ck, m, p), gy.dtype)
        gemm.matmul(w2t, g.reshape(o, m * p), out=gc.reshape(ck, m * p))
        col2im(gc, gx[s : s + m], geo)
    return gx


def conv2d_grad_weight(x, gy, geo):
    """gw (O, C, kH, kW) of conv2d: per chunk, im2col again (cheaper than keeping the
    columns of the whole batch) and one product over the chunk's output positions; where
    the fused direct loop runs (float32, AVX-512, DIRECT_MIN_POSITIONS), no columns."""
    n, c = x.shape[:2]
    o = gy.shape[1]
    if winograd.usable(geo, n, c, o):
        kernels.taken["conv2d_winograd_backward"] += 1
        return winograd.conv2d_backward(x, None, gy, x.shape[2:], geo, scratch, need_x=False)[1]
    kh, kw, oh, ow = geo[0], geo[1], geo[8], geo[9]
    if gemm.AVAILABLE and x.dtype == gy.dtype == np.float32 and oh * ow >= DIRECT_MIN_POSITIONS:
        kernels.taken["conv2d_direct_grad_weight"] += 1
        return conv2d_grad_weight_direct(x, gy, geo)
    p = oh * ow
    ck = c * kh * kw
    gy3 = gy.reshape(n, o, p)
    step = _chunk(n, ck, p, x.itemsize)
    gw = np.empty((o, ck), x.dtype)
    x = np.ascontiguousarray(x)
    for s in range(0, n, step):
        m = min(step, n - s)
        c_ = scratch("cols", (ck, m, p), x.dtype)
        im2col(x[s : s + m], c_, geo)
        g = scratch("gyt", (o, m, p), gy.dtype)
        g[...] = gy3[s : s + m].transpose(1, 0, 2)
        gemm.matmul(g.reshape(o, m * p), c_.reshape(ck, m * p).T, out=gw, accumulate=s > 0)
    return gw.reshape((o, c, kh, kw))


def conv2d_keeping(x, w, b, geo):
    """(y, kept): conv2d, and what conv2d_backward may reuse (Winograd's tiles of a small
    layer's input; None)."""
    if winograd.usable(geo, *x.shape[:2], w.shape[0]):
        kernels.taken["conv2d_winograd"] += 1
        return winograd.conv2d(x, w, b, geo, scratch, keep=True)
    return conv2d(x, w, b, geo), None


def conv2d_backward(x, w, gy, size, geo, need_x=True, need_w=True, kept=None):
    """(gx, gw) of conv2d, None where not needed (``x`` may be None without need_w, ``w``
    without need_x; ``size`` is x's (H, W)): for Winograd's layers one pass over gy's tiles
    serves both gradients; other layers take the two functions above."""
    c = w.shape[1] if need_x else x.shape[1]
    if winograd.usable(geo, gy.shape[0], c, gy.shape[1]):
        kernels.taken["conv2d_winograd_backward"] += 1
        return winograd.conv2d_backward(x, w, gy, size, geo, scratch, need_x, need_w, kept)
    gx = conv2d_grad_input(gy, w, size, geo) if need_x else None
    gw = conv2d_grad_weight(x, gy, geo) if need_w else None
    return gx, gw
