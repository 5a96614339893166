"""Winograd convolution F(2x2, 3x3): the 3x3, stride-1 convolutions of ember.kernels.conv
with 16 multiplications per 2x2 block of output instead of 36.

For one channel pair, a 2x2 block of output y is read from a 4x4 tile d of the (padded)
input, and with the 3x3 kernel g

    y = AT @ ((G @ g @ G.T) * (BT @ d @ BT.T)) @ AT.T        (* elementwise, on 4x4)

(AT, G, BT below). Summed over input channels, the elementwise products become 16 matrix
products, one per position of the 4x4 tile: M[k] = V[k] @ U[k].T with V[k] (T, C) the
transformed tiles (T tiles of a chunk) and U[k] (O, C) the transformed kernels. That is
4/9 of the multiply-adds of im2col's single product. The transforms are a few additions
per value in compiled loops whose innermost loop runs over channels, so that the tiles
are written along contiguous channels.

The backward is the adjoint of the same three steps. With Gy = AT.T @ e @ AT (the output
transform's adjoint, one 4x4 per tile and output channel, from gy's 2x2 block e):

    gw = G.T @ (sum over tiles of Gy[k].T @ V[k]) @ G        (16 products, then 4x4 -> 3x3)
    gx = the sum of BT.T @ (Gy[k] @ U[k]) @ BT over the 4x4 tiles, which overlap by 2

so one pass over a chunk gives both gradients and shares Gy between them. An output row
or column of a tile reads the same three input rows or columns as its window, so a NaN or
inf in x reaches the same outputs as with im2col (an inf may arrive as NaN: inf - inf).
The products are exact rearrangements of the convolution's sums: only rounding differs
from im2col's (about as much, in float32; F(4x4, 3x3) would save more products, but its
rounding error was 15-50 times im2col's on 32-256 channels, measured, so it is not used).

These loops need numba; without it ember.kernels.conv keeps im2col.
"""

from __future__ import annotations

import numpy as np

from ember import kernels
from ember.kernels import gemm

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)
_GG = np.kron(G, G)  # (16, 9): U[4a + b] = sum over (i, j) of G[a, i] G[b, j] g[i, j]

# The tiles of a chunk: transformed tiles of 16 * C * T values; ~2 MiB keeps them, the
# products' outputs and the chunk of input in the 2 MiB of L2 of this machine's two cores
# while the 16 products still get a few hundred columns each.
CHUNK_BYTES = 1 << 21
MIN_TILES = 256
# Measured against im2col on 32x32 images, forward and backward: 0.8x with 8 input and 16
# output channels, level with 16 and 32, 1.4x with 32 and 64 (1.7x at 64 and 128, 8x8).
MIN_CHANNELS = 32
# Below this many output positions (batch x height x width) the transforms cost more than
# the products save (against the numba im2col, forward and backward, measured): one 16x16
# sample with 32 -> 64 channels 1.3x faster with im2col, one 8x8 with 64 -> 128 1.9x; a
# batch of 32 4x4 samples with 512 channels (512 positions) 1.4x faster with Winograd.
MIN_POSITIONS = 512
# The forward keeps a layer's transformed input tiles for its backward (which then skips
# transforming x again, ~15% of it) when they take at most this much: 4x the input's size,
# so a small layer's cost in memory, not a large one's.
KEEP_BYTES = 8 << 20


def usable(geo, n: int, c: int, o: int) -> bool:
    """Whether the convolution of geometry ``geo`` (see ember.kernels.conv) of a batch of n,
    c channels in and o out runs here: 3x3, stride 1, no dilation, and enough channels and
    outputs for the 16 products to pay for the transforms."""
    kh, kw, sh, sw, _, _, dh, dw, oh, ow = geo
    return (
        kernels.HAVE_NUMBA
        and kh == kw == 3
        and sh == sw == dh == dw == 1
        and min(c, o) >= MIN_CHANNELS
        and oh >= 2
        and ow >= 2
        and n * oh * ow >= MIN_POSITIONS
    )


def transform_weight(w: np.ndarray) -> np.ndarray:
    """U (16, O, C): G @ w[o, c] @ G.T for every kernel, as one product with kron(G, G)."""
    o, c = w.shape[:2]
    u = gemm.matmul(_GG.astype(w.dtype), w.reshape(o * c, 9).T)  # (16, O * C)
    return u.reshape(16, o, c)


