"""Convolution, pooling, padding and resizing ops (``ember.nn.functional``).

Every op here is lifted to two spatial dimensions (a 1-D op is the 2-D op on a height of 1)
and works on a *geometry*: the sizes, kernel, stride, padding and dilation that say which
input positions each output position reads. Three Functions carry all of convolution:

    _Conv   x, w -> y        y = conv(x, w)          (im2col, then one batched matmul)
    _ConvT  y, w -> x        the adjoint of _Conv in its first argument (col2im)
    _ConvW  x, gy -> gw      the adjoint of _Conv in its second argument

The backward of each is written with the other two, so gradients of gradients come for
free. Pooling, padding and resizing follow the same pattern with smaller pairs of mutually
adjoint Functions: a sum over windows and its transpose, a gather and its scatter-add.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from ember import kernels
from ember.amp import autocast_args
from ember.amp import state as _amp
from ember.autograd import grad_mode
from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.kernels import conv as _kc
from ember.ops._util import check_tensor
from ember.ops.linalg import Matmul
from ember.tensor import Tensor

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "conv1d",
    "conv2d", "conv_transpose1d", "conv_transpose2d", "interpolate", "max_pool1d",
    "max_pool2d", "pad",
]  # fmt: skip

_LAYOUT = {1: ("(N, C, L)", "(C, L)"), 2: ("(N, C, H, W)", "(C, H, W)")}


# ---------------------------------------------------------------- argument checks
def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _ints(op: str, name: str, value, n: int) -> tuple:
    """An int, or a sequence of ``n`` ints (a sequence of one is repeated), as a tuple."""
    if type(value) is tuple and len(value) == n and all(type(v) is int for v in value):
        return value  # what the layers pass on every call (checked at construction)
    vals = tuple(value) if isinstance(value, (list, tuple)) else (value,) * n
    if len(vals) == 1:
        vals = vals * n
    if not all(_is_int(v) for v in vals):
        raise TypeError(
            f"{op}: expected {name} to be an int or a tuple of {n} ints, received {value!r}"
        )
    if len(vals) != n:
        raise ValueError(
            f"{op}: expected {name} to be an int or a tuple of {n} ints, received {value!r}"
        )
    return tuple(int(v) for v in vals)


def _positive(op: str, name: str, vals: tuple) -> tuple:
    if any(v <= 0 for v in vals):
        raise ValueError(f"{op}: {name} must be positive, received {_show(vals)}")
    return vals


def _show(vals: tuple):
    return vals[0] if len(vals) == 1 else vals


def _check_input(op: str, x, nd: int, what: str = "input") -> bool:
    """Check that ``x`` is batched (nd + 2 dims) or unbatched (nd + 1); True if unbatched."""
    check_tensor(x, op, what)
    if x.ndim not in (nd + 1, nd + 2):
        batched, unbatched = _LAYOUT[nd]
        raise RuntimeError(
            f"{op}: expected {what} with {nd + 2} dimensions {batched} or {nd + 1} {unbatched}, "
            f"received shape {tuple(x.shape)}"
        )
    return x.ndim == nd + 1


def _height1(size, out, kernel, stride, pads, dilation) -> tuple:
    """The spatial arguments of a 1-D op as those of the 2-D op on a height of 1."""
    return ((1,) + size, (1,) + out, (1,) + kernel, (1,) + stride, ((0, 0),) + pads,
            (1,) + dilation)  # fmt: skip


def _unlift(y, nd, unbatched):
    if nd == 1:
        y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


# ---------------------------------------------------------------- geometry and raw helpers
class _Geom(NamedTuple):
    """Which positions of an input (X side) each output position (Y side) reads.

    ``size`` is the unpadded spatial size on the X side, ``out`` the size on the Y side;
    ``padding`` holds (before, after) for each spatial dim.
    """

    size: tuple
    out: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    groups: int = 1


def _pad_raw(x, pads, value=0):
    """``x`` with its last ``len(pads)`` dims padded by (before, after); negative crops."""
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    xp = get_array_module(x)
    lead = x.ndim - len(pads)
    shape = x.shape[:lead] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[lead:], pads))
    y = xp.full(shape, value, dtype=x.dtype)
    src, dst = [slice(None)] * lead, [slice(None)] * lead
    for n, (lo, hi) in zip(x.shape[lead:], pads):
        keep = n - max(-lo, 0) - max(-hi, 0)
        if keep <= 0:
            return y
        src.append(slice(max(-lo, 0), max(-lo, 0) + keep))
        dst.append(slice(max(lo, 0), max(lo, 0) + keep))
    y[tuple(dst)] = x[tuple(src)]
    return y


def _taps(g: _Geom):
    """For each kernel offset, the slices of the padded X side that the Y side reads."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = g.kernel, g.stride, g.dilation, g.out
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                         slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))  # fmt: skip


def _windows(xpad, g: _Geom):
    """A strided view (N, C, oH, oW, kH, kW) of every window of the padded input."""
    xp = get_array_module(xpad)
    n, c = xpad.shape[:2]
    s_n, s_c, s_h, s_w = xpad.strides
    shape = (n, c) + g.out + g.kernel
    strides = (s_n, s_c, s_h * g.stride[0], s_w * g.stride[1],
               s_h * g.dilation[0], s_w * g.dilation[1])  # fmt: skip
    return xp.lib.stride_tricks.as_strided(xpad, shape, strides)


def _new_canvas(xp, lead, g: _Geom, dtype):
    (h, w), ((t, b), (left, r)) = g.size, g.padding
    return xp.zeros(tuple(lead) + (h + t + b, w + left + r), dtype=dtype)


def _crop(xp, canvas, g: _Geom):
    (h, w), ((t, _), (left, _)) = g.size, g.padding
    return xp.ascontiguousarray(canvas[..., t : t + h, left : left + w])


def _im2col(x, g: _Geom):
    """x (N, C, H, W) -> columns (G, C/G * kH * kW, N * oH * oW), one row per (channel,
    kernel offset); the rows run over the output positions, so the copy reads x in order."""
    n, c = x.shape[:2]
    cg = c // g.groups
    cols = _windows(_pad_raw(x, g.padding), g).reshape((n, g.groups, cg) + g.out + g.kernel)
    return cols.transpose(1, 2, 5, 6, 0, 3, 4).reshape(
        g.groups, cg * g.kernel[0] * g.kernel[1], n * g.out[0] * g.out[1]
    )


