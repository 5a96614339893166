"""Winograd convolution F(2x2, 3x3): the 3x3, stride-1 convolutions of ember.kernels.conv
with 16 multiplications per 2x2 block of output instead of 36.

For one channel pair, a 2x2 block of output y is read from a 4x4 tile d of the (padded)
input, and with the 3x3 kernel g

    y = AT @ ((G @ g @ G.T) * (BT @ d @ BT.T)) @ AT.T        (* elementwise, on 4x4)

(AT, G, BT below). Summed over input channels, the elementwise products become 16 matrix
products, one per position of the 4x4 tile: M[k] = V[k] @ U[k].T with V[k] (T, C) the
transformed tiles (T tiles of a chunk) and U[k] (O, C) the transformed kernels. That is
4/9 of the multiply-adds of im2col's single product. The transforms are a few additions
per value, compiled loops over a channels-last copy of the chunk, so that their innermost
loop runs along contiguous channels.

The backward is the adjoint of the same three steps. With Gy = AT.T @ e @ AT (the output
transform's adjoint, one 4x4 per tile and output channel, from gy's 2x2 block e):

    gw = G.T @ (sum over tiles of Gy[k].T @ V[k]) @ G        (16 products, then 4x4 -> 3x3)
    gx = the sum of BT.T @ (Gy[k] @ U[k]) @ BT over the 4x4 tiles, which overlap by 2

so one pass over a chunk gives both gradients and shares Gy between them. The products are
exact rearrangements of the convolution's sums: only rounding differs from im2col's (about
as much, in float32; F(4x4, 3x3) would save more products but its rounding error was 15-50
times im2col's on 32-256 channels, measured, so it is not used).

These loops need numba; without it ember.kernels.conv keeps im2col.
"""

from __future__ import annotations

import numpy as np

from ember import kernels

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
# The forward keeps a layer's transformed input tiles for its backward (which then skips
# transforming x again, ~15% of it) when they take at most this much: 4x the input's size,
# so a small layer's cost in memory, not a large one's.
KEEP_BYTES = 8 << 20


def usable(geo, c: int, o: int) -> bool:
    """Whether the convolution of geometry ``geo`` (see ember.kernels.conv) runs here: 3x3,
    stride 1, no dilation, and enough channels for the 16 products to pay."""
    kh, kw, sh, sw, _, _, dh, dw, oh, ow = geo
    return (
        kernels.HAVE_NUMBA
        and kh == kw == 3
        and sh == sw == dh == dw == 1
        and min(c, o) >= MIN_CHANNELS
        and oh >= 2
        and ow >= 2
    )


def transform_weight(w: np.ndarray) -> np.ndarray:
    """U (16, O, C): G @ w[o, c] @ G.T for every kernel, as one product with kron(G, G)."""
    o, c = w.shape[:2]
    u = np.matmul(_GG.astype(w.dtype), w.reshape(o * c, 9).T)  # (16, O * C)
    return u.reshape(16, o, c)


def weight_grad(du: np.ndarray, o: int, c: int) -> np.ndarray:
    """gw (O, C, 3, 3) from the gradient of U (16, O, C): G.T @ dU[o, c] @ G for each."""
    gw = np.matmul(du.reshape(16, o * c).T, _GG.astype(du.dtype))  # (O * C, 9)
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