def weight_grad(du: np.ndarray, o: int, c: int) -> np.ndarray:
    """gw (O, C, 3, 3) from the gradient of U (16, O, C): G.T @ dU[o, c] @ G for each, a
    numba loop (as a product with kron(G, G), its output only 9 columns wide, 2.5x slower
    for 512 channels, measured), the cores sharing the kernels."""
    du = np.ascontiguousarray(du).reshape(16, o * c)
    gw = np.empty((o * c, 9), du.dtype)
    parts = gemm.cores_for(o * c, 1 << 14)
    if parts > 1:
        _weight_grad_shared(du, gw, parts)
    else:
        _weight_grad_kernels(du, gw, 0, o * c)
    return gw.reshape(o, c, 3, 3)


def _tiles(geo):
    oh, ow = geo[8], geo[9]
    return (oh + 1) // 2, (ow + 1) // 2


def _planes(scratch, name, t, c, dtype):
    """A (16, t, c) buffer whose 16 planes sit 32 values further apart than packed: the
    transforms read one value from each plane in turn, and planes a power of two apart
    would all fall into the same few cache sets (2-3x slower, measured)."""
    buf = scratch(name, (16, t * c + 32), dtype)
    return buf[:, : t * c].reshape(16, t, c)


def _tile_rows(scratch, name, t, c, dtype):
    """A (t, 16, c + 16) buffer for t tiles of c channels, of which the tiles' values take
    [:, :, :c]: the products read its (T, C) matrices with rows 16 (c + 16) values apart,
    where rows 16 c apart (4 KiB times a power of two for 64-512 channels) would fall into
    the same few cache sets (the 16 products 1.05-1.4x slower, measured)."""
    if scratch is None:
        return np.empty((t, 16, c + 16), dtype)
    return scratch(name, (t, 16, c + 16), dtype)