def _grouped(y, groups):
    """(N, O, oH, oW) -> (G, O/G, N * oH * oW), the layout the matmuls produce and take."""
    n, o, oh, ow = y.shape
    return (
        y.reshape(n, groups, o // groups, oh * ow)
        .transpose(1, 2, 0, 3)
        .reshape(groups, o // groups, n * oh * ow)
    )


def _ungrouped(y, n, out):
    groups, og = y.shape[:2]
    y = y.reshape((groups, og, n) + out).transpose(2, 0, 1, 3, 4)
    return y.reshape((n, groups * og) + out)


# ---------------------------------------------------------------- fast path dispatch
_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _fast_conv(g: _Geom, *arrays) -> bool:
    """Whether the chunked im2col kernels (ember.kernels.conv) take this convolution: NumPy
    arrays of one float dtype, no groups, nothing empty."""
    if not kernels.enabled() or g.groups != 1:
        return False
    dt = arrays[0].dtype
    return dt in _FAST_DTYPES and all(
        type(a) is np.ndarray and a.dtype == dt and a.size for a in arrays
    )


def _geo(g: _Geom) -> tuple:
    """The geometry as the kernels take it (padding before only)."""
    return g.kernel + g.stride + (g.padding[0][0], g.padding[1][0]) + g.dilation + g.out


def _conv_raw(x, w, g: _Geom):
    """x (N, C, H, W), w (O, C/G, kH, kW) -> y (N, O, oH, oW): one batched matmul."""
    if _fast_conv(g, x, w):
        kernels.taken["conv2d"] += 1
        return _kc.conv2d(x, w, None, _geo(g))
    G, o = g.groups, w.shape[0]
    y = w.reshape(G, o // G, math.prod(w.shape[1:])) @ _im2col(x, g)  # (G, O/G, N*oH*oW)
    # matmul gives float32 for bfloat16 operands
    return _ungrouped(y, x.shape[0], g.out).astype(x.dtype, copy=False)


def _conv_t_raw(gy, w, g: _Geom):
    """The transpose of _conv_raw in x: gy (N, O, oH, oW), w (O, C/G, kH, kW) -> (N, C, H, W)."""
    if _fast_conv(g, gy, w):
        kernels.taken["conv2d_grad_input"] += 1
        return _kc.conv2d_grad_input(gy, w, g.size, _geo(g))
    xp = get_array_module(gy)
    n, o = gy.shape[:2]
    G, cg = g.groups, w.shape[1]
    wt = w.reshape(G, o // G, cg * g.kernel[0] * g.kernel[1]).transpose(0, 2, 1)
    cols = (wt @ _grouped(gy, G)).astype(gy.dtype, copy=False)
    cols = cols.reshape((G, cg) + g.kernel + (n,) + g.out)
    canvas = _new_canvas(xp, (G, cg, n), g, cols.dtype)
    for i, j, (sh, sw) in _taps(g):  # col2im: each kernel offset adds into a strided slice
        canvas[..., sh, sw] += cols[:, :, i, j]
    x = _crop(xp, canvas, g).transpose(2, 0, 1, 3, 4)
    return x.reshape((n, G * cg) + g.size)


def _conv_w_raw(x, gy, g: _Geom):
    """The transpose of _conv_raw in w: x (N, C, H, W), gy (N, O, oH, oW) -> (O, C/G, kH, kW)."""
    if _fast_conv(g, x, gy):
        kernels.taken["conv2d_grad_weight"] += 1
        return _kc.conv2d_grad_weight(x, gy, _geo(g))
    G, o = g.groups, gy.shape[1]
    # the big operand (the columns) on the left keeps the batched matmul on BLAS
    gw = _im2col(x, g) @ _grouped(gy, G).transpose(0, 2, 1)  # (G, C/G*kH*kW, O/G)
    gw = gw.transpose(0, 2, 1).reshape((o, x.shape[1] // G) + g.kernel)
    return gw.astype(x.dtype, copy=False)


# ---------------------------------------------------------------- convolution Functions
def _conv_grads(ctx, gy):
    """(gx, gw) of _Conv and _ConvBias: with _ConvT and _ConvW when a graph of the gradient
    is being recorded; otherwise one fast-path call that shares the work on gy between the
    two and reuses what the forward kept."""
    x, w = ctx.saved_tensors
    need_x, need_w = ctx.needs_input_grad[:2]
    kept = ctx.__dict__.pop("kept", None)  # once: a second backward recomputes it
    if not grad_mode.state.enabled:
        xd = x._data if need_w else None
        wd = w._data if need_x else None
        if _fast_conv(ctx.geom, gy._data, *(a for a in (xd, wd) if a is not None)):
            kernels.taken["conv2d_grad_input"] += need_x
            kernels.taken["conv2d_grad_weight"] += need_w
            g = ctx.geom
            return _kc.conv2d_backward(xd, wd, gy._data, g.size, _geo(g), need_x, need_w, kept)
    gx = _ConvT.apply(gy, w, ctx.geom) if need_x else None
    gw = _ConvW.apply(x, gy, ctx.geom) if need_w else None
    return gx, gw


class _Conv(Function):
    @staticmethod
    def forward(ctx, x, w, geom):
        ctx.geom = geom
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              w if ctx.needs_input_grad[0] else None)  # fmt: skip
        if ctx.needs_input_grad[1] and _fast_conv(geom, x, w):
            kernels.taken["conv2d"] += 1
            y, ctx.kept = _kc.conv2d_keeping(x, w, None, _geo(geom))
            return y
        return _conv_raw(x, w, geom)

    @staticmethod
    def backward(ctx, gy):
        return _conv_grads(ctx, gy) + (None,)


class _ConvT(Function):
    @staticmethod
    def forward(ctx, y, w, geom):
        ctx.geom = geom
        ctx.save_for_backward(y if ctx.needs_input_grad[1] else None,
                              w if ctx.needs_input_grad[0] else None)  # fmt: skip
        return _conv_t_raw(y, w, geom)

    @staticmethod
    def backward(ctx, gx):
        y, w = ctx.saved_tensors
        gy = _Conv.apply(gx, w, ctx.geom) if ctx.needs_input_grad[0] else None
        gw = _ConvW.apply(gx, y, ctx.geom) if ctx.needs_input_grad[1] else None
        return gy, gw, None


class _ConvW(Function):
    @staticmethod
    def forward(ctx, x, gy, geom):
        ctx.geom = geom
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              gy if ctx.needs_input_grad[0] else None)  # fmt: skip
        return _conv_w_raw(x, gy, geom)

    @staticmethod
    def backward(ctx, ggw):
        x, gy = ctx.saved_tensors
        gx = _ConvT.apply(gy, ggw, ctx.geom) if ctx.needs_input_grad[0] else None
        ggy = _Conv.apply(x, ggw, ctx.geom) if ctx.needs_input_grad[1] else None
        return gx, ggy, None


class _ConvBias(Function):
    """conv(x, w) + b in one node, the bias added into the product's output in place (fast
    path only); its backward is _Conv's plus the bias's sum, so higher orders still work."""

    @staticmethod
    def forward(ctx, x, w, b, geom):
        ctx.geom = geom
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              w if ctx.needs_input_grad[0] else None)  # fmt: skip
        kernels.taken["conv2d_bias"] += 1
        if ctx.needs_input_grad[1]:
            y, ctx.kept = _kc.conv2d_keeping(x, w, b, _geo(geom))
            return y
        return _kc.conv2d(x, w, b, _geo(geom))

    @staticmethod
    def backward(ctx, gy):
        gb = None
        if ctx.needs_input_grad[2]:
            fast = not grad_mode.state.enabled and _fast_conv(ctx.geom, gy._data)
            gb = _kc.channel_sums(gy._data) if fast else gy.sum(dim=(0, 2, 3))
        return _conv_grads(ctx, gy) + (gb, None)


# ---------------------------------------------------------------- convolution, public
def _conv_padding(op, padding, kernel, stride, dilation, nd):
    """Padding as ((before, after), ...) for each spatial dim, from an int, tuple or string."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding != "same":
            raise ValueError(
                f"{op}: padding must be 'valid', 'same', an int or a tuple, received {padding!r}"
            )
        if any(s != 1 for s in stride):
            raise ValueError(
                f"{op}: padding='same' needs stride 1, received stride {_show(stride)}"
            )
        # an odd total puts the extra row/column after, as PyTorch does
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    pads = _ints(op, "padding", padding, nd)
    if any(p < 0 for p in pads):
        raise ValueError(f"{op}: padding must be non-negative, received {_show(pads)}")
    return tuple((p, p) for p in pads)


def _check_conv_common(op, input, weight, bias, groups, nd):
    unbatched = _check_input(op, input, nd)
    check_tensor(weight, op, "weight")
    if weight.ndim != nd + 2:
        kdims = "kL" if nd == 1 else "kH, kW"
        raise RuntimeError(
            f"{op}: expected weight with {nd + 2} dimensions (out_channels, in_channels/groups, "
            f"{kdims}), received shape {tuple(weight.shape)}"
        )
    if any(k <= 0 for k in weight.shape[2:]):
        raise RuntimeError(
            f"{op}: the kernel sizes must be positive, received weight shape {tuple(weight.shape)}"
        )
    if not _is_int(groups) or groups <= 0:
        raise ValueError(f"{op}: groups must be a positive int, received {groups!r}")
    if input.dtype != weight.dtype:
        raise TypeError(
            f"{op}: input ({input.dtype.name}) and weight ({weight.dtype.name}) must have the "
            "same dtype"
        )
    if bias is not None:
        check_tensor(bias, op, "bias")
        if bias.dtype != weight.dtype:
            raise TypeError(
                f"{op}: bias ({bias.dtype.name}) and weight ({weight.dtype.name}) must have the "
                "same dtype"
            )
    return unbatched


def _check_bias(op, bias, channels, weight):
    if bias is not None and tuple(bias.shape) != (channels,):
        raise RuntimeError(
            f"{op}: expected bias of shape ({channels},) for weight of shape "
            f"{tuple(weight.shape)}, received shape {tuple(bias.shape)}"
        )


# The checked geometry of each recent call: a layer called again with inputs of the same
# shapes and dtypes and the same arguments skips the checks (~10 us of a batch-1 call).
_GEOMETRIES: dict = {}


def _conv(op, input, weight, bias, stride, padding, dilation, groups, nd):
    try:
        key = (
            op, type(input), type(weight), type(bias), input.shape, input.dtype, weight.shape,
            weight.dtype, None if bias is None else (bias.shape, bias.dtype), stride, padding,
            dilation, groups,
        )  # fmt: skip
        found = _GEOMETRIES.get(key)
    except (AttributeError, TypeError):  # not tensors, or unhashable arguments: checked below
        key = found = None
    if found is None:
        found = _conv_geometry(op, input, weight, bias, stride, padding, dilation, groups, nd)
        if key is not None:
            if len(_GEOMETRIES) >= 1024:
                _GEOMETRIES.clear()
            _GEOMETRIES[key] = found
    geom, unbatched = found
    x = input.unsqueeze(0) if unbatched else input
    w = weight
    if nd == 1:
        x, w = x.unsqueeze(2), weight.unsqueeze(2)
    if bias is not None and _fast_conv(geom, x._data, w._data, bias._data):
        return _unlift(_ConvBias.apply(x, w, bias, geom), nd, unbatched)
    y = _Conv.apply(x, w, geom)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return _unlift(y, nd, unbatched)


def _conv_geometry(op, input, weight, bias, stride, padding, dilation, groups, nd):
    """Check the arguments of a convolution; its (lifted, 2-D) geometry and whether the
    input is unbatched."""
    unbatched = _check_conv_common(op, input, weight, bias, groups, nd)
    kernel = tuple(weight.shape[2:])
    stride = _positive(op, "stride", _ints(op, "stride", stride, nd))
    dilation = _positive(op, "dilation", _ints(op, "dilation", dilation, nd))
    pads = _conv_padding(op, padding, kernel, stride, dilation, nd)
    shape = (1, *input.shape) if unbatched else tuple(input.shape)
    c, o = shape[1], weight.shape[0]
    if o % groups:
        raise RuntimeError(
            f"{op}: out_channels ({o}, weight shape {tuple(weight.shape)}) must be divisible by "
            f"groups ({groups})"
        )
    if c != weight.shape[1] * groups:
        raise RuntimeError(
            f"{op}: input has {c} channels but weight expects {weight.shape[1] * groups} "
            f"(weight shape {tuple(weight.shape)}, groups={groups})"
        )
    _check_bias(op, bias, o, weight)
    size = shape[2:]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(s > p for s, p in zip(span, padded)):
        raise RuntimeError(
            f"{op}: the kernel (size {_show(kernel)}, {_show(span)} with dilation) is larger "
            f"than the padded input (size {_show(padded)})"
        )
    out = tuple((p - s) // st + 1 for p, s, st in zip(padded, span, stride))
    spatial = (size, out, kernel, stride, pads, dilation)
    if nd == 1:
        spatial = _height1(*spatial)
    return _Geom(*spatial, groups), unbatched


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D convolution (cross-correlation, as in PyTorch) over (N, C, L) or (C, L) input.

    weight: (out_channels, in_channels/groups, kL); bias: (out_channels,) or None.
    padding: an int, a tuple, 'valid' or 'same' (stride 1 only).
    Returns (N, out_channels, L_out).
    """
    if _amp.on:
        input, weight, bias = autocast_args("conv1d", input, weight, bias)
    return _conv("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) over (N, C, H, W) or (C, H, W) input.

    weight: (out_channels, in_channels/groups, kH, kW); bias: (out_channels,) or None.
    stride, dilation: an int or a pair; padding: an int, a pair, 'valid' or 'same' (stride 1).
    Returns (N, out_channels, H_out, W_out), H_out = (H + 2p - d(kH - 1) - 1) // s + 1.

    Example::

        x = ember.randn(8, 3, 32, 32)
        w = ember.randn(16, 3, 3, 3, requires_grad=True)
        y = F.conv2d(x, w, padding=1)  # (8, 16, 32, 32)
    """
    if _amp.on:
        input, weight, bias = autocast_args("conv2d", input, weight, bias)
    return _conv("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def _conv_transpose(op, input, weight, bias, stride, padding, output_padding, groups, dilation, nd):
    unbatched = _check_conv_common(op, input, weight, bias, groups, nd)
    kernel = tuple(weight.shape[2:])
    stride = _positive(op, "stride", _ints(op, "stride", stride, nd))
    dilation = _positive(op, "dilation", _ints(op, "dilation", dilation, nd))
    pads = _ints(op, "padding", padding, nd)
    if any(p < 0 for p in pads):
        raise ValueError(f"{op}: padding must be non-negative, received {_show(pads)}")
    opad = _ints(op, "output_padding", output_padding, nd)
    if any(p < 0 or (p >= s and p >= d) for p, s, d in zip(opad, stride, dilation)):
        raise ValueError(
            f"{op}: output_padding must be smaller than stride or dilation, received "
            f"output_padding {_show(opad)}, stride {_show(stride)}, dilation {_show(dilation)}"
        )
    x = input.unsqueeze(0) if unbatched else input
    c_in = x.shape[1]
    if weight.shape[0] % groups:
        raise RuntimeError(
            f"{op}: in_channels ({weight.shape[0]}, weight shape {tuple(weight.shape)}) must be "
            f"divisible by groups ({groups})"
        )
    if c_in != weight.shape[0]:
        raise RuntimeError(
            f"{op}: input has {c_in} channels but weight expects {weight.shape[0]} "
            f"(weight shape {tuple(weight.shape)}, groups={groups})"
        )
    c_out = weight.shape[1] * groups
    _check_bias(op, bias, c_out, weight)
    size_in = tuple(x.shape[2:])
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + q + 1
                 for n, s, p, d, k, q in zip(size_in, stride, pads, dilation, kernel, opad))  # fmt: skip
    if any(n <= 0 for n in size):
        raise RuntimeError(
            f"{op}: the output would have size {_show(size)} for input size {_show(size_in)}, "
            f"kernel {_show(kernel)}, stride {_show(stride)}, padding {_show(pads)}; it must be "
            "positive"
        )
    # the X side of the geometry is the output here: a transposed conv is _Conv's adjoint
    spatial = (size, size_in, kernel, stride, tuple((p, p) for p in pads), dilation)
    w = weight
    if nd == 1:
        x, w, spatial = x.unsqueeze(2), weight.unsqueeze(2), _height1(*spatial)
    y = _ConvT.apply(x, w, _Geom(*spatial, groups))
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return _unlift(y, nd, unbatched)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:  # fmt: skip
    """1-D transposed convolution over (N, C_in, L) or (C_in, L) input.

    weight: (in_channels, out_channels/groups, kL). Returns (N, out_channels, L_out) with
    L_out = (L - 1) * stride - 2 * padding + dilation * (kL - 1) + output_padding + 1.
    """
    if _amp.on:
        input, weight, bias = autocast_args("conv_transpose1d", input, weight, bias)
    return _conv_transpose("conv_transpose1d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation, 1)  # fmt: skip


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:  # fmt: skip
    """2-D transposed convolution (the gradient of conv2d with respect to its input).

    input: (N, C_in, H, W) or (C_in, H, W); weight: (in_channels, out_channels/groups, kH, kW);
    bias: (out_channels,) or None. Returns (N, out_channels, H_out, W_out) with
    H_out = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1.

    Example::

        y = F.conv_transpose2d(ember.randn(1, 8, 4, 4), ember.randn(8, 3, 2, 2), stride=2)
        # (1, 3, 8, 8)
    """
    if _amp.on:
        input, weight, bias = autocast_args("conv_transpose2d", input, weight, bias)
    return _conv_transpose("conv_transpose2d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation, 2)  # fmt: skip


# ---------------------------------------------------------------- gather / scatter-add pairs
def _scatter_add(xp, flat_idx, g, length):
    """A vector of ``length`` zeros with each g[k] added at flat_idx[k] (repeats add up)."""
    out = xp.bincount(flat_idx.reshape(-1), weights=g.reshape(-1), minlength=length)
    return out.astype(g.dtype, copy=False)


class _GatherRows(Function):
    """y[n, c, ...] = x[n, c].flat[idx[n, c, ...]]: pick one element per output position."""

    @staticmethod
    def forward(ctx, x, idx):
        ctx.size = x.shape[2:]
        ctx.save_for_backward(idx)
        n, c = x.shape[:2]
        rows = (n * c, math.prod(x.shape[2:]))
        idx2 = idx.reshape(n * c, math.prod(idx.shape[2:]))
        return get_array_module(x).take_along_axis(x.reshape(rows), idx2, axis=1).reshape(idx.shape)

    @staticmethod
    def backward(ctx, gy):
        (idx,) = ctx.saved_tensors
        return _ScatterRows.apply(gy, idx, ctx.size), None


class _ScatterRows(Function):
    """The adjoint of _GatherRows: zeros of spatial ``size``, each g added at its index."""

    @staticmethod
    def forward(ctx, g, idx, size):
        ctx.save_for_backward(idx)
        xp = get_array_module(g)
        n, c = g.shape[:2]
        length = math.prod(size)
        rows = xp.arange(n * c, dtype=idx.dtype).reshape(n * c, 1) * length
        flat = rows + idx.reshape(n * c, math.prod(idx.shape[2:]))
        return _scatter_add(xp, flat, g, n * c * length).reshape((n, c) + tuple(size))

    @staticmethod
    def backward(ctx, gg):
        (idx,) = ctx.saved_tensors
        return _GatherRows.apply(gg, idx), None, None


class _Take(Function):
    """y = x.take(idx, axis=dim) for a 1-D index: padding and nearest resizing."""

    @staticmethod
    def forward(ctx, x, idx, dim):
        ctx.dim, ctx.size = dim, x.shape[dim]
        ctx.save_for_backward(idx)
        return get_array_module(x).take(x, idx, axis=dim)

    @staticmethod
    def backward(ctx, gy):
        (idx,) = ctx.saved_tensors
        return _TakeAdjoint.apply(gy, idx, ctx.dim, ctx.size), None, None


class _TakeAdjoint(Function):
    """The adjoint of _Take: a zero array with ``size`` along ``dim``, g added at idx."""

    @staticmethod
    def forward(ctx, g, idx, dim, size):
        ctx.dim = dim
        ctx.save_for_backward(idx)
        return _index_add(g, idx, dim, size)

    @staticmethod
    def backward(ctx, gg):
        (idx,) = ctx.saved_tensors
        return _Take.apply(gg, idx, ctx.dim), None, None, None


def _index_add(g, idx, dim, size):
    """Zeros with ``size`` along ``dim``, with the slices of g added at positions idx."""
    xp = get_array_module(g)
    out = xp.zeros(g.shape[:dim] + (size,) + g.shape[dim + 1 :], dtype=g.dtype)
    if idx.size == 0:
        return out
    # repeated indices must add up: split idx into passes in which no index repeats (as many
    # passes as the most times one index occurs, e.g. 2 for a 2x upsampling)
    order = xp.argsort(idx)
    ranked = idx[order]
    rank = xp.empty_like(order)
    rank[order] = xp.arange(idx.size) - xp.searchsorted(ranked, ranked, side="left")
    lead = (slice(None),) * dim
    for r in range(int(rank.max()) + 1):
        sel = xp.nonzero(rank == r)[0]
        out[lead + (idx[sel],)] += xp.take(g, sel, axis=dim)
    return out


def _take(x: Tensor, idx, dim: int) -> Tensor:
    return _Take.apply(x, Tensor._make(idx), dim)


# ---------------------------------------------------------------- pooling
def _pool_out(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size: with ceil_mode the last window must start inside the
    input or its left padding."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_geom(op, x, kernel_size, stride, padding, dilation, ceil_mode, nd):
    """The 2-D geometry of a pooling op, the (lifted) input and whether it was unbatched;
    the checks run once for each new combination of shapes and arguments (as _conv's)."""
    try:
        key = (op, type(x), x.shape, x.dtype, kernel_size, stride, padding, dilation, ceil_mode)
        found = _GEOMETRIES.get(key)
    except (AttributeError, TypeError):  # not a tensor, or unhashable arguments
        key = found = None
    if found is None:
        found = _pool_geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode, nd)
        if key is not None:
            if len(_GEOMETRIES) >= 1024:
                _GEOMETRIES.clear()
            _GEOMETRIES[key] = found
    geom, unbatched = found
    if unbatched:
        x = x.unsqueeze(0)
    if nd == 1:
        x = x.unsqueeze(2)
    return geom, x, unbatched


def _pool_geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode, nd):
    """Check the arguments of a pooling op; its 2-D geometry and whether x is unbatched."""
    unbatched = _check_input(op, x, nd)
    shape = (1, *x.shape) if unbatched else tuple(x.shape)
    if any(n == 0 for n in shape[1:]):
        raise RuntimeError(
            f"{op}: expected an input with non-zero channels and spatial sizes (the batch may "
            f"be empty), received shape {tuple(x.shape)}"
        )
    kernel = _positive(op, "kernel_size", _ints(op, "kernel_size", kernel_size, nd))
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        stride = kernel
    stride = _positive(op, "stride", _ints(op, "stride", stride, nd))
    pads = _ints(op, "padding", padding, nd)
    dilation = _positive(op, "dilation", _ints(op, "dilation", dilation, nd))
    if any(p < 0 or p > k // 2 for p, k in zip(pads, kernel)):
        raise ValueError(
            f"{op}: padding must be non-negative and at most half of kernel_size, received "
            f"padding {_show(pads)} for kernel_size {_show(kernel)}"
        )
    size = shape[2:]
    out = tuple(_pool_out(*a, ceil_mode) for a in zip(size, kernel, stride, pads, dilation))
    if any(o < 1 for o in out):
        raise RuntimeError(
            f"{op}: the output would be empty (size {_show(out)}) for input size {_show(size)}, "
            f"kernel_size {_show(kernel)}, stride {_show(stride)}, padding {_show(pads)}, "
            f"dilation {_show(dilation)}"
        )
    # ceil_mode may let the last window run past the right padding: pad a little more there
    after = tuple(max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)
                  for n, o, s, d, k, p in zip(size, out, stride, dilation, kernel, pads))  # fmt: skip
    spatial = (size, out, kernel, stride, tuple(zip(pads, after)), dilation)
    if nd == 1:
        spatial = _height1(*spatial)
    return _Geom(*spatial), unbatched


class _MaxPool(Function):
    @staticmethod
    def forward(ctx, x, geom):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        if x.dtype.kind in "fV":
            low = -math.inf
        else:
            low = xp.iinfo(x.dtype).min
        xpad = _pad_raw(x, geom.padding, low)
        (sh, sw), (dh, dw), ((ph, _), (pw, _)) = geom.stride, geom.dilation, geom.padding
        hs = xp.arange(geom.out[0]) * sh - ph
        ws = xp.arange(geom.out[1]) * sw - pw
        # where a window holds only -inf, PyTorch answers its first position inside the input
        h0 = xp.where(hs < 0, hs + (-hs + dh - 1) // dh * dh, hs)
        w0 = xp.where(ws < 0, ws + (-ws + dw - 1) // dw * dw, ws)
        idx = xp.broadcast_to(h0[:, None] * w + w0[None, :], (n, c) + geom.out)
        best = xp.full((n, c) + geom.out, low, dtype=x.dtype)
        for i, j, (rows, cols) in _taps(geom):
            v = xpad[:, :, rows, cols]
            # a later value wins only if larger (first max kept), or NaN (NaN propagates)
            take = v > best
            if x.dtype.kind in "fV":
                take |= xp.isnan(v)
            best = xp.where(take, v, best)
            idx = xp.where(take, (hs[:, None] + i * dh) * w + (ws[None, :] + j * dw), idx)
        idx = idx.astype(xp.int64)
        ctx.size, ctx.hollow = (h, w), None
        # with dilation a window can hop over the whole input and hold no element of it;
        # its index then points past the input (as PyTorch's does) and it passes no gradient
        (kh, kw) = geom.kernel
        hollow = ((h0 >= h) | (h0 > hs + (kh - 1) * dh))[:, None] | (
            (w0 >= w) | (w0 > ws + (kw - 1) * dw)
        )[None, :]
        if bool(hollow.any()):
            ctx.hollow = (~hollow).astype(x.dtype)
            ctx.save_for_backward(xp.where(hollow, 0, idx))
        else:
            ctx.save_for_backward(idx)
        return best, idx

    @staticmethod
    def backward(ctx, gy, gidx):
        (idx,) = ctx.saved_tensors
        if ctx.hollow is not None:
            gy = gy * Tensor._make(ctx.hollow)
        return _ScatterRows.apply(gy, idx, ctx.size), None


class _MaxPoolBlocks(Function):
    """Max pooling over k x k blocks with stride k (fast path): the values, and the position
    of each maximum in its block kept as one byte for the backward."""

    @staticmethod
    def forward(ctx, x, kernel):
        y, code = _kc.maxpool(x, *kernel)
        ctx.kernel, ctx.size = kernel, x.shape[2:]
        ctx.save_for_backward(code)
        return y

    @staticmethod
    def backward(ctx, gy):
        (code,) = ctx.saved_tensors
        return _MaxPlace.apply(gy, code, ctx.kernel, ctx.size), None


class _MaxPlace(Function):
    """Each g put at the position of its block's maximum, zeros elsewhere."""

    @staticmethod
    def forward(ctx, g, code, kernel, size):
        ctx.kernel = kernel
        ctx.save_for_backward(code)
        kernels.taken["max_pool2d_backward"] += 1
        return _kc.maxpool_scatter(g, code, *kernel, *size)

    @staticmethod
    def backward(ctx, gg):
        (code,) = ctx.saved_tensors
        return _MaxPick.apply(gg, code, ctx.kernel), None, None, None


class _MaxPick(Function):
    """The adjoint of _MaxPlace: from each block, the value at its maximum's position."""

    @staticmethod
    def forward(ctx, x, code, kernel):
        ctx.kernel, ctx.size = kernel, x.shape[2:]
        ctx.save_for_backward(code)
        return _kc.maxpool_gather(x, code, *kernel)

    @staticmethod
    def backward(ctx, gy):
        (code,) = ctx.saved_tensors
        return _MaxPlace.apply(gy, code, ctx.kernel, ctx.size), None, None


def _fast_max_pool(g: _Geom, x) -> bool:
    """Whether _MaxPoolBlocks takes this pooling: non-overlapping k x k blocks, stride k, no
    padding or dilation, a float NumPy array."""
    d = x._data
    return (
        kernels.enabled()
        and type(d) is np.ndarray
        and d.dtype in _FAST_DTYPES
        and d.size > 0
        and g.kernel == g.stride
        and g.kernel[0] * g.kernel[1] <= 256
        and g.padding == ((0, 0), (0, 0))
        and g.dilation == (1, 1)
        and g.out == (g.size[0] // g.kernel[0], g.size[1] // g.kernel[1])
    )


def _max_pool(op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd):
    check_tensor(input, op)
    if input.dtype.name == "bool":
        raise TypeError(f"{op}: expected a numeric input, received bool")
    geom, x, unbatched = _pool_geom(op, input, kernel_size, stride, padding, dilation,
                                    ceil_mode, nd)  # fmt: skip
    if not return_indices and _fast_max_pool(geom, x):
        kernels.taken["max_pool2d"] += 1
        return _unlift(_MaxPoolBlocks.apply(x, geom.kernel), nd, unbatched)
    y, idx = _MaxPool.apply(x, geom)
    y, idx = _unlift(y, nd, unbatched), _unlift(idx, nd, unbatched)
    return (y, idx) if return_indices else y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):  # fmt: skip
    """1-D max pooling over (N, C, L) or (C, L) input; padding counts as -inf.

    stride defaults to kernel_size. With return_indices, also the position of each maximum
    in its input row (int64).
    """
    return _max_pool("max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 1)  # fmt: skip


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):  # fmt: skip
    """2-D max pooling over (N, C, H, W) or (C, H, W) input; padding counts as -inf.

    kernel_size, stride (default: kernel_size), padding (at most half the kernel) and
    dilation: an int or a pair. ceil_mode rounds the output size up, as long as the last
    window starts inside the input or its left padding. With return_indices, also the flat
    position (h * W + w) of each maximum in its input plane (int64).

    Example::

        y = F.max_pool2d(ember.randn(1, 3, 8, 8), 2)  # (1, 3, 4, 4)
    """
    return _max_pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 2)  # fmt: skip


class _SumPool(Function):
    """The sum over each window of the zero-padded input."""

    @staticmethod
    def forward(ctx, x, geom):
        ctx.geom = geom
        xpad = _pad_raw(x, geom.padding)
        y = None
        for _, _, (rows, cols) in _taps(geom):
            y = xpad[:, :, rows, cols].copy() if y is None else y + xpad[:, :, rows, cols]
        return y

    @staticmethod
    def backward(ctx, gy):
        return _SumPoolT.apply(gy, ctx.geom), None


class _SumPoolT(Function):
    """The adjoint of _SumPool: each output's value added back over its window."""

    @staticmethod
    def forward(ctx, gy, geom):
        ctx.geom = geom
        xp = get_array_module(gy)
        canvas = _new_canvas(xp, gy.shape[:2], geom, gy.dtype)
        for _, _, (rows, cols) in _taps(geom):
            canvas[:, :, rows, cols] += gy
        return _crop(xp, canvas, geom)

    @staticmethod
    def backward(ctx, gg):
        return _SumPool.apply(gg, ctx.geom), None


def _avg_divisor(n, out, k, s, p, count_include_pad):
    """For each output position along one dim: the window length PyTorch divides by."""
    sizes = []
    for o in range(out):
        start = o * s - p
        end = min(start + k, n + p)
        full = end - start
        start, end = max(start, 0), min(end, n)
        sizes.append(full if count_include_pad else end - start)
    return sizes


def _avg_pool(op, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, nd):  # fmt: skip
    check_tensor(input, op)
    if input.dtype.name == "bool":
        raise TypeError(f"{op}: expected a numeric input, received bool")
    if divisor_override is not None and (not _is_int(divisor_override) or divisor_override == 0):
        raise ValueError(
            f"{op}: divisor_override must be a non-zero int, received {divisor_override!r}"
        )
    geom, x, unbatched = _pool_geom(op, input, kernel_size, stride, padding, 1, ceil_mode, nd)
    xp = get_array_module(x._data)
    y = _SumPool.apply(x, geom)
    if divisor_override is not None:
        div = xp.asarray(divisor_override, dtype=x._data.dtype)
    else:
        dh, dw = (_avg_divisor(n, o, k, s, p, count_include_pad)
                  for n, o, k, s, (p, _) in zip(geom.size, geom.out, geom.kernel, geom.stride,
                                                geom.padding))  # fmt: skip
        div = xp.asarray(dh, dtype=x._data.dtype)[:, None] * xp.asarray(dw, dtype=x._data.dtype)
    if y.is_floating_point():
        y = y / Tensor._make(div)
    else:  # integer pooling truncates toward zero, as PyTorch's integer division does
        q = abs(y._data) // div
        y = Tensor._make(xp.where(y._data < 0, -q, q))
    return _unlift(y, nd, unbatched)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True) -> Tensor:  # fmt: skip
    """1-D average pooling over (N, C, L) or (C, L) input; see avg_pool2d."""
    return _avg_pool("avg_pool1d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None, 1)  # fmt: skip


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None) -> Tensor:  # fmt: skip
    """2-D average pooling over (N, C, H, W) or (C, H, W) input.

    Zero padding counts in the average when count_include_pad (windows that ceil_mode lets
    run past the padding never count the part beyond it); divisor_override replaces the
    divisor of every window.

    Example::

        y = F.avg_pool2d(ember.randn(1, 3, 8, 8), 3, stride=2, padding=1)  # (1, 3, 4, 4)
    """
    return _avg_pool("avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, 2)  # fmt: skip


def _adaptive_matrix(xp, n, out, dtype):
    """(out, n): row i averages positions floor(i*n/out) .. ceil((i+1)*n/out) - 1."""
    i = xp.arange(out)
    start = (i * n) // out
    end = ((i + 1) * n + out - 1) // out
    j = xp.arange(n)
    inside = (j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])
    return inside.astype(dtype) / (end - start).astype(dtype)[:, None]


class _GlobalAvgPool(Function):
    """The mean over the last ``nd`` dims, kept as size-1 dims (adaptive pooling to size 1)."""

    @staticmethod
    def forward(ctx, x, nd):
        ctx.shape = x.shape
        ctx.count = math.prod(x.shape[-nd:])
        lead = x.shape[:-nd]
        y = x.reshape(lead + (ctx.count,)).sum(axis=-1, dtype=x.dtype) / x.dtype.type(ctx.count)
        return y.reshape(lead + (1,) * nd)

    @staticmethod
    def backward(ctx, gy):
        return (gy / ctx.count).expand(ctx.shape), None


def _adaptive_avg_pool(op, input, output_size, nd):
    d = input._data if isinstance(input, Tensor) else None
    if (
        type(output_size) is int  # a global average pool of a batch, checked lean
        and output_size == 1
        and type(d) is np.ndarray
        and d.ndim == nd + 2
        and d.dtype in _FAST_DTYPES
        and 0 not in d.shape[1:]
        and kernels.enabled()
    ):
        kernels.taken["global_avg_pool"] += 1
        return _GlobalAvgPool.apply(input, nd)
    unbatched = _check_input(op, input, nd)
    if not input.is_floating_point():
        raise TypeError(f"{op}: expected a floating-point input, received {input.dtype.name}")
    size = tuple(input.shape[-nd:])
    if any(n == 0 for n in input.shape[int(not unbatched) :]):
        raise RuntimeError(
            f"{op}: expected an input with non-zero channels and spatial sizes (the batch may "
            f"be empty), received shape {tuple(input.shape)}"
        )
    req = tuple(output_size) if isinstance(output_size, (list, tuple)) else (output_size,) * nd
    if len(req) != nd or not all(o is None or _is_int(o) for o in req):
        raise ValueError(
            f"{op}: expected output_size to be an int or a tuple of {nd} ints (or None), "
            f"received {output_size!r}"
        )
    out = tuple(n if o is None else int(o) for n, o in zip(size, req))
    if any(o < 0 for o in out):
        raise ValueError(f"{op}: output_size must be non-negative, received {_show(out)}")
    d = input._data
    if out == (1,) * nd and kernels.enabled() and type(d) is np.ndarray and d.dtype in _FAST_DTYPES:
        kernels.taken["global_avg_pool"] += 1
        return _GlobalAvgPool.apply(input, nd)
    xp = get_array_module(input._data)
    y, dt = input, input._data.dtype
    # the average over a rectangle is the average over rows of the averages over columns
    for k, (n, o) in enumerate(zip(size, out)):
        if n == o:
            continue
        m = Tensor._make(_adaptive_matrix(xp, n, o, dt))
        # Matmul itself, not matmul(): an average pool is not a product autocast lowers
        y = Matmul.apply(y, m.transpose(0, 1)) if k == nd - 1 else Matmul.apply(m, y)
    return y if y is not input else input.clone()


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """1-D adaptive average pooling of (N, C, L) or (C, L) input to length ``output_size``."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", input, output_size, 1)


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """2-D adaptive average pooling of (N, C, H, W) or (C, H, W) input to ``output_size``.

    output_size: an int or a pair; a None entry keeps that input size. Output row i averages
    input rows floor(i * H / oH) to ceil((i + 1) * H / oH) - 1 (windows may overlap).

    Example::

        y = F.adaptive_avg_pool2d(ember.randn(2, 8, 7, 7), 1)  # (2, 8, 1, 1)
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", input, output_size, 2)


# ---------------------------------------------------------------- padding
class _PadConstant(Function):
    @staticmethod
    def forward(ctx, x, pads, value):
        ctx.pads = pads
        return _pad_raw(x, pads, value) if any(p for pair in pads for p in pair) else x.copy()

    @staticmethod
    def backward(ctx, gy):
        # the adjoint of padding by p is cropping by p, which is padding by -p
        return _PadConstant.apply(gy, tuple((-lo, -hi) for lo, hi in ctx.pads), 0), None, None


def _pad_index(xp, n, lo, hi, mode):
    q = xp.arange(-lo, n + hi)
    if mode == "reflect":
        q = xp.abs(q)
        return xp.where(q > n - 1, 2 * (n - 1) - q, q)
    if mode == "replicate":
        return xp.clip(q, 0, n - 1)
    # circular: negative pads crop first, then the kept part wraps around
    kept = n + min(lo, 0) + min(hi, 0)
    return max(-lo, 0) + (xp.arange(-max(lo, 0), kept + max(hi, 0)) % kept)


def pad(input, pad, mode="constant", value=None) -> Tensor:
    """Pad the last dims of ``input``: ``pad`` = (left, right, top, bottom, ...), last dim first.

    mode: 'constant' (with ``value``, default 0; negative pads crop), 'reflect' (mirror
    without repeating the edge; pads smaller than the size), 'replicate' (repeat the edge) or
    'circular' (wrap around; pads at most the size). The non-constant modes pad the last 1,
    2 or 3 dims of a batched or unbatched input.

    Example::

        F.pad(ember.ones(1, 2, 3), (1, 2))  # (1, 2, 6), zeros on the left and right
    """
    if _amp.on and mode in ("reflect", "replicate"):
        (input,) = autocast_args(f"{mode}_pad", input)
    check_tensor(input, "pad")
    pad_arg = pad
    if not isinstance(pad_arg, (list, tuple)) or not all(_is_int(p) for p in pad_arg):
        raise TypeError(f"pad: expected pad to be a tuple of ints, received {pad_arg!r}")
    if len(pad_arg) % 2:
        raise ValueError(
            f"pad: the padding must have an even length (pairs), received {tuple(pad_arg)}"
        )
    k = len(pad_arg) // 2
    if k > input.ndim:
        raise ValueError(
            f"pad: padding {tuple(pad_arg)} pads {k} dims, but the input has shape "
            f"{tuple(input.shape)} ({input.ndim} dims)"
        )
    dims = list(range(input.ndim - 1, input.ndim - 1 - k, -1))
    pairs = {d: (int(pad_arg[2 * i]), int(pad_arg[2 * i + 1])) for i, d in enumerate(dims)}
    if mode == "constant":
        for d, (lo, hi) in pairs.items():
            if input.shape[d] + min(lo, 0) + min(hi, 0) < 0:
                raise ValueError(
                    f"pad: padding {(lo, hi)} of dim {d} crops more than its size "
                    f"{input.shape[d]}, for input shape {tuple(input.shape)}"
                )
        pads = tuple(pairs[d] for d in sorted(pairs))
        return _PadConstant.apply(input, pads, 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', received {mode!r}"
        )
    if value is not None and value != 0:
        raise ValueError(f"pad: mode {mode!r} takes no value, received value={value!r}")
    if k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
        raise ValueError(
            f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of an input with one or two more "
            f"dims; received padding of length {len(pad_arg)} for input shape {tuple(input.shape)}"
        )
    for d, (lo, hi) in pairs.items():
        n = input.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(
                f"pad: reflect padding must be smaller than the size of the dim it pads, "
                f"received padding {(lo, hi)} for dim {d} of size {n} (input shape "
                f"{tuple(input.shape)})"
            )
        kept = n + min(lo, 0) + min(hi, 0)  # negative pads crop first
        if mode == "circular" and (lo > kept or hi > kept):
            raise ValueError(
                f"pad: circular padding must be at most the size of the dim it pads (after "
                f"cropping by negative pads), received padding {(lo, hi)} for dim {d} of size "
                f"{n} (input shape {tuple(input.shape)})"
            )
        if n == 0 or n + lo + hi <= 0:
            raise ValueError(
                f"pad: mode {mode!r} cannot pad dim {d} of size {n} by {(lo, hi)} (input shape "
                f"{tuple(input.shape)})"
            )
    xp = get_array_module(input._data)
    y = input
    for d, (lo, hi) in pairs.items():
        if lo or hi:
            y = _take(y, _pad_index(xp, input.shape[d], lo, hi, mode), d)
    return y if y is not input else input.clone()


# ---------------------------------------------------------------- interpolation
_LINEAR_MODES = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _nearest_index(xp, n, out, scale, nd):
    """PyTorch's legacy nearest: src = min(floor(dst * s), n - 1), in float32, where s is
    1 / scale_factor when one is used, else n / out."""
    if nd == 2 and out in (n, 2 * n):
        # PyTorch's 2-D kernel (only) copies a dim whose size stays and halves a doubled one,
        # whatever scale_factor says: floor(i * 1 / 1.3) would not be the identity
        return xp.arange(out) // (out // n)
    f32 = xp.float32
    s = f32(1.0 / scale) if scale is not None else f32(n) / f32(out)
    src = xp.floor(xp.arange(out, dtype=f32) * s).astype(xp.int64)
    return xp.minimum(src, n - 1)


def _linear_weights(xp, n, out, scale, align_corners, dtype):
    """Neighbour indices and weights of 1-D linear interpolation, computed in the input's
    precision as PyTorch does (float32 for float32 input)."""
    ft = dtype.type
    if align_corners:
        ratio = ft(n - 1) / ft(out - 1) if out > 1 else ft(0)
        src = ratio * xp.arange(out, dtype=dtype)
    else:
        ratio = ft(1.0 / scale) if scale is not None else ft(n) / ft(out)
        src = ratio * (xp.arange(out, dtype=dtype) + ft(0.5)) - ft(0.5)
        src = xp.maximum(src, ft(0))
    i0 = xp.minimum(xp.floor(src).astype(xp.int64), n - 1)
    lam1 = xp.clip(src - i0.astype(dtype), ft(0), ft(1))
    i1 = i0 + (i0 < n - 1)
    return i0, i1, ft(1) - lam1, lam1


def _out_sizes(input, size, scale_factor, recompute_scale_factor, nd):
    spatial = tuple(input.shape[2:])
    if size is None and scale_factor is None:
        raise ValueError("interpolate: either size or scale_factor must be given")
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor may be given")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(
                "interpolate: recompute_scale_factor has no meaning with an explicit size"
            )
        sizes = tuple(size) if isinstance(size, (list, tuple)) else (size,) * nd
        if len(sizes) != nd:
            raise ValueError(
                f"interpolate: size {tuple(sizes)} must have one entry per spatial dim of the "
                f"input, which has spatial sizes {spatial}"
            )
        if not all(_is_int(s) for s in sizes):
            raise TypeError(
                f"interpolate: size must be an int or a tuple of ints, received {size!r}"
            )
        return tuple(int(s) for s in sizes), (None,) * nd
    scales = (
        tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) else (scale_factor,) * nd
    )
    if len(scales) != nd:
        raise ValueError(
            f"interpolate: scale_factor {tuple(scales)} must have one entry per spatial dim "
            f"of the input, which has spatial sizes {spatial}"
        )
    if not all(isinstance(s, numbers.Real) and not isinstance(s, bool) for s in scales):
        raise TypeError(
            f"interpolate: scale_factor must be a number or a tuple, received {scale_factor!r}"
        )
    sizes = tuple(math.floor(float(n) * float(s)) for n, s in zip(spatial, scales))
    # unless asked to recompute, the scale itself (not in/out) maps output to input positions
    used = (None,) * nd if recompute_scale_factor else tuple(float(s) for s in scales)
    return sizes, used


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False) -> Tensor:  # fmt: skip
    """Resize the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W) input.

    Give either ``size`` (an int or one per spatial dim) or ``scale_factor`` (the output size
    is floor(size * scale_factor)). mode: 'nearest' (PyTorch's legacy nearest: input index
    floor(i * in / out)), 'linear' (3-D input), 'bilinear' (4-D), 'trilinear' (5-D), or
    'area' (adaptive average pooling, 3-D or 4-D). align_corners (linear modes only) maps
    the corner pixels' centres onto each other. When scale_factor is given and
    recompute_scale_factor is not True, positions are mapped with 1 / scale_factor.

    Example::

        y = F.interpolate(ember.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear")  # (1, 3, 8, 8)
    """
    check_tensor(input, "interpolate")
    nd = input.ndim - 2
    if mode not in ("nearest", "area") and mode not in _LINEAR_MODES:
        raise ValueError(
            f"interpolate: mode must be 'nearest', 'linear', 'bilinear', 'trilinear' or "
            f"'area', received {mode!r}"
        )
    if nd not in (1, 2, 3):
        raise ValueError(
            f"interpolate: expected a 3-D, 4-D or 5-D input (N, C, spatial...), received shape "
            f"{tuple(input.shape)}"
        )
    if align_corners is not None and mode not in _LINEAR_MODES:
        raise ValueError(
            f"interpolate: align_corners can only be set with the modes linear, bilinear and "
            f"trilinear, received mode {mode!r}"
        )
    if mode in _LINEAR_MODES and _LINEAR_MODES[mode] != nd:
        raise ValueError(
            f"interpolate: mode {mode!r} needs a {_LINEAR_MODES[mode] + 2}-D input, received "
            f"shape {tuple(input.shape)}"
        )
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    out, scales = _out_sizes(input, size, scale_factor, recompute_scale_factor, nd)
    spatial = tuple(input.shape[2:])
    if any(n <= 0 for n in spatial) or any(o <= 0 for o in out):
        raise ValueError(
            f"interpolate: input and output sizes must be positive, received input size "
            f"{spatial} and output size {out}"
        )
    if not input.is_floating_point():
        raise TypeError(
            f"interpolate: expected a floating-point input, received {input.dtype.name}"
        )
    if mode == "area":
        if nd == 3:
            raise ValueError("interpolate: mode 'area' supports 3-D and 4-D input only")
        return _adaptive_avg_pool("interpolate", input, out, nd)
    xp = get_array_module(input._data)
    y = input
    if mode != "nearest" and input._data.dtype.itemsize < 4:
        y = input.float()  # half precision interpolates in float32, as PyTorch does
    dt = y._data.dtype
    # separable: one dim at a time, the last first (the order of PyTorch's arithmetic)
    for k in reversed(range(nd)):
        n, o, dim = spatial[k], out[k], 2 + k
        if mode == "nearest":
            y = _take(y, _nearest_index(xp, n, o, scales[k], nd), dim)
            continue
        if n == o:  # PyTorch copies a dim whose size does not change
            continue
        i0, i1, lam0, lam1 = _linear_weights(xp, n, o, scales[k], bool(align_corners), dt)
        bshape = (o,) + (1,) * (nd - 1 - k)
        y = (_take(y, i0, dim) * Tensor._make(lam0.reshape(bshape))
             + _take(y, i1, dim) * Tensor._make(lam1.reshape(bshape)))  # fmt: skip
    if y is input:
        return input.clone()
    return y.to(input.dtype)