def _chunk(n, c, tiles_per_sample, itemsize):
    fit = CHUNK_BYTES // max(1, 16 * c * tiles_per_sample * itemsize)
    return max(1, min(n, max(fit, -(-MIN_TILES // tiles_per_sample))))


# ---------------------------------------------------------------- the transforms, numba
if kernels.HAVE_NUMBA:
    from numba import njit

    _jit = njit(cache=True, nogil=True)
else:  # never called: usable() is False without numba

    def _jit(fn):
        return fn


@_jit
def _input_tiles(xp, v, th, tw):
    """v[t, (i, j), c] = (BT @ d @ BT.T)[i, j] for the 4x4 tile d of channel c at tile
    t = (sample, ty, tx): rows 2ty.. and columns 2tx.. of the padded channels-last xp."""
    m, c = xp.shape[0], xp.shape[3]
    for b in range(m):
        p = xp[b]
        for ty in range(th):
            y = 2 * ty
            for tx in range(tw):
                t = (b * th + ty) * tw + tx
                q = 2 * tx
                for ci in range(c):  # channels are contiguous: this loop vectorises
                    # BT @ d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3
                    # fmt: off
                    d0, d1, d2, d3 = p[y, q, ci], p[y, q + 1, ci], p[y, q + 2, ci], p[y, q + 3, ci]
                    e0, e1, e2, e3 = p[y + 1, q, ci], p[y + 1, q + 1, ci], p[y + 1, q + 2, ci], p[y + 1, q + 3, ci]
                    f0, f1, f2, f3 = p[y + 2, q, ci], p[y + 2, q + 1, ci], p[y + 2, q + 2, ci], p[y + 2, q + 3, ci]
                    g0, g1, g2, g3 = p[y + 3, q, ci], p[y + 3, q + 1, ci], p[y + 3, q + 2, ci], p[y + 3, q + 3, ci]
                    # fmt: on
                    a0, a1, a2, a3 = d0 - f0, d1 - f1, d2 - f2, d3 - f3
                    b0, b1, b2, b3 = e0 + f0, e1 + f1, e2 + f2, e3 + f3
                    c0, c1, c2, c3 = f0 - e0, f1 - e1, f2 - e2, f3 - e3
                    h0, h1, h2, h3 = e0 - g0, e1 - g1, e2 - g2, e3 - g3
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
                    v[t, 12, ci] = h0 - h2
                    v[t, 13, ci] = h1 + h2
                    v[t, 14, ci] = h2 - h1
                    v[t, 15, ci] = h1 - h3


@_jit
def _output_tiles(mm, yh, bias, th, tw):
    """yh[b, 2ty + i, 2tx + j, o] = (AT @ m @ AT.T)[i, j] + bias[o] for the products'
    4x4 tile m of output channel o at tile t; yh is channels-last, 2th x 2tw."""
    m, o = yh.shape[0], yh.shape[3]
    for b in range(m):
        for ty in range(th):
            y = 2 * ty
            for tx in range(tw):
                t = (b * th + ty) * tw + tx
                q = 2 * tx
                for oc in range(o):
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
                    yh[b, y, q, oc] = s0 + s1 + s2 + bo
                    yh[b, y, q + 1, oc] = s1 - s2 - s3 + bo
                    yh[b, y + 1, q, oc] = u0 + u1 + u2 + bo
                    yh[b, y + 1, q + 1, oc] = u1 - u2 - u3 + bo


@_jit
def _grad_tiles(gh, g, th, tw):
    """g[t, (i, j), o] = (A @ e @ A.T)[i, j], the output transform's adjoint, for the 2x2
    tile e of channel o of the channels-last gh (2th x 2tw, zero past the output)."""
    m, o = gh.shape[0], gh.shape[3]
    for b in range(m):
        for ty in range(th):
            y = 2 * ty
            for tx in range(tw):
                t = (b * th + ty) * tw + tx
                q = 2 * tx
                for oc in range(o):
                    e00, e01 = gh[b, y, q, oc], gh[b, y, q + 1, oc]
                    e10, e11 = gh[b, y + 1, q, oc], gh[b, y + 1, q + 1, oc]
                    # A @ e: rows e0, e0 + e1, e0 - e1, -e1; then the same on the columns
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
def _input_tiles_adjoint(dv, acc, th, tw):
    """acc (padded, channels-last, zeroed) += BT.T @ dv_t @ BT placed where each tile was
    read; the tiles overlap by two rows and columns."""
    m, c = acc.shape[0], acc.shape[3]
    for b in range(m):
        for ty in range(th):
            y = 2 * ty
            for tx in range(tw):
                t = (b * th + ty) * tw + tx
                q = 2 * tx
                for ci in range(c):
                    # BT.T @ dv: rows dv0, dv1 - dv2 + dv3, dv1 + dv2 - dv0, -dv3
                    a0, a1, a2, a3 = dv[0, t, ci], dv[1, t, ci], dv[2, t, ci], dv[3, t, ci]
                    b0, b1, b2, b3 = dv[4, t, ci], dv[5, t, ci], dv[6, t, ci], dv[7, t, ci]
                    c0, c1, c2, c3 = dv[8, t, ci], dv[9, t, ci], dv[10, t, ci], dv[11, t, ci]
                    d0, d1, d2, d3 = dv[12, t, ci], dv[13, t, ci], dv[14, t, ci], dv[15, t, ci]
                    e0, e1, e2, e3 = b0 - c0 + d0, b1 - c1 + d1, b2 - c2 + d2, b3 - c3 + d3
                    f0, f1, f2, f3 = b0 + c0 - a0, b1 + c1 - a1, b2 + c2 - a2, b3 + c3 - a3
                    # ... @ BT: the same on the columns, added into the tile's 4x4
                    acc[b, y, q, ci] += a0
                    acc[b, y, q + 1, ci] += a1 - a2 + a3
                    acc[b, y, q + 2, ci] += a1 + a2 - a0
                    acc[b, y, q + 3, ci] -= a3
                    acc[b, y + 1, q, ci] += e0
                    acc[b, y + 1, q + 1, ci] += e1 - e2 + e3
                    acc[b, y + 1, q + 2, ci] += e1 + e2 - e0
                    acc[b, y + 1, q + 3, ci] -= e3
                    acc[b, y + 2, q, ci] += f0
                    acc[b, y + 2, q + 1, ci] += f1 - f2 + f3
                    acc[b, y + 2, q + 2, ci] += f1 + f2 - f0
                    acc[b, y + 2, q + 3, ci] -= f3
                    acc[b, y + 3, q, ci] -= d0
                    acc[b, y + 3, q + 1, ci] -= d1 - d2 + d3
                    acc[b, y + 3, q + 2, ci] -= d1 + d2 - d0
                    acc[b, y + 3, q + 3, ci] += d3


@_jit
def _channels_last(x, out, ph, pw):
    """out (m, H', W', C) = x (m, C, H, W) moved to channels-last at offset (ph, pw), zero
    around it (out may be larger than the padded x; rows of x past its end are left out)."""
    m, c = x.shape[:2]
    hp, wp = out.shape[1:3]
    h, w = min(x.shape[2], hp - ph), min(x.shape[3], wp - pw)
    for b in range(m):
        for r in range(hp):  # the zero border
            if r < ph or r >= ph + h:
                out[b, r] = 0
            else:
                out[b, r, :pw] = 0
                out[b, r, pw + w :] = 0
        for ci in range(c):  # x read in order (its planes are far apart), out is in cache
            for r in range(h):
                src = x[b, ci, r]
                dst = out[b, ph + r]
                for q in range(w):
                    dst[pw + q, ci] = src[q]


@_jit
def _channels_first(xh, out, ph, pw):
    """out (m, C, H, W) = xh (m, H', W', C) read from offset (ph, pw); positions of out
    past the end of xh get zero."""
    m, c, h, w = out.shape
    hp, wp = xh.shape[1:3]
    hh, ww = min(h, hp - ph), min(w, wp - pw)
    for b in range(m):
        for ci in range(c):
            for r in range(hh):
                dst = out[b, ci, r]
                for q in range(ww):
                    dst[q] = xh[b, ph + r, pw + q, ci]
                for q in range(ww, w):
                    dst[q] = 0
            for r in range(hh, h):
                out[b, ci, r] = 0


# ---------------------------------------------------------------- convolution drivers
def conv2d(x, w, b, geo, scratch, keep=False):
    """(y, tiles): y (N, O, oH, oW) = conv(x, w) (+ b), per chunk: tiles, 16 products, output
    tiles. With ``keep``, tiles are x's transformed tiles (T, 16, C) of the whole batch for
    conv2d_backward, when they fit in KEEP_BYTES; None otherwise."""
    n, c = x.shape[:2]
    o = w.shape[0]
    ph, pw, oh, ow = geo[4], geo[5], geo[8], geo[9]
    th, tw = _tiles(geo)
    x = np.ascontiguousarray(x)
    u = transform_weight(w).transpose(0, 2, 1)  # (16, C, O), read transposed by BLAS
    y = np.empty((n, o, oh, ow), x.dtype)
    bias = np.zeros(o, x.dtype) if b is None else b
    kept = None
    if keep and n * th * tw * 16 * c * x.itemsize <= KEEP_BYTES:
        kept = np.empty((n * th * tw, 16, c), x.dtype)
    step = _chunk(n, max(c, o), th * tw, x.itemsize)
    for s in range(0, n, step):
        m = min(step, n - s)
        t = m * th * tw
        xp = scratch("wino_x", (m, 2 * th + 2, 2 * tw + 2, c), x.dtype)
        _channels_last(x[s : s + m], xp, ph, pw)
        if kept is None:
            v = scratch("wino_v", (t, 16, c), x.dtype)
        else:
            v = kept[s * th * tw : s * th * tw + t]
        _input_tiles(xp, v, th, tw)
        mm = _planes(scratch, "wino_m", t, o, x.dtype)
        np.matmul(v.transpose(1, 0, 2), u, out=mm)
        yh = scratch("wino_y", (m, 2 * th, 2 * tw, o), x.dtype)
        _output_tiles(mm, yh, bias, th, tw)
        _channels_first(yh, y[s : s + m], 0, 0)
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
    gx = gw = du = part = u = None
    if need_x:
        u = transform_weight(w)  # (16, O, C)
        gx = np.empty((n, c) + tuple(size), gy.dtype)
    if need_w:
        du = np.zeros((16, o, c), gy.dtype)
        part = scratch("wino_du", (16, o, c), gy.dtype)
    step = _chunk(n, max(c, o), th * tw, gy.itemsize)
    for s in range(0, n, step):
        m = min(step, n - s)
        t = m * th * tw
        gh = scratch("wino_y", (m, 2 * th, 2 * tw, o), gy.dtype)
        _channels_last(gy[s : s + m], gh, 0, 0)
        g = scratch("wino_g", (t, 16, o), gy.dtype)
        _grad_tiles(gh, g, th, tw)
        g = g.transpose(1, 0, 2)  # (16, T, O): each k a matrix with rows 16 * O apart
        if need_w and tiles is not None:
            v = tiles[s * th * tw : s * th * tw + t]
        elif need_w:
            xp = scratch("wino_x", (m, hp, wp, c), gy.dtype)
            _channels_last(x[s : s + m], xp, ph, pw)
            v = scratch("wino_v", (t, 16, c), gy.dtype)
            _input_tiles(xp, v, th, tw)
        if need_w:
            np.matmul(g.transpose(0, 2, 1), v.transpose(1, 0, 2), out=part)
            du += part
        if need_x:
            dv = _planes(scratch, "wino_dv", t, c, gy.dtype)
            np.matmul(g, u, out=dv)
            acc = scratch("wino_x", (m, hp, wp, c), gy.dtype)
            acc[...] = 0
            _input_tiles_adjoint(dv, acc, th, tw)
            _channels_first(acc, gx[s : s + m], ph, pw)
    if need_w:
        gw = weight_grad(du, o, c)
    return gx, gw