def _chunk(n, c, tiles_per_sample, itemsize):
    fit = CHUNK_BYTES // max(1, 16 * c * tiles_per_sample * itemsize)
    return max(1, min(n, max(fit, -(-MIN_TILES // tiles_per_sample))))


# ---------------------------------------------------------------- the transforms, numba
if kernels.HAVE_NUMBA:
    from numba import njit

    _jit = njit(cache=True, nogil=True)
    _inline = njit(cache=True, nogil=True, inline="always")
else:  # never called: usable() is False without numba

    def _jit(fn):
        return fn

    _inline = _jit


@_inline
def _clamp(i, n):
    """i moved into [0, n): an index that is always safe to read (the value is not used
    when i was outside)."""
    return min(max(i, 0), n - 1)


def _shared(kernel, *args, channels):
    """kernel(*args, lo, hi) over all channels, the cores taking a share of them each (every
    tile of a channel is that core's: the adjoint's overlapping tiles add into their own
    channel only) where ember's own products use the cores (see gemm.threads)."""
    parts = gemm.cores_for(channels, 32)
    if parts > 1:
        _SHARED[kernel](*args, parts)
    else:
        kernel(*args, 0, channels)


@_jit
def _input_tiles(x, v, ph, pw, th, tw, lo, hi):
    """v[t, (i, j), c] = (BT @ d @ BT.T)[i, j] for the 4x4 tile d of channel c at tile
    t = (sample, ty, tx): rows 2ty - ph.. and columns 2tx - pw.. of x, zero outside it.
    The channel loop reads x across its planes: faster than moving x to channels-last
    first (1.4-5x, measured), and the stores it makes are contiguous."""
    m, _, h, w = x.shape
    zero = x.dtype.type(0)
    for b in range(m):
        for ty in range(th):
            y0 = 2 * ty - ph
            r0, r1, r2, r3 = _clamp(y0, h), _clamp(y0 + 1, h), _clamp(y0 + 2, h), _clamp(y0 + 3, h)
            i0, i1, i2, i3 = 0 <= y0 < h, 0 <= y0 + 1 < h, 0 <= y0 + 2 < h, 0 <= y0 + 3 < h
            for tx in range(tw):
                t = (b * th + ty) * tw + tx
                x0 = 2 * tx - pw
                # fmt: off
                q0, q1, q2, q3 = _clamp(x0, w), _clamp(x0 + 1, w), _clamp(x0 + 2, w), _clamp(x0 + 3, w)
                # fmt: on
                j0, j1, j2, j3 = 0 <= x0 < w, 0 <= x0 + 1 < w, 0 <= x0 + 2 < w, 0 <= x0 + 3 < w
                for ci in range(lo, hi):
                    p = x[b, ci]
                    # fmt: off
                    d00 = p[r0, q0] if i0 and j0 else zero
                    d01 = p[r0, q1] if i0 and j1 else zero
                    d02 = p[r0, q2] if i0 and j2 else zero
                    d03 = p[r0, q3] if i0 and j3 else zero
                    d10 = p[r1, q0] if i1 and j0 else zero
                    d11 = p[r1, q1] if i1 and j1 else zero
                    d12 = p[r1, q2] if i1 and j2 else zero
                    d13 = p[r1, q3] if i1 and j3 else zero
                    d20 = p[r2, q0] if i2 and j0 else zero
                    d21 = p[r2, q1] if i2 and j1 else zero
                    d22 = p[r2, q2] if i2 and j2 else zero
                    d23 = p[r2, q3] if i2 and j3 else zero
                    d30 = p[r3, q0] if i3 and j0 else zero
                    d31 = p[r3, q1] if i3 and j1 else zero
                    d32 = p[r3, q2] if i3 and j2 else zero
                    d33 = p[r3, q3] if i3 and j3 else zero
                    # BT @ d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3
                    a0, a1, a2, a3 = d00 - d20, d01 - d21, d02 - d22, d03 - d23
                    b0, b1, b2, b3 = d10 + d20, d11 + d21, d12 + d22, d13 + d23
                    c0, c1, c2, c3 = d20 - d10, d21 - d11, d22 - d12, d23 - d13
                    e0, e1, e2, e3 = d10 - d30, d11 - d31, d12 - d32, d13 - d33
                    # fmt: on
                    # ... @ BT.T: the same on the columns of each row
                    v[t, 0, ci] = a0 - a2
                    v[t, 1, ci] = a1 + a2
                    v[t, 2, ci] = a2 - a1
                    v[t, 3, ci] = a1 - a3
                    v[t, 4, ci] = b0 - b2
                    v[t, 5, ci] = b1 + b2
                    v[t, 6, ci] = b2 - b1
                    v[t, 7, ci] = b1 - b3
                    v[t, 8, ci] = c0 - c2
                    v[t, 9, ci] = c1 + c2
                    v[t, 10, ci] = c2 - c1
                    v[t, 11, ci] = c1 - c3
                    v[t, 12, ci] = e0 - e2
                    v[t, 13, ci] = e1 + e2
                    v[t, 14, ci] = e2 - e1
                    v[t, 15, ci] = e1 - e3


@_jit
def _output_tiles(mm, y, bias, th, tw, lo, hi):
    """y[b, o, 2ty + i, 2tx + j] = (AT @ m @ AT.T)[i, j] + bias[o] for the products' 4x4
    tile m of output channel o at tile t (a ragged last tile writes what is inside y).
    Straight into NCHW: 1.7x faster than a channels-last block moved afterwards (measured)."""
    m, _, oh, ow = y.shape
    for b in range(m):
        for ty in range(th):
            r = 2 * ty
            two_rows = r + 1 < oh
            for tx in range(tw):
                t = (b * th + ty) * tw + tx
                q = 2 * tx
                two_cols = q + 1 < ow
                for oc in range(lo, hi):
                    # AT @ m: rows m0 + m1 + m2 and m1 - m2 - m3
                    s0 = mm[0, t, oc] + mm[4, t, oc] + mm[8, t, oc]
                    s1 = mm[1, t, oc] + mm[5, t, oc] + mm[9, t, oc]
                    s2 = mm[2, t, oc] + mm[6, t, oc] + mm[10, t, oc]
                    s3 = mm[3, t, oc] + mm[7, t, oc] + mm[11, t, oc]
                    u0 = mm[4, t, oc] - mm[8, t, oc] - mm[12, t, oc]
                    u1 = mm[5, t, oc] - mm[9, t, oc] - mm[13, t, oc]
                    u2 = mm[6, t, oc] - mm[10, t, oc] - mm[14, t, oc]
                    u3 = mm[7, t, oc] - mm[11, t, oc] - mm[15, t, oc]
                    bo = bias[oc]
                    # ... @ AT.T: the same on the columns
                    y[b, oc, r, q] = s0 + s1 + s2 + bo
                    if two_cols:
                        y[b, oc, r, q + 1] = s1 - s2 - s3 + bo
                    if two_rows:
                        y[b, oc, r + 1, q] = u0 + u1 + u2 + bo
                        if two_cols:
                            y[b, oc, r + 1, q + 1] = u1 - u2 - u3 + bo


@_jit
def _grad_tiles(gy, g, th, tw, lo, hi):
    """g[t, (i, j), o] = (AT.T @ e @ AT)[i, j], the output transform's adjoint, for the 2x2
    block e of gy's channel o at tile t (zero where a ragged last tile has no output)."""
    n, _, oh, ow = gy.shape
    zero = gy.dtype.type(0)
    for b in range(n):
        for ty in range(th):
            y = 2 * ty
            y1 = min(y + 1, oh - 1)
            two_rows = y + 1 < oh
            for tx in range(tw):
                t = (b * th + ty) * tw + tx
                q = 2 * tx
                q1 = min(q + 1, ow - 1)
                two_cols = q + 1 < ow
                for oc in range(lo, hi):
                    p = gy[b, oc]
                    e00 = p[y, q]
                    e01 = p[y, q1] if two_cols else zero
                    e10 = p[y1, q] if two_rows else zero
                    e11 = p[y1, q1] if two_rows and two_cols else zero
                    # AT.T @ e: rows e0, e0 + e1, e0 - e1, -e1; then the same on the columns
                    p0, p1 = e00 + e10, e01 + e11
                    n0, n1 = e00 - e10, e01 - e11
                    g[t, 0, oc] = e00
                    g[t, 1, oc] = e00 + e01
                    g[t, 2, oc] = e00 - e01
                    g[t, 3, oc] = -e01
                    g[t, 4, oc] = p0
                    g[t, 5, oc] = p0 + p1
                    g[t, 6, oc] = p0 - p1
                    g[t, 7, oc] = -p1
                    g[t, 8, oc] = n0
                    g[t, 9, oc] = n0 + n1
                    g[t, 10, oc] = n0 - n1
                    g[t, 11, oc] = -n1
                    g[t, 12, oc] = -e10
                    g[t, 13, oc] = -(e10 + e11)
                    g[t, 14, oc] = e11 - e10
                    g[t, 15, oc] = e11


@_jit
def _input_tiles_adjoint(dv, acc, th, tw, lo, hi):
    """acc (the padded input's shape, NCHW, zeroed) += BT.T @ dv_t @ BT where each tile was
    read; the tiles overlap by two rows and columns."""
    m = acc.shape[0]
    for b in range(m):
        for ty in range(th):
            y = 2 * ty
            for tx in range(tw):
                t = (b * th + ty) * tw + tx
                q = 2 * tx
                for ci in range(lo, hi):
                    # BT.T @ dv: rows dv0, dv1 - dv2 + dv3, dv1 + dv2 - dv0, -dv3
                    a0, a1, a2, a3 = dv[0, t, ci], dv[1, t, ci], dv[2, t, ci], dv[3, t, ci]
                    b0, b1, b2, b3 = dv[4, t, ci], dv[5, t, ci], dv[6, t, ci], dv[7, t, ci]
                    c0, c1, c2, c3 = dv[8, t, ci], dv[9, t, ci], dv[10, t, ci], dv[11, t, ci]
                    d0, d1, d2, d3 = dv[12, t, ci], dv[13, t, ci], dv[14, t, ci], dv[15, t, ci]
                    e0, e1, e2, e3 = b0 - c0 + d0, b1 - c1 + d1, b2 - c2 + d2, b3 - c3 + d3
                    f0, f1, f2, f3 = b0 + c0 - a0, b1 + c1 - a1, b2 + c2 - a2, b3 + c3 - a3
                    # ... @ BT: the same on the columns, added into the tile's 4x4
                    p = acc[b, ci]
                    p[y, q] += a0
                    p[y, q + 1] += a1 - a2 + a3
                    p[y, q + 2] += a1 + a2 - a0
                    p[y, q + 3] -= a3
                    p[y + 1, q] += e0
                    p[y + 1, q + 1] += e1 - e2 + e3
                    p[y + 1, q + 2] += e1 + e2 - e0
                    p[y + 1, q + 3] -= e3
                    p[y + 2, q] += f0
                    p[y + 2, q + 1] += f1 - f2 + f3
                    p[y + 2, q + 2] += f1 + f2 - f0
                    p[y + 2, q + 3] -= f3
                    p[y + 3, q] -= d0
                    p[y + 3, q + 1] -= d1 - d2 + d3
                    p[y + 3, q + 2] -= d1 + d2 - d0
                    p[y + 3, q + 3] += d3


@_jit
def _weight_grad_kernels(du, gw, lo, hi):
    """gw[i] = G.T @ dU_i @ G (3x3, row-major) for i in lo:hi, dU_i = du[:, i] (4x4), in
    float64 (a float32 gw carries one rounding, as the product with kron(G, G) would)."""
    h = 0.5
    f8 = np.float64
    for i in range(lo, hi):
        d0, d1, d2, d3 = f8(du[0, i]), f8(du[1, i]), f8(du[2, i]), f8(du[3, i])
        e0, e1, e2, e3 = f8(du[4, i]), f8(du[5, i]), f8(du[6, i]), f8(du[7, i])
        f0, f1, f2, f3 = f8(du[8, i]), f8(du[9, i]), f8(du[10, i]), f8(du[11, i])
        k0, k1, k2, k3 = f8(du[12, i]), f8(du[13, i]), f8(du[14, i]), f8(du[15, i])
        # G.T @ dU: rows d + (e + f) / 2, (e - f) / 2, (e + f) / 2 + k
        a0, a1, a2, a3 = (
            d0 + h * (e0 + f0),
            d1 + h * (e1 + f1),
            d2 + h * (e2 + f2),
            d3 + h * (e3 + f3),
        )
        b0, b1, b2, b3 = h * (e0 - f0), h * (e1 - f1), h * (e2 - f2), h * (e3 - f3)
        c0, c1, c2, c3 = (
            h * (e0 + f0) + k0,
            h * (e1 + f1) + k1,
            h * (e2 + f2) + k2,
            h * (e3 + f3) + k3,
        )
        # ... @ G: the same on the columns of each row
        g = gw[i]
        g[0], g[1], g[2] = a0 + h * (a1 + a2), h * (a1 - a2), h * (a1 + a2) + a3
        g[3], g[4], g[5] = b0 + h * (b1 + b2), h * (b1 - b2), h * (b1 + b2) + b3
        g[6], g[7], g[8] = c0 + h * (c1 + c2), h * (c1 - c2), h * (c1 + c2) + c3


# ---------------------------------------------------------------- the transforms, shared
if gemm.AVAILABLE:  # the cores split the channels (numba's thread pool, as gemm's products)
    from numba import njit as _njit
    from numba import prange

    _pjit = _njit(cache=True, nogil=True, parallel=True)

    @_pjit
    def _input_tiles_shared(x, v, ph, pw, th, tw, parts):
        for p in prange(parts):
            lo, hi = gemm._cut(x.shape[1], parts, 16, p)
            _input_tiles(x, v, ph, pw, th, tw, lo, hi)

    @_pjit
    def _output_tiles_shared(mm, y, bias, th, tw, parts):
        for p in prange(parts):
            lo, hi = gemm._cut(y.shape[1], parts, 16, p)
            _output_tiles(mm, y, bias, th, tw, lo, hi)

    @_pjit
    def _grad_tiles_shared(gy, g, th, tw, parts):
        for p in prange(parts):
            lo, hi = gemm._cut(gy.shape[1], parts, 16, p)
            _grad_tiles(gy, g, th, tw, lo, hi)

    @_pjit
    def _input_tiles_adjoint_shared(dv, acc, th, tw, parts):
        for p in prange(parts):
            lo, hi = gemm._cut(acc.shape[1], parts, 16, p)
            _input_tiles_adjoint(dv, acc, th, tw, lo, hi)

    @_pjit
    def _weight_grad_shared(du, gw, parts):
        for p in prange(parts):
            lo, hi = gemm._cut(du.shape[1], parts, 16, p)
            _weight_grad_kernels(du, gw, lo, hi)

    _SHARED = {
        _input_tiles: _input_tiles_shared,
        _output_tiles: _output_tiles_shared,
        _grad_tiles: _grad_tiles_shared,
        _input_tiles_adjoint: _input_tiles_adjoint_shared,
    }


# ---------------------------------------------------------------- convolution drivers
def conv2d(x, w, b, geo, scratch, keep=False):
    """(y, tiles): y (N, O, oH, oW) = conv(x, w) (+ b), per chunk: tiles, 16 products, output
    tiles. With ``keep``, tiles are x's transformed tiles of the whole batch for
    conv2d_backward (see _tile_rows), when they fit in KEEP_BYTES; None otherwise."""
    n, c = x.shape[:2]
    o = w.shape[0]
    ph, pw, oh, ow = geo[4], geo[5], geo[8], geo[9]
    th, tw = _tiles(geo)
    x = np.ascontiguousarray(x)
    u = transform_weight(w).transpose(0, 2, 1)  # (16, C, O), read transposed by the product
    y = np.empty((n, o, oh, ow), x.dtype)
    bias = np.zeros(o, x.dtype) if b is None else b
    kept = None
    if keep and n * th * tw * 16 * (c + 16) * x.itemsize <= KEEP_BYTES:
        kept = _tile_rows(None, "", n * th * tw, c, x.dtype)
    step = _chunk(n, max(c, o), th * tw, x.itemsize)
    for s in range(0, n, step):
        m = min(step, n - s)
        t = m * th * tw
        if kept is None:
            v = _tile_rows(scratch, "wino_v", t, c, x.dtype)
        else:
            v = kept[s * th * tw : s * th * tw + t]
        _shared(_input_tiles, x[s : s + m], v, ph, pw, th, tw, channels=c)
        mm = _planes(scratch, "wino_m", t, o, x.dtype)
        gemm.matmul(v[:, :, :c].transpose(1, 0, 2), u, out=mm)
        _shared(_output_tiles, mm, y[s : s + m], bias, th, tw, channels=o)
    return y, kept


def conv2d_backward(x, w, gy, size, geo, scratch, need_x=True, need_w=True, tiles=None):
    """(gx, gw) of conv2d, None where not needed: per chunk, gy's tiles once, then the 16
    products of each gradient. ``size`` is x's (H, W); ``x`` is read only for gw, ``w``
    only for gx (either may be None when its gradient is not needed); ``tiles``, the ones
    conv2d kept, stand in for x's."""
    n, o = gy.shape[:2]
    ph, pw = geo[4], geo[5]
    th, tw = _tiles(geo)
    c = w.shape[1] if need_x else x.shape[1]
    hp, wp = 2 * th + 2, 2 * tw + 2
    gy = np.ascontiguousarray(gy)
    if need_w and tiles is None:
        x = np.ascontiguousarray(x)
    gx = gw = du = u = None
    if need_x:
        u = transform_weight(w)  # (16, O, C)
        gx = np.empty((n, c) + tuple(size), gy.dtype)
    if need_w:
        du = np.empty((16, o, c), gy.dtype)
    step = _chunk(n, max(c, o), th * tw, gy.itemsize)
    for s in range(0, n, step):
        m = min(step, n - s)
        t = m * th * tw
        g = _tile_rows(scratch, "wino_g", t, o, gy.dtype)
        _shared(_grad_tiles, gy[s : s + m], g, th, tw, channels=o)
        g = g[:, :, :o].transpose(1, 0, 2)  # (16, T, O): each k a matrix of rows 16 (O + 16) apart
        if need_w and tiles is not None:
            v = tiles[s * th * tw : s * th * tw + t]
        elif need_w:
            v = _tile_rows(scratch, "wino_v", t, c, gy.dtype)
            _shared(_input_tiles, x[s : s + m], v, ph, pw, th, tw, channels=c)
        if need_w:
            v = v[:, :, :c].transpose(1, 0, 2)
            gemm.matmul(g.transpose(0, 2, 1), v, out=du, accumulate=s > 0)
        if need_x:
            dv = _planes(scratch, "wino_dv", t, c, gy.dtype)
            gemm.matmul(g, u, out=dv)
            acc = scratch("wino_gx", (m, c, hp, wp), gy.dtype)
            acc[...] = 0
            _shared(_input_tiles_adjoint, dv, acc, th, tw, channels=c)
            h, w_ = min(size[0], hp - ph), min(size[1], wp - pw)
            gxs = gx[s : s + m]
            gxs[:, :, :h, :w_] = acc[:, :, ph : ph + h, pw : pw + w_]
            if h < size[0] or w_ < size[1]:  # rows or columns that no window reads
                gxs[:, :, h:] = 0
                gxs[:, :, :h, w_:] = 0
    if need_w:
        gw = weight_grad(du, o, c)
    return gx, gw
