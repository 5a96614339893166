"""Convolution, pooling, padding and resizing ops against PyTorch.

Second-order checks wrap the op in a square (``op(x) ** 2``): the op's own second derivative
is zero where it is linear in x (pooling, padding, resizing), and PyTorch links its first
gradient to x only for some of these ops, so a bare op would compare nothing, or compare a
missing gradient with PyTorch's zeros. The square makes the gradient flow through the op's
backward a second time, which is what must be right.
"""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_functional

import ember
import ember.nn.functional as ember_functional
from tests.oracle import check, check_raises, rand


def F(m):
    """ember.nn.functional or torch.nn.functional, for the library the oracle passes."""
    return ember_functional if m is ember else torch_functional


# ---------------------------------------------------------------- conv2d
CONV2D = [
    ((2, 2, 5, 5), (3, 2, 3, 3), True, {}),
    ((2, 2, 5, 5), (3, 2, 3, 3), False, {"stride": 2, "padding": 1}),
    ((1, 2, 6, 5), (2, 2, 3, 2), True, {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)}),
    ((2, 2, 5, 5), (3, 2, 3, 3), True, {"padding": "same", "dilation": 2}),
    ((1, 2, 5, 6), (2, 2, 2, 4), True, {"padding": "same"}),  # odd totals: extra after
    ((1, 2, 5, 6), (2, 2, 3, 2), False, {"padding": "same", "dilation": (2, 3)}),
    ((2, 2, 5, 5), (2, 2, 3, 3), True, {"padding": "valid"}),
    ((2, 4, 5, 5), (4, 2, 3, 3), True, {"groups": 2, "padding": 1}),
    ((1, 3, 5, 5), (6, 1, 3, 3), True, {"groups": 3, "stride": 2}),  # depthwise
    ((1, 3, 7, 4), (2, 3, 2, 3), True, {"stride": 3, "padding": 2}),
    ((1, 2, 4, 4), (3, 2, 1, 1), True, {}),
    ((2, 5, 5), (3, 2, 3, 3), True, {"padding": 1}),  # unbatched
    ((0, 2, 5, 5), (3, 2, 3, 3), True, {}),  # empty batch
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on its own speed
@pytest.mark.parametrize("xs, ws, bias, kw", CONV2D)
def test_conv2d(xs, ws, bias, kw):
    args = [rand(*xs), rand(*ws)] + ([rand(ws[0])] if bias else [])
    check(lambda m, x, w, *b: F(m).conv2d(x, w, *b, **kw), *args, gradgrad=True)


def test_conv2d_float32():
    args = rand(2, 4, 6, 6, dtype=np.float32), rand(4, 2, 3, 3, dtype=np.float32)
    b = rand(4, dtype=np.float32)
    check(lambda m, x, w, b: F(m).conv2d(x, w, b, stride=2, padding=1, groups=2), *args, b)


def test_conv2d_strided_views():
    # transposed (non-contiguous) input and weight: the windows follow the strides
    def f(m, x, w):
        return F(m).conv2d(x.transpose(2, 3), w.transpose(2, 3), stride=(2, 1), padding=1)

    check(f, rand(2, 2, 5, 6), rand(3, 2, 2, 3))


def test_conv2d_second_order_mixed():
    # a gradient that itself goes through a conv, then is differentiated again
    def f(m, x, w):
        y = F(m).conv2d(x, w, padding=1)
        (gx,) = m.autograd.grad((y * y).sum(), [x], create_graph=True)
        return F(m).conv2d(gx, w)

    # (no finite differences: they run under no_grad, where autograd.grad cannot)
    check(f, rand(1, 2, 4, 4), rand(2, 2, 3, 3), gradcheck=False, gradgrad=True)


# ---------------------------------------------------------------- conv1d
CONV1D = [
    ((2, 2, 7), (3, 2, 3), True, {}),
    ((2, 2, 7), (3, 2, 3), False, {"stride": 2, "padding": 1, "dilation": 2}),
    ((2, 2, 7), (3, 2, 4), True, {"padding": "same"}),
    ((1, 4, 6), (4, 2, 2), True, {"groups": 2, "padding": (1,)}),
    ((3, 6), (2, 3, 3), True, {"padding": "valid"}),  # unbatched
]


@pytest.mark.parametrize("xs, ws, bias, kw", CONV1D)
def test_conv1d(xs, ws, bias, kw):
    args = [rand(*xs), rand(*ws)] + ([rand(ws[0])] if bias else [])
    check(lambda m, x, w, *b: F(m).conv1d(x, w, *b, **kw), *args, gradgrad=True)


def test_conv1d_float32():
    check(lambda m, x, w: F(m).conv1d(x, w, padding=2), rand(2, 3, 9, dtype=np.float32),
          rand(4, 3, 5, dtype=np.float32))  # fmt: skip


# ---------------------------------------------------------------- conv_transpose
CONV_T2D = [
    ((2, 3, 4, 4), (3, 2, 3, 3), True, {}),
    ((1, 3, 3, 4), (3, 2, 3, 3), True, {"stride": 2, "padding": 1, "output_padding": 1}),
    ((2, 4, 3, 3), (4, 1, 3, 2), True, {"groups": 2, "stride": (1, 2)}),
    ((1, 2, 3, 3), (2, 2, 3, 3), False, {"dilation": 2, "output_padding": 1}),  # op < dilation
    (
        (1, 2, 3, 4),
        (2, 3, 2, 3),
        True,
        {"stride": (2, 3), "padding": (0, 1), "output_padding": (1, 2)},
    ),
    ((3, 4, 4), (3, 2, 3, 3), True, {"padding": 1}),  # unbatched
]


@pytest.mark.parametrize("xs, ws, bias, kw", CONV_T2D)
def test_conv_transpose2d(xs, ws, bias, kw):
    groups = kw.get("groups", 1)
    args = [rand(*xs), rand(*ws)] + ([rand(ws[1] * groups)] if bias else [])
    check(lambda m, x, w, *b: F(m).conv_transpose2d(x, w, *b, **kw), *args, gradgrad=True)


def test_conv_transpose2d_float32():
    args = rand(2, 4, 3, 3, dtype=np.float32), rand(4, 3, 3, 3, dtype=np.float32)
    check(lambda m, x, w: F(m).conv_transpose2d(x, w, stride=2, padding=1), *args)


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1, "output_padding": 1}])
def test_conv_transpose1d(kw):
    args = rand(2, 3, 5), rand(3, 2, 3), rand(2)
    check(lambda m, x, w, b: F(m).conv_transpose1d(x, w, b, **kw), *args, gradgrad=True)


# ---------------------------------------------------------------- max pooling
MAX_POOL2D = [
    ((2, 2, 5, 5), {"kernel_size": 2}),
    ((2, 2, 5, 5), {"kernel_size": 3, "stride": 2, "padding": 1}),
    (
        (1, 2, 5, 5),
        {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True},
    ),  # last dropped
    ((1, 2, 6, 7), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ((1, 2, 7, 6), {"kernel_size": 3, "stride": 1, "padding": 1, "dilation": 2}),
    ((1, 2, 5, 7), {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1)}),
    ((2, 5, 5), {"kernel_size": 2, "stride": 1}),  # unbatched
    ((0, 2, 4, 4), {"kernel_size": 2}),
]


@pytest.mark.parametrize("xs, kw", MAX_POOL2D)
def test_max_pool2d(xs, kw):
    check(lambda m, x: F(m).max_pool2d(x, **kw), rand(*xs))
    check(lambda m, x: F(m).max_pool2d(x, **kw) ** 2, rand(*xs), gradcheck=False, gradgrad=True)


@pytest.mark.parametrize("xs, kw", MAX_POOL2D[1:4])
def test_max_pool2d_indices(xs, kw):
    check(lambda m, x: F(m).max_pool2d(x, return_indices=True, **kw), rand(*xs))


def test_max_pool2d_float32_and_int():
    check(lambda m, x: F(m).max_pool2d(x, 3, 2, 1), rand(2, 3, 6, 6, dtype=np.float32))
    ints = np.random.default_rng(0).integers(-9, 9, (1, 2, 5, 5))
    check(lambda m, x: F(m).max_pool2d(x, 2, 2, 1, return_indices=True), ints)


def test_max_pool2d_special_values():
    # a window of only -inf points at its first position inside the input; NaN wins
    x = np.full((1, 1, 3, 3), -np.inf)
    kw = {"stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True, "return_indices": True}
    check(lambda m, x: F(m).max_pool2d(x, 3, **kw), x, grad=False)
    y = np.arange(16.0).reshape(1, 1, 4, 4)
    y[0, 0, 0, 0] = y[0, 0, 1, 1] = np.nan
    check(lambda m, x: F(m).max_pool2d(x, 2, return_indices=True), y, grad=False)


def test_max_pool2d_window_outside_the_input():
    # with dilation 2 and padding 1 every window of a height-1 input skips its only row; the
    # values (-inf) and indices match PyTorch, whose backward then writes out of bounds (it
    # can crash); ember passes no gradient through such windows
    kw = {"stride": (3, 1), "padding": (1, 0), "dilation": (2, 1), "ceil_mode": True}
    x = rand(1, 1, 1, 7)
    check(lambda m, x: F(m).max_pool2d(x, (3, 1), return_indices=True, **kw), x, grad=False)
    xe = ember.tensor(x, requires_grad=True)
    F(ember).max_pool2d(xe, (3, 1), **kw).sum().backward()
    np.testing.assert_array_equal(xe.grad.numpy(), np.zeros_like(x))


MAX_POOL1D = [
    ((2, 2, 7), {"kernel_size": 2}),
    ((2, 2, 7), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((1, 2, 8), {"kernel_size": 2, "dilation": 3, "padding": 1}),
    ((3, 6), {"kernel_size": 2, "stride": 1}),  # unbatched
]


@pytest.mark.parametrize("xs, kw", MAX_POOL1D)
def test_max_pool1d(xs, kw):
    check(lambda m, x: F(m).max_pool1d(x, return_indices=True, **kw), rand(*xs))
    check(lambda m, x: F(m).max_pool1d(x, **kw) ** 2, rand(*xs), gradcheck=False, gradgrad=True)


# ---------------------------------------------------------------- average pooling
AVG_POOL2D = [
    ((2, 2, 5, 5), {"kernel_size": 2}),
    ((2, 2, 5, 5), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((1, 2, 5, 5), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    ((1, 2, 5, 6), {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}),
    (
        (1, 2, 6, 5),
        {
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "ceil_mode": True,
            "count_include_pad": False,
        },
    ),
    ((1, 2, 5, 7), {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1)}),
    ((1, 2, 5, 5), {"kernel_size": 3, "padding": 1, "divisor_override": 4}),
    ((2, 5, 5), {"kernel_size": 2, "stride": 1}),  # unbatched
    ((0, 2, 4, 4), {"kernel_size": 2}),
]


@pytest.mark.parametrize("xs, kw", AVG_POOL2D)
def test_avg_pool2d(xs, kw):
    check(lambda m, x: F(m).avg_pool2d(x, **kw), rand(*xs))
    check(lambda m, x: F(m).avg_pool2d(x, **kw) ** 2, rand(*xs), gradcheck=False, gradgrad=True)


def test_avg_pool2d_float32_and_int():
    check(
        lambda m, x: F(m).avg_pool2d(x, 3, 2, 1, ceil_mode=True), rand(2, 3, 6, 6, dtype=np.float32)
    )
    ints = np.random.default_rng(1).integers(-9, 9, (1, 2, 5, 5))  # truncating division
    check(lambda m, x: F(m).avg_pool2d(x, 2, 2, 1), ints)


@pytest.mark.parametrize("kw", [{"kernel_size": 3}, {"kernel_size": 2, "stride": 2, "padding": 1,
                                                     "ceil_mode": True, "count_include_pad": False}])  # fmt: skip
def test_avg_pool1d(kw):
    check(lambda m, x: F(m).avg_pool1d(x, **kw) ** 2, rand(2, 2, 7), gradgrad=True)


# ---------------------------------------------------------------- adaptive average pooling
ADAPTIVE2D = [
    ((2, 2, 5, 5), 3),  # overlapping windows
    ((2, 2, 7, 5), (4, 3)),
    ((1, 2, 5, 6), (2, None)),
    ((1, 2, 5, 4), 1),
    ((1, 2, 3, 4), (5, 7)),  # larger than the input
    ((2, 5, 6), (3, 4)),  # unbatched
]


@pytest.mark.parametrize("xs, out", ADAPTIVE2D)
def test_adaptive_avg_pool2d(xs, out):
    check(lambda m, x: F(m).adaptive_avg_pool2d(x, out), rand(*xs))
    check(lambda m, x: F(m).adaptive_avg_pool2d(x, out) ** 2, rand(*xs), gradcheck=False,
          gradgrad=True)  # fmt: skip


def test_adaptive_avg_pool_float32_and_1d():
    check(lambda m, x: F(m).adaptive_avg_pool2d(x, (3, 2)), rand(2, 3, 7, 5, dtype=np.float32))
    check(lambda m, x: F(m).adaptive_avg_pool1d(x, 3) ** 2, rand(2, 2, 7), gradgrad=True)


# ---------------------------------------------------------------- pad
PAD = [
    ((2, 3, 4), (1, 2), "constant", None),
    ((2, 2, 3, 4), (1, 2, 0, 1), "constant", 0.5),
    ((2, 2, 3, 4), (-1, 2, 1, -2), "constant", None),  # negative pads crop
    ((2, 2, 3, 4), (1, 1, 1, 1, 1, 1), "constant", None),  # pads the channels too
    ((2, 2, 4, 5), (2, 1, 1, 3), "reflect", None),
    ((2, 2, 4, 5), (-1, 2, 0, 1), "reflect", None),
    ((2, 5), (4, 3), "reflect", None),  # unbatched 1-D
    ((2, 3, 5), (4, 1), "reflect", None),
    ((2, 2, 3, 4), (2, 1, 3, 1), "replicate", None),
    ((3, 4), (3, 2), "replicate", None),
    ((2, 2, 3, 4), (4, 1, 3, 2), "circular", None),  # a pad as large as the size
    ((2, 2, 3, 5), (-1, 2, 2, -1), "circular", None),  # crops first, then wraps the rest
    ((1, 1, 2, 3, 3), (1, 1, 1, 2, 1, 1), "reflect", None),  # 3-D padding
]


@pytest.mark.parametrize("xs, p, mode, value", PAD)
def test_pad(xs, p, mode, value):
    check(lambda m, x: F(m).pad(x, p, mode=mode, value=value), rand(*xs))
    check(lambda m, x: F(m).pad(x, p, mode=mode, value=value) ** 2, rand(*xs), gradcheck=False,
          gradgrad=True)  # fmt: skip


def test_pad_float32_and_int():
    check(
        lambda m, x: F(m).pad(x, (1, 2, 2, 1), mode="reflect"), rand(2, 3, 4, 4, dtype=np.float32)
    )
    ints = np.arange(12).reshape(1, 3, 4)
    check(lambda m, x: F(m).pad(x, (1, 2), value=7), ints)


# ---------------------------------------------------------------- interpolate
INTERP = [
    ((2, 2, 4, 5), {"size": (7, 3)}),
    ((2, 2, 3, 4), {"scale_factor": 2}),
    ((2, 3, 3, 5), {"scale_factor": 1.3}),  # 2-D: a size that stays is copied
    ((1, 2, 5, 3), {"scale_factor": (2.1, 2.2)}),  # 2-D: a doubled size is halved
    ((1, 2, 7, 6), {"scale_factor": (0.5, 0.7)}),
    ((1, 2, 5, 4), {"scale_factor": 1.7, "recompute_scale_factor": True}),
    ((2, 2, 5), {"size": 8}),
    ((1, 2, 2, 3, 2), {"scale_factor": 2}),
    ((1, 2, 4, 5), {"size": (7, 3), "mode": "bilinear"}),
    ((1, 2, 4, 5), {"size": (7, 3), "mode": "bilinear", "align_corners": True}),
    ((1, 2, 3, 4), {"scale_factor": 1.7, "mode": "bilinear"}),
    ((1, 2, 5, 4), {"scale_factor": (0.6, 2.5), "mode": "bilinear", "align_corners": True}),
    ((1, 2, 3, 5), {"scale_factor": 1.3, "mode": "bilinear"}),  # a size that stays
    ((1, 2, 5, 4), {"scale_factor": 1.7, "mode": "bilinear", "recompute_scale_factor": True}),
    ((1, 2, 5, 4), {"size": 1, "mode": "bilinear", "align_corners": True}),
    ((2, 2, 5), {"size": 8, "mode": "linear"}),
    ((2, 2, 5), {"scale_factor": 0.5, "mode": "linear", "align_corners": True}),
    ((1, 2, 2, 3, 2), {"size": (3, 2, 4), "mode": "trilinear"}),
    ((2, 2, 7, 5), {"size": (3, 2), "mode": "area"}),
]


@pytest.mark.parametrize("xs, kw", INTERP)
def test_interpolate(xs, kw):
    check(lambda m, x: F(m).interpolate(x, **kw), rand(*xs))
    check(lambda m, x: F(m).interpolate(x, **kw) ** 2, rand(*xs), gradcheck=False, gradgrad=True)


@pytest.mark.parametrize("xs, scale", [((1, 2, 3), 1.3), ((1, 1, 3, 2, 5), (1.3, 2.2, 1.1))])
def test_interpolate_nearest_kept_size_1d_3d(xs, scale):
    # In 1-D and 3-D PyTorch's forward maps a size that stays (or doubles) with 1 / scale
    # (here [0, 0, 1] for 3 -> 3), but its backward copies that dim as if the map were the
    # identity: its gradient is not the gradient of its forward. ember follows the forward,
    # so only the values are compared (ember's gradient is checked by finite differences).
    check(lambda m, x: F(m).interpolate(x, scale_factor=scale), rand(*xs), grad=False)
    x = ember.tensor(rand(*xs), requires_grad=True)
    up = ember.tensor(rand(*F(ember).interpolate(x, scale_factor=scale).shape))
    (gx,) = ember.autograd.grad(F(ember).interpolate(x, scale_factor=scale), [x], up)
    fd = _finite_difference(lambda a: F(ember).interpolate(a, scale_factor=scale), x, up)
    np.testing.assert_allclose(gx.numpy(), fd, rtol=1e-6, atol=1e-8)


def _finite_difference(f, x, up, eps=1e-6):
    data, out = x.detach().numpy().copy(), np.zeros(x.shape)
    for i in np.ndindex(*x.shape):
        for sign in (1, -1):
            d = data.copy()
            d[i] += sign * eps
            out[i] += sign * float((f(ember.tensor(d)).numpy() * up.numpy()).sum()) / (2 * eps)
    return out


def test_interpolate_float32():
    x = rand(2, 3, 5, 7, dtype=np.float32)
    check(lambda m, x: F(m).interpolate(x, scale_factor=1.5, mode="bilinear"), x)
    check(lambda m, x: F(m).interpolate(x, size=(9, 4)), x)


def test_interpolate_nearest_index_rounding():
    # sizes where float32 rounding of in/out decides the source index
    x = np.arange(7.0).reshape(1, 1, 7)
    for out in (3, 10, 11, 13, 20, 21, 22):
        check(lambda m, x, out=out: F(m).interpolate(x, size=out), x, grad=False)


# ---------------------------------------------------------------- errors
def _x(*shape):
    return rand(*shape, seed=0)


CONV_ERRORS = [
    (lambda m, x, w: F(m).conv2d(x, w), (_x(3, 32), _x(8, 3, 3, 3)),
     "conv2d: expected input with 4 dimensions (N, C, H, W) or 3 (C, H, W), received shape (3, 32)"),
    (lambda m, x, w: F(m).conv2d(x, w), (_x(1, 3, 5, 5), _x(8, 3, 3)),
     "conv2d: expected weight with 4 dimensions"),
    (lambda m, x, w: F(m).conv2d(x, w), (_x(2, 3, 5, 5), _x(8, 4, 3, 3)),
     "conv2d: input has 3 channels but weight expects 4 (weight shape (8, 4, 3, 3), groups=1)"),
    (lambda m, x, w: F(m).conv2d(x, w, groups=3), (_x(1, 3, 5, 5), _x(8, 1, 3, 3)),
     "conv2d: out_channels (8, weight shape (8, 1, 3, 3)) must be divisible by groups (3)"),
    (lambda m, x, w: F(m).conv2d(x, w, groups=2), (_x(1, 3, 5, 5), _x(4, 1, 3, 3)),
     "conv2d: input has 3 channels but weight expects 2 (weight shape (4, 1, 3, 3), groups=2)"),
    (lambda m, x, w: F(m).conv2d(x, w, groups=0), (_x(1, 3, 5, 5), _x(4, 3, 3, 3)),
     "conv2d: groups must be a positive int, received 0"),
    (lambda m, x, w: F(m).conv2d(x, w, stride=0), (_x(1, 3, 5, 5), _x(4, 3, 3, 3)),
     "conv2d: stride must be positive, received (0, 0)"),
    (lambda m, x, w: F(m).conv2d(x, w, dilation=(1, 0)), (_x(1, 3, 5, 5), _x(4, 3, 3, 3)),
     "conv2d: dilation must be positive, received (1, 0)"),
    (lambda m, x, w: F(m).conv2d(x, w, padding=-1), (_x(1, 3, 5, 5), _x(4, 3, 3, 3)),
     "conv2d: padding must be non-negative, received (-1, -1)"),
    (lambda m, x, w: F(m).conv2d(x, w, stride=(1, 2, 3)), (_x(1, 3, 5, 5), _x(4, 3, 3, 3)),
     "conv2d: expected stride to be an int or a tuple of 2 ints, received (1, 2, 3)"),
    (lambda m, x, w: F(m).conv2d(x, w, stride=1.5), (_x(1, 3, 5, 5), _x(4, 3, 3, 3)),
     "conv2d: expected stride to be an int or a tuple of 2 ints, received 1.5"),
    (lambda m, x, w: F(m).conv2d(x, w, padding="same", stride=2), (_x(1, 3, 5, 5), _x(4, 3, 3, 3)),
     "conv2d: padding='same' needs stride 1, received stride (2, 2)"),
    (lambda m, x, w: F(m).conv2d(x, w, padding="full"), (_x(1, 3, 5, 5), _x(4, 3, 3, 3)),
     "conv2d: padding must be 'valid', 'same', an int or a tuple, received 'full'"),
    (lambda m, x, w: F(m).conv2d(x, w), (_x(1, 3, 5, 5), _x(4, 3, 7, 7)),
     ("conv2d: the kernel (size (7, 7), (7, 7) with dilation) is larger than the padded input "
     "(size (5, 5))")),
    (lambda m, x, w: F(m).conv2d(x, w, dilation=4, padding=1), (_x(1, 3, 5, 5), _x(4, 3, 3, 3)),
     ("conv2d: the kernel (size (3, 3), (9, 9) with dilation) is larger than the padded input "
     "(size (7, 7))")),
    (lambda m, x, w: F(m).conv2d(x, w), (_x(1, 3, 5, 5), _x(4, 3, 0, 3)),
     "conv2d: the kernel sizes must be positive, received weight shape (4, 3, 0, 3)"),
    (lambda m, x, w, b: F(m).conv2d(x, w, b), (_x(1, 3, 5, 5), _x(4, 3, 3, 3), _x(5)),
     "conv2d: expected bias of shape (4,) for weight of shape (4, 3, 3, 3), received shape (5,)"),
    (lambda m, x, w: F(m).conv2d(x, w), (_x(1, 3, 5, 5).astype(np.float32), _x(4, 3, 3, 3)),
     "conv2d: input (float32) and weight (float64) must have the same dtype"),
    (lambda m, x, w, b: F(m).conv2d(x, w, b), (_x(1, 3, 5, 5), _x(4, 3, 3, 3),
                                                _x(4).astype(np.float32)),
     "conv2d: bias (float32) and weight (float64) must have the same dtype"),
    (lambda m, x, w: F(m).conv1d(x, w), (_x(1, 2, 3, 5), _x(4, 2, 3)),
     "conv1d: expected input with 3 dimensions (N, C, L) or 2 (C, L), received shape (1, 2, 3, 5)"),
    (lambda m, x, w: F(m).conv1d(x, w, padding="same", stride=2), (_x(1, 2, 5), _x(4, 2, 3)),
     "conv1d: padding='same' needs stride 1, received stride 2"),
    (lambda m, x, w: F(m).conv_transpose2d(x, w), (_x(2, 3, 5, 5), _x(4, 2, 3, 3)),
     ("conv_transpose2d: input has 3 channels but weight expects 4 (weight shape (4, 2, 3, 3), "
     "groups=1)")),
    (lambda m, x, w: F(m).conv_transpose2d(x, w, groups=2), (_x(2, 3, 5, 5), _x(3, 2, 3, 3)),
     "conv_transpose2d: in_channels (3, weight shape (3, 2, 3, 3)) must be divisible by groups (2)"),
    (lambda m, x, w: F(m).conv_transpose2d(x, w, output_padding=1), (_x(1, 3, 5, 5), _x(3, 2, 3, 3)),
     ("conv_transpose2d: output_padding must be smaller than stride or dilation, received "
     "output_padding (1, 1), stride (1, 1), dilation (1, 1)")),
    (lambda m, x, w: F(m).conv_transpose2d(x, w, padding=5), (_x(1, 3, 5, 5), _x(3, 2, 3, 3)),
     "conv_transpose2d: the output would have size (-3, -3) for input size (5, 5)"),
]  # fmt: skip


@pytest.mark.parametrize("f, args, match", CONV_ERRORS)
def test_conv_errors(f, args, match):
    check_raises(f, *args, match=match)


POOL_ERRORS = [
    (lambda m, x: F(m).max_pool2d(x, 2), _x(5, 5),
     "max_pool2d: expected input with 4 dimensions (N, C, H, W) or 3 (C, H, W), received shape (5, 5)"),
    (lambda m, x: F(m).max_pool2d(x, 2), _x(2, 3, 0, 5),
     ("max_pool2d: expected an input with non-zero channels and spatial sizes (the batch may be "
     "empty), received shape (2, 3, 0, 5)")),
    (lambda m, x: F(m).max_pool2d(x, 3, padding=2), _x(1, 2, 5, 5),
     ("max_pool2d: padding must be non-negative and at most half of kernel_size, received "
     "padding (2, 2) for kernel_size (3, 3)")),
    (lambda m, x: F(m).max_pool2d(x, 7), _x(1, 2, 5, 5),
     "max_pool2d: the output would be empty (size (0, 0)) for input size (5, 5)"),
    (lambda m, x: F(m).max_pool2d(x, 0), _x(1, 2, 5, 5),
     "max_pool2d: kernel_size must be positive, received (0, 0)"),
    (lambda m, x: F(m).max_pool2d(x, 2, stride=(1, 0)), _x(1, 2, 5, 5),
     "max_pool2d: stride must be positive, received (1, 0)"),
    (lambda m, x: F(m).max_pool2d(x, 2, dilation=0), _x(1, 2, 5, 5),
     "max_pool2d: dilation must be positive, received (0, 0)"),
    (lambda m, x: F(m).max_pool2d(x, (2, 2, 2)), _x(1, 2, 5, 5),
     "max_pool2d: expected kernel_size to be an int or a tuple of 2 ints, received (2, 2, 2)"),
    (lambda m, x: F(m).max_pool2d(x, 2), np.ones((1, 1, 4, 4), dtype=bool),
     "max_pool2d: expected a numeric input, received bool"),
    (lambda m, x: F(m).max_pool1d(x, 2), _x(2, 3, 5, 5),
     ("max_pool1d: expected input with 3 dimensions (N, C, L) or 2 (C, L), received shape "
     "(2, 3, 5, 5)")),
    (lambda m, x: F(m).max_pool1d(x, 4, padding=1), _x(1, 2, 1),
     "max_pool1d: the output would be empty (size 0) for input size 1"),
    (lambda m, x: F(m).avg_pool2d(x, 2, divisor_override=0), _x(1, 2, 5, 5),
     "avg_pool2d: divisor_override must be a non-zero int, received 0"),
    (lambda m, x: F(m).avg_pool2d(x, 3, padding=2), _x(1, 2, 5, 5),
     "avg_pool2d: padding must be non-negative and at most half of kernel_size"),
    (lambda m, x: F(m).avg_pool2d(x, 6), _x(1, 2, 5, 5),
     "avg_pool2d: the output would be empty (size (0, 0)) for input size (5, 5)"),
    (lambda m, x: F(m).adaptive_avg_pool2d(x, (2, 2, 2)), _x(1, 2, 5, 5),
     ("adaptive_avg_pool2d: expected output_size to be an int or a tuple of 2 ints (or None), "
     "received (2, 2, 2)")),
    (lambda m, x: F(m).adaptive_avg_pool2d(x, -1), _x(1, 2, 5, 5),
     "adaptive_avg_pool2d: output_size must be non-negative, received (-1, -1)"),
    (lambda m, x: F(m).adaptive_avg_pool2d(x, 2), _x(5, 5),
     ("adaptive_avg_pool2d: expected input with 4 dimensions (N, C, H, W) or 3 (C, H, W), "
     "received shape (5, 5)")),
    (lambda m, x: F(m).adaptive_avg_pool2d(x, 2), _x(2, 3, 0, 5),
     "adaptive_avg_pool2d: expected an input with non-zero channels and spatial sizes"),
    (lambda m, x: F(m).adaptive_avg_pool2d(x, 2), np.ones((1, 2, 4, 4), dtype=np.int64),
     "adaptive_avg_pool2d: expected a floating-point input, received int64"),
]  # fmt: skip


@pytest.mark.parametrize("f, x, match", POOL_ERRORS)
def test_pool_errors(f, x, match):
    check_raises(f, x, match=match)


PAD_ERRORS = [
    (lambda m, x: F(m).pad(x, (1, 2, 3)), _x(2, 3, 4),
     "pad: the padding must have an even length (pairs), received (1, 2, 3)"),
    (lambda m, x: F(m).pad(x, (1,) * 8), _x(2, 3, 4),
     "pad: padding (1, 1, 1, 1, 1, 1, 1, 1) pads 4 dims, but the input has shape (2, 3, 4) (3 dims)"),
    (lambda m, x: F(m).pad(x, (1.5, 1)), _x(2, 3, 4),
     "pad: expected pad to be a tuple of ints, received (1.5, 1)"),
    (lambda m, x: F(m).pad(x, (-3, -2)), _x(2, 3, 4),
     "pad: padding (-3, -2) of dim 2 crops more than its size 4, for input shape (2, 3, 4)"),
    (lambda m, x: F(m).pad(x, (4, 1), mode="reflect"), _x(2, 3, 4),
     ("pad: reflect padding must be smaller than the size of the dim it pads, received padding "
     "(4, 1) for dim 2 of size 4 (input shape (2, 3, 4))")),
    (lambda m, x: F(m).pad(x, (5, 1), mode="circular"), _x(2, 3, 4),
     ("pad: circular padding must be at most the size of the dim it pads (after cropping by "
      "negative pads), received padding (5, 1) for dim 2 of size 4")),
    (lambda m, x: F(m).pad(x, (1, 1), mode="reflect", value=2.0), _x(2, 3, 4),
     "pad: mode 'reflect' takes no value, received value=2.0"),
    (lambda m, x: F(m).pad(x, (1, 1), mode="wrap"), _x(2, 3, 4),
     "pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', received 'wrap'"),
    (lambda m, x: F(m).pad(x, (1, 1), mode="replicate"), _x(2, 3, 4, 5),
     ("pad: mode 'replicate' pads the last 1, 2 or 3 dims of an input with one or two more dims; "
     "received padding of length 2 for input shape (2, 3, 4, 5)")),
    (lambda m, x: F(m).pad(x, (1, 1), mode="replicate"), _x(2, 3, 0),
     "pad: mode 'replicate' cannot pad dim 2 of size 0 by (1, 1)"),
]  # fmt: skip


@pytest.mark.parametrize("f, x, match", PAD_ERRORS)
def test_pad_errors(f, x, match):
    check_raises(f, x, match=match)


@pytest.mark.parametrize(
    "p, mode, match",
    [
        ((3, -2), "circular", "pad: circular padding must be at most the size of the dim it pads"),
        ((-2, -2, 0, 1), "reflect", "pad: mode 'reflect' cannot pad dim 2 of size 4 by (-2, -2)"),
    ],
)
def test_pad_errors_degenerate(p, mode, match):
    # PyTorch answers these with uninitialised memory (a circular pad wrapping around a part
    # cropped to less than the pad) or an empty dim; ember refuses them
    with pytest.raises(ValueError, match=re.escape(match)):
        F(ember).pad(ember.tensor(_x(2, 3, 4)), p, mode=mode)


INTERP_ERRORS = [
    (lambda m, x: F(m).interpolate(x), _x(1, 2, 4, 4),
     "interpolate: either size or scale_factor must be given"),
    (lambda m, x: F(m).interpolate(x, size=3, scale_factor=2), _x(1, 2, 4, 4),
     "interpolate: only one of size or scale_factor may be given"),
    (lambda m, x: F(m).interpolate(x, size=(3, 3, 3)), _x(1, 2, 4, 4),
     ("interpolate: size (3, 3, 3) must have one entry per spatial dim of the input, which has "
     "spatial sizes (4, 4)")),
    (lambda m, x: F(m).interpolate(x, scale_factor=(2, 2, 2)), _x(1, 2, 4, 4),
     "interpolate: scale_factor (2, 2, 2) must have one entry per spatial dim"),
    (lambda m, x: F(m).interpolate(x, size=3, align_corners=True), _x(1, 2, 4, 4),
     ("interpolate: align_corners can only be set with the modes linear, bilinear and "
     "trilinear, received mode 'nearest'")),
    (lambda m, x: F(m).interpolate(x, size=3, mode="bilinear"), _x(2, 4, 4),
     "interpolate: mode 'bilinear' needs a 4-D input, received shape (2, 4, 4)"),
    (lambda m, x: F(m).interpolate(x, size=3, mode="linear"), _x(1, 2, 4, 4),
     "interpolate: mode 'linear' needs a 3-D input, received shape (1, 2, 4, 4)"),
    (lambda m, x: F(m).interpolate(x, size=3, mode="lanczos"), _x(1, 2, 4, 4),
     ("interpolate: mode must be 'nearest', 'linear', 'bilinear', 'trilinear' or 'area', "
     "received 'lanczos'")),
    (lambda m, x: F(m).interpolate(x, scale_factor=0.1), _x(1, 2, 4, 4),
     ("interpolate: input and output sizes must be positive, received input size (4, 4) and "
     "output size (0, 0)")),
    (lambda m, x: F(m).interpolate(x, scale_factor=2), _x(4, 4),
     "interpolate: expected a 3-D, 4-D or 5-D input (N, C, spatial...), received shape (4, 4)"),
    (lambda m, x: F(m).interpolate(x, size=3, recompute_scale_factor=True), _x(1, 2, 4, 4),
     "interpolate: recompute_scale_factor has no meaning with an explicit size"),
    (lambda m, x: F(m).interpolate(x, size=3.0), _x(1, 2, 4, 4),
     "interpolate: size must be an int or a tuple of ints, received 3.0"),
    (lambda m, x: F(m).interpolate(x, size=3), np.ones((1, 2, 4, 4), dtype=np.int64),
     "interpolate: expected a floating-point input, received int64"),
]  # fmt: skip


@pytest.mark.parametrize("f, x, match", INTERP_ERRORS)
def test_interpolate_errors(f, x, match):
    check_raises(f, x, match=match)


def test_interpolate_antialias_unsupported():
    with pytest.raises(ValueError, match="interpolate: antialias=True is not supported"):
        F(ember).interpolate(ember.ones(1, 1, 4, 4), size=2, mode="bilinear", antialias=True)


# ---------------------------------------------------------------- fast paths (ember.kernels.conv)
# The tests above run on both paths (conftest); these add the geometries where the fast
# kernels could go wrong, and check which path ran.
FAST_CONV = [
    ((3, 2, 7, 6), (4, 2, 3, 3), {"padding": 1}),  # odd sizes
    ((2, 3, 9, 8), (2, 3, 3, 2), {"stride": (2, 1), "padding": (0, 2), "dilation": (1, 2)}),
    ((2, 2, 6, 6), (3, 2, 1, 1), {"stride": 2}),  # 1x1, stride 2 (ResNet's downsampling)
    ((2, 2, 5, 6), (2, 2, 2, 4), {"padding": "same"}),  # asymmetric padding
    ((7, 2, 5, 5), (3, 2, 3, 3), {"padding": 2, "stride": 3}),  # several chunks, a ragged last
]


@pytest.mark.parametrize("xs, ws, kw", FAST_CONV)
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_fast_conv2d_geometries(xs, ws, kw, kernel_path, monkeypatch):
    from ember.kernels import conv as kconv

    monkeypatch.setattr(kconv, "CHUNK_BYTES", 1)  # one sample per chunk: many chunks
    before = ember.kernels.taken.copy()
    args = rand(*xs), rand(*ws), rand(ws[0])
    check(lambda m, x, w, b: F(m).conv2d(x, w, b, **kw), *args, gradgrad=True)
    check(lambda m, x, w: F(m).conv2d(x, w, **kw), *args[:2])
    ran = ember.kernels.taken - before
    names = {"conv2d", "conv2d_bias", "conv2d_grad_input", "conv2d_grad_weight"}
    assert set(ran) >= names if kernel_path == "fast" else not set(ran) & names


def test_fast_conv2d_float32_batch(kernel_path):
    args = [rand(9, 4, 6, 6, dtype=np.float32), rand(5, 4, 3, 3, dtype=np.float32),
            rand(5, dtype=np.float32)]  # fmt: skip
    check(lambda m, x, w, b: F(m).conv2d(x, w, b, padding=1), *args)
    check(lambda m, x, w: F(m).conv_transpose2d(x, w, stride=2), args[0], args[1][:4])
    # one sample: its product is written straight into the output (bias added there)
    check(lambda m, x, w, b: F(m).conv2d(x, w, b, padding=1), args[0][:1], *args[1:])
    check(lambda m, x, w: F(m).conv2d(x, w, stride=2), args[0][:1], args[1])


def test_fast_conv2d_groups_fall_back(kernel_path):
    before = ember.kernels.taken.copy()
    check(lambda m, x, w, b: F(m).conv2d(x, w, b, groups=2), rand(2, 4, 5, 5), rand(4, 2, 3, 3),
          rand(4))  # fmt: skip
    assert not {"conv2d", "conv2d_bias"} & set(ember.kernels.taken - before)


def test_fast_paths_without_numba(kernel_path, monkeypatch):
    # numba is optional: the NumPy twins of its kernels give the same answers
    monkeypatch.setattr(ember.kernels, "HAVE_NUMBA", False)
    check(lambda m, x, w: F(m).conv2d(x, w, padding=1, stride=(1, 2)), rand(2, 2, 5, 6),
          rand(3, 2, 3, 3))  # fmt: skip
    check(lambda m, x: F(m).max_pool2d(x, 2) ** 2, rand(2, 2, 5, 7), gradgrad=True)
    check(lambda m, x: F(m).max_pool2d(x, (3, 2)), rand(1, 2, 7, 5))


@pytest.mark.skipif(not ember.kernels.HAVE_NUMBA, reason="numba is not installed")
@pytest.mark.parametrize(
    "geo",
    [
        (3, 3, 1, 1, 1, 1, 1, 1, 6, 7),
        (3, 2, 2, 3, 0, 1, 1, 2, 2, 3),
        (1, 1, 1, 1, 0, 0, 1, 1, 6, 7),
        (2, 3, 1, 2, 2, 0, 2, 1, 8, 3),
        (5, 5, 1, 1, 3, 4, 1, 1, 8, 11),
        (3, 3, 3, 3, 2, 2, 1, 1, 3, 3),
    ],
)
def test_im2col_kernel_matches_numpy_copies(geo):
    # geo: kernel, stride, padding, dilation, output size. The kernel reads x unpadded and
    # writes zeros where a window covers the padding (rows and columns, wholly or in part)
    from ember.kernels import conv as kconv

    x = rand(3, 4, 6, 7, dtype=np.float32)
    shape = (4 * geo[0] * geo[1], 3, geo[8] * geo[9])
    got, want = np.full(shape, np.nan, np.float32), np.full(shape, np.nan, np.float32)
    kconv.im2col(x, got, geo)
    kconv.im2col_numpy(kconv.pad_input(x, geo), want, geo)
    np.testing.assert_array_equal(got, want)
    assert not np.isnan(got).any()  # every column written


def test_relu_and_pooling_shared_between_cores(kernel_path, monkeypatch):
    # large arrays' relu (both ways) and 2x2 max pooling (both ways) are split between the
    # cores where ember's products use them; the threshold is lowered so small ones are
    from ember.kernels import conv as kconv
    from ember.kernels import gemm
    from ember.kernels import nn as knn

    if not gemm.AVAILABLE or gemm.threads() < 2:
        pytest.skip("the loops are shared only with ember's product on 2+ cores")
    monkeypatch.setattr(knn, "SHARE_ELEMENTS", 1)
    calls = []
    for mod, name in ((knn, "_relu_shared"), (knn, "_relu_backward_shared"),
                      (kconv, "_maxpool2_shared"), (kconv, "_maxpool2_scatter_shared")):  # fmt: skip
        original = getattr(mod, name)

        def spy(*a, _f=original, _n=name):
            calls.append(_n)
            return _f(*a)

        monkeypatch.setattr(mod, name, spy)
    x = rand(5, 3, 6, 7, dtype=np.float32)  # 5 samples: ragged shares
    check(lambda m, x: F(m).max_pool2d(F(m).relu(x), 2), x, gradcheck=False)
    if kernel_path == "fast":
        assert set(calls) == {"_relu_shared", "_relu_backward_shared", "_maxpool2_shared",
                              "_maxpool2_scatter_shared"}  # fmt: skip
    else:
        assert not calls


FAST_MAX_POOL = [
    ((2, 3, 6, 6), {"kernel_size": 2}),
    ((2, 2, 7, 5), {"kernel_size": 2}),  # ragged: the last row and column are left out
    ((1, 2, 9, 7), {"kernel_size": 3}),  # the general (not 2x2) kernel
    ((1, 2, 6, 7), {"kernel_size": (2, 3), "stride": (2, 3)}),
    ((2, 6, 6), {"kernel_size": 2, "ceil_mode": True}),  # unbatched; ceil_mode changes nothing
]


@pytest.mark.parametrize("xs, kw", FAST_MAX_POOL)
def test_fast_max_pool2d(xs, kw, kernel_path):
    before = ember.kernels.taken.copy()
    check(lambda m, x: F(m).max_pool2d(x, **kw), rand(*xs))
    check(lambda m, x: F(m).max_pool2d(x, **kw) ** 2, rand(*xs), gradcheck=False, gradgrad=True)
    check(lambda m, x: F(m).max_pool2d(x, **kw), rand(*xs, dtype=np.float32))
    ran = set(ember.kernels.taken - before)
    names = {"max_pool2d", "max_pool2d_backward"}
    assert ran >= names if kernel_path == "fast" else not ran & names


def test_fast_max_pool_special_values(kernel_path):
    # ties keep the first maximum; NaN wins (the last of several); -inf blocks
    y = np.arange(16.0).reshape(1, 1, 4, 4)
    y[0, 0, 0, 0] = y[0, 0, 1, 1] = np.nan
    y[0, 0, 0, 2:] = y[0, 0, 1, 2:] = 7.0
    y[0, 0, 2:, :2] = -np.inf
    check(lambda m, x: F(m).max_pool2d(x, 2), y, grad=False)
    z = np.tile(np.array([[1.0, 3.0], [3.0, 2.0]]), (2, 2))[None, None]
    # (the gradient goes to the first maximum, as in PyTorch; finite differences would split it)
    check(lambda m, x: F(m).max_pool2d(x, 2), z, gradcheck=False)
    check(lambda m, x: F(m).max_pool1d(x, 3), rand(2, 3, 10))


@pytest.mark.parametrize("xs", [(2, 3, 5, 4), (3, 4, 4), (2, 3, 1, 1)])
def test_fast_global_avg_pool(xs, kernel_path):
    check(lambda m, x: F(m).adaptive_avg_pool2d(x, 1) ** 2, rand(*xs), gradgrad=True)
    check(lambda m, x: F(m).adaptive_avg_pool2d(x, (1, 1)), rand(*xs, dtype=np.float32))
    check(lambda m, x: F(m).adaptive_avg_pool1d(x, 1), rand(*xs[:-1]))


# ---------------------------------------------------------------- Winograd (ember.kernels.winograd)
# 3x3 stride-1 layers with at least MIN_CHANNELS channels and MIN_POSITIONS outputs;
# lowered here so that small shapes (fast to check by finite differences) take it, and
# split into many chunks.
WINOGRAD = [
    ((2, 3, 6, 6), (4, 3, 3, 3), {"padding": 1}),  # whole tiles
    ((3, 2, 7, 5), (3, 2, 3, 3), {"padding": 1}),  # odd sizes: ragged last tiles
    ((2, 2, 6, 7), (2, 2, 3, 3), {}),  # no padding
    ((1, 3, 4, 4), (2, 3, 3, 3), {"padding": 2}),  # padding wider than the tiles' overlap
    ((2, 2, 6, 5), (2, 2, 3, 3), {"padding": (0, 2)}),
    ((2, 2, 3, 2), (2, 2, 3, 3), {"padding": "same"}),  # an output of 3x2
]


@pytest.fixture
def winograd_everywhere(monkeypatch):
    from ember.kernels import winograd

    monkeypatch.setattr(winograd, "MIN_CHANNELS", 1)
    monkeypatch.setattr(winograd, "MIN_POSITIONS", 1)
    monkeypatch.setattr(winograd, "CHUNK_BYTES", 1)  # one sample per chunk
    monkeypatch.setattr(winograd, "MIN_TILES", 1)


@pytest.mark.parametrize("xs, ws, kw", WINOGRAD)
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_winograd_conv2d(xs, ws, kw, kernel_path, winograd_everywhere):
    before = ember.kernels.taken.copy()
    args = rand(*xs), rand(*ws), rand(ws[0])
    check(lambda m, x, w, b: F(m).conv2d(x, w, b, **kw), *args, gradgrad=True)
    check(lambda m, x, w: F(m).conv2d(x, w, **kw), *args[:2])
    check(lambda m, x, w: F(m).conv2d(x, w, **kw), *(a.astype(np.float32) for a in args[:2]))
    ran = set(ember.kernels.taken - before)
    names = {"conv2d_winograd", "conv2d_winograd_backward"}
    assert ran >= names if kernel_path == "fast" else not ran & names


def test_winograd_conv2d_one_gradient(kernel_path, winograd_everywhere):
    # only the weight's gradient (a first layer), only the input's (frozen weights)
    x, w = rand(2, 3, 5, 6), rand(4, 3, 3, 3)
    for flags in [(False, True), (True, False)]:
        ex, ew = (ember.tensor(a, requires_grad=f) for a, f in zip((x, w), flags))
        tx, tw = (torch.tensor(a, requires_grad=f) for a, f in zip((x, w), flags))
        (F(ember).conv2d(ex, ew, padding=1) ** 2).sum().backward()
        (torch_functional.conv2d(tx, tw, padding=1) ** 2).sum().backward()
        for e, t in [(ex, tx), (ew, tw)]:
            assert (e.grad is None) == (t.grad is None)
            if t.grad is not None:
                np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_winograd_conv2d_tiles_kept_or_not(kernel_path, winograd_everywhere, monkeypatch):
    # the forward keeps x's tiles for the backward when they fit KEEP_BYTES; a second
    # backward (retain_graph) and a layer over the budget transform x again
    from ember.kernels import winograd

    x, w, b = rand(3, 2, 5, 6), rand(3, 2, 3, 3), rand(3)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    (torch_functional.conv2d(tx, tw, tb, padding=1) ** 2).sum().backward()
    for budget in [winograd.KEEP_BYTES, 0]:
        monkeypatch.setattr(winograd, "KEEP_BYTES", budget)
        ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (x, w, b))
        loss = (F(ember).conv2d(ex, ew, eb, padding=1) ** 2).sum()
        loss.backward(retain_graph=True)
        first = [t.grad.numpy().copy() for t in (ex, ew, eb)]
        loss.backward()
        for e, t, g in zip((ex, ew, eb), (tx, tw, tb), first):
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-7, atol=1e-9)
            np.testing.assert_allclose(e.grad.numpy(), 2 * g, rtol=1e-7, atol=1e-9)


def test_winograd_conv2d_non_finite(kernel_path, winograd_everywhere):
    # a NaN or inf in x reaches exactly the outputs whose windows hold it; Winograd's
    # transforms may turn PyTorch's inf there into NaN (inf - inf)
    x, w = rand(2, 3, 7, 6), rand(4, 3, 3, 3)
    x[0, 1, 0, 0], x[0, 2, 3, 4], x[1, 0, 6, 5] = np.nan, np.inf, -np.inf
    e = F(ember).conv2d(ember.tensor(x), ember.tensor(w), padding=1).numpy()
    t = torch_functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    np.testing.assert_array_equal(np.isfinite(e), np.isfinite(t))
    assert (~np.isfinite(t)).sum() > 10
    np.testing.assert_allclose(e[np.isfinite(t)], t[np.isfinite(t)], rtol=1e-7, atol=1e-9)


DIRECT = [  # float32 layers for the fused direct loop (ember.kernels.conv._direct)
    ((1, 3, 32, 32), (32, 3, 3, 3), {"padding": 1}),  # the benchmark's first layer, batch 1
    ((1, 64, 8, 8), (128, 64, 3, 3), {"padding": 1}),  # depth 576: three panels of B deep
    ((5, 9, 4, 4), (30, 9, 3, 3), {"stride": 2, "padding": 1}),  # panels span samples
    ((4, 6, 7, 7), (33, 6, 3, 3), {"padding": 1}),  # ragged last panel; 33 = 2 * 12 + 9 rows
    ((3, 7, 9, 9), (25, 7, 1, 1), {}),
    ((1, 4, 10, 10), (14, 4, 3, 3), {"padding": 2, "dilation": 2}),
    ((2, 3, 7, 5), (12, 3, 5, 2), {"stride": (2, 1), "padding": (0, 1)}),
    # 12+ input channels, stride 1: the input's gradient in the direct loop too
    ((2, 13, 9, 8), (20, 13, 3, 3), {"padding": 2, "dilation": 2}),
    ((2, 16, 5, 5), (24, 16, 1, 1), {}),
    ((1, 12, 6, 7), (14, 12, 2, 4), {"padding": "same"}),  # padding after > before
]


@pytest.mark.parametrize("xs, ws, kw", DIRECT)
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv2d_direct(xs, ws, kw, kernel_path):
    from ember.kernels import conv, gemm

    args = rand(*xs, dtype=np.float32), rand(*ws, dtype=np.float32), rand(ws[0], dtype=np.float32)
    before = ember.kernels.taken.copy()
    check(lambda m, x, w, b: F(m).conv2d(x, w, b, **kw), *args, gradcheck=False)
    check(lambda m, x, w: F(m).conv2d(x, w, **kw), *args[:2], grad=False)
    ran = ember.kernels.taken - before
    out = torch_functional.conv2d(*(torch.tensor(a) for a in args[:2]), **kw).shape
    on = kernel_path == "fast" and gemm.AVAILABLE
    assert ran["conv2d_direct"] == (2 if on else 0)
    # the weight's gradient too, where a sample has enough output positions
    many = out[-2] * out[-1] >= conv.DIRECT_MIN_POSITIONS
    assert ran["conv2d_direct_grad_weight"] == (1 if on and many else 0)
    # and the input's, for stride 1 with enough channels (the rows of that product)
    rows = kw.get("stride", 1) == 1 and xs[1] >= gemm.MR
    assert ran["conv2d_direct_grad_input"] == (1 if on and rows else 0)


def test_conv2d_direct_non_finite(kernel_path):
    # a NaN or inf in x reaches exactly the outputs whose windows hold it, and the gradients
    # they reach, as in PyTorch; the columns a ragged last panel gathers past its end (and
    # never stores) hold such values here too
    from ember.kernels import gemm

    x, w = rand(3, 13, 9, 8, dtype=np.float32), rand(14, 13, 3, 3, dtype=np.float32)
    x[0, 1, 0, 0], x[1, 2, 3, 4], x[2, 0, 8, 7] = np.nan, np.inf, -np.inf
    before = ember.kernels.taken.copy()
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ew, tw = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    e, t = F(ember).conv2d(ex, ew, padding=1), torch_functional.conv2d(tx, tw, padding=1)
    gy = rand(*t.shape, dtype=np.float32)
    e.backward(ember.tensor(gy))
    t.backward(torch.tensor(gy))
    for a, b, spread in [(e, t, True), (ex.grad, tx.grad, False), (ew.grad, tw.grad, True)]:
        a, b = a.detach().numpy(), b.detach().numpy()
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
        fin = np.isfinite(b)
        assert (~fin).sum() > 5 if spread else fin.all()  # (x's gradient does not read x)
        np.testing.assert_allclose(a[fin], b[fin], rtol=1e-5, atol=1e-5)
    ran = ember.kernels.taken - before
    names = ["conv2d_direct", "conv2d_direct_grad_weight", "conv2d_direct_grad_input"]
    on = kernel_path == "fast" and gemm.AVAILABLE
    assert [ran[k] for k in names] == [1 if on else 0] * 3


def test_conv2d_direct_shared_between_cores():
    # each core takes a share of the panels (here 2 and 3 of 5, the cut inside a sample):
    # the same numbers as one core alone
    from ember.kernels import conv, gemm

    if not gemm.AVAILABLE:
        pytest.skip("the direct loop runs on AVX-512 only")
    x, w, b = rand(3, 5, 7, 7, dtype=np.float32), rand(26, 5, 3, 3, dtype=np.float32), None
    geo = (3, 3, 1, 1, 1, 1, 1, 1, 7, 7)
    one = conv.conv2d_direct(x, w, b, geo, parts=1)
    np.testing.assert_array_equal(conv.conv2d_direct(x, w, b, geo, parts=2), one)
    tx, tw = torch.tensor(x), torch.tensor(w, requires_grad=True)
    ty = torch_functional.conv2d(tx, tw, padding=1)
    np.testing.assert_allclose(one, ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    # the weight's gradient: samples shared (1 and 2), each core's sum added
    gy = rand(*ty.shape, dtype=np.float32)
    ty.backward(torch.tensor(gy))
    for parts in (1, 2):
        gw = conv.conv2d_grad_weight_direct(x, gy, geo, parts=parts)
        np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_winograd_conv2d_float32_wide(kernel_path):
    # the channel counts the fast path is for, without lowering its threshold: float32
    # rounding of the transforms stays within the suite's float32 tolerance
    from ember.kernels import winograd

    c = winograd.MIN_CHANNELS
    args = [rand(8, c, 9, 8, dtype=np.float32), rand(2 * c, c, 3, 3, dtype=np.float32),
            rand(2 * c, dtype=np.float32)]  # fmt: skip
    before = ember.kernels.taken.copy()
    check(lambda m, x, w, b: F(m).conv2d(x, w, b, padding=1), *args, gradcheck=False)
    ran = ember.kernels.taken["conv2d_winograd"] - before["conv2d_winograd"]
    assert ran == 1 if kernel_path == "fast" else ran == 0


def test_winograd_transforms_shared_between_cores(kernel_path, monkeypatch):
    # with ember's own products on (AVX-512), Winograd's tile transforms give each core a
    # share of the channels, cut at multiples of 16 (here ragged: 48 and 40 channels); every
    # tile of a channel stays on one core, as the adjoint's overlapping tiles need
    from ember.kernels import gemm, winograd

    if not gemm.AVAILABLE or gemm.threads() < 2:
        pytest.skip("the transforms share their channels only with ember's product on 2+ cores")
    calls = []
    for kernel, shared in list(winograd._SHARED.items()):

        def spy(*a, _shared=shared):
            calls.append(a[-1])
            return _shared(*a)

        monkeypatch.setitem(winograd._SHARED, kernel, spy)
    args = [rand(8, 48, 9, 8), rand(40, 48, 3, 3), rand(40)]  # 576 positions: Winograd
    check(lambda m, x, w, b: F(m).conv2d(x, w, b, padding=1), *args, gradcheck=False)
    check(lambda m, x, w, b: F(m).conv2d(x, w, b, padding=1),
          *(a.astype(np.float32) for a in args), gradcheck=False)  # fmt: skip
    if kernel_path == "fast":
        assert len(calls) >= 8 and set(calls) == {gemm.threads()}  # 4 transforms, 2 dtypes
    else:
        assert not calls


def test_benchmark_cnn_takes_the_fast_paths(kernel_path, monkeypatch):
    # the benchmark's CNN (workload b; a smaller image and batch), one SGD-momentum step.
    # Its channels and images are smaller than the benchmark's (32-128 channels, 64 images
    # of 16x16 and 8x8 into its Winograd layers), so Winograd's thresholds are lowered to
    # let them take it as the benchmark's do.
    from ember.kernels import winograd

    assert winograd.MIN_CHANNELS <= 32 and winograd.MIN_POSITIONS <= 64 * 8 * 8
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 8)
    monkeypatch.setattr(winograd, "MIN_POSITIONS", 1)
    nn = ember.nn
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )  # fmt: skip
    opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = ember.randn(4, 3, 16, 16)
    target = ember.tensor([1, 2, 3, 4])
    before = ember.kernels.taken.copy()
    opt.zero_grad()
    ember.nn.functional.cross_entropy(model(x), target).backward()
    opt.step()
    ran = ember.kernels.taken - before
    fast = {"conv2d_bias": 3, "conv2d_grad_weight": 3, "conv2d_grad_input": 2,
            "conv2d_winograd": 2, "conv2d_winograd_backward": 2, "conv2d_direct": 1,
            "conv2d_direct_grad_weight": 1, "max_pool2d": 2, "max_pool2d_backward": 2,
            "global_avg_pool": 1}  # fmt: skip
    _assert_fast(ran, fast, kernel_path)


def _assert_fast(ran, fast, kernel_path):
    """The kernels a model ran (counts) are the fast paths expected on this path; the
    fused direct convolution needs AVX-512 (elsewhere, im2col and a product)."""
    from ember.kernels import gemm

    if kernel_path == "fast":
        if not gemm.AVAILABLE:
            fast.pop("conv2d_direct", None)
            fast.pop("conv2d_direct_grad_weight", None)
        assert {k: ran[k] for k in fast} == fast
    else:
        assert not set(ran) & set(fast)


def test_benchmark_cnn_inference_takes_the_fast_paths(kernel_path):
    # the benchmark's CNN, as built there, at batch 1 (workload e): every layer below
    # Winograd's threshold, all three convolutions in the fused direct loop
    from bench.workloads import cnn

    model = cnn(ember)
    model.eval()
    before = ember.kernels.taken.copy()
    with ember.no_grad():
        y = model(ember.randn(1, 3, 32, 32))
    assert y.shape == (1, 10)
    ran = ember.kernels.taken - before
    fast = {"conv2d_bias": 3, "conv2d_direct": 3, "conv2d_winograd": 0, "max_pool2d": 2,
            "global_avg_pool": 1}  # fmt: skip
    _assert_fast(ran, fast, kernel_path)


def test_conv_remembers_checked_geometries():
    # a layer's repeated call skips the argument checks; new shapes, new arguments and bad
    # inputs are still checked, and unhashable arguments are checked every time
    from ember.ops import conv as ops_conv

    ops_conv._GEOMETRIES.clear()
    x, w = rand(2, 3, 5, 5), rand(4, 3, 3, 3)
    for _ in range(2):
        check(lambda m, x, w: F(m).conv2d(x, w, padding=1), x, w, gradcheck=False)
    remembered = len(ops_conv._GEOMETRIES)
    check(lambda m, x, w: F(m).conv2d(x, w, padding=1), x, w, gradcheck=False)
    assert len(ops_conv._GEOMETRIES) == remembered  # found, not added
    check(lambda m, x, w: F(m).conv2d(x, w, padding=2, stride=2), rand(1, 3, 7, 6), w,
          gradcheck=False)  # fmt: skip
    assert len(ops_conv._GEOMETRIES) > remembered
    ew = ember.tensor(w)
    with pytest.raises(RuntimeError, match="input has 2 channels but weight expects 3"):
        F(ember).conv2d(ember.tensor(rand(2, 2, 5, 5)), ew, padding=1)
    with pytest.raises(TypeError, match="must have the same dtype"):
        F(ember).conv2d(ember.tensor(x.astype(np.float32)), ew, padding=1)
    before = len(ops_conv._GEOMETRIES)
    y = F(ember).conv2d(ember.tensor(x), ew, padding=[1, 1])
    assert len(ops_conv._GEOMETRIES) == before and y.shape == (2, 4, 5, 5)


def test_pooling_remembers_checked_geometries():
    from ember.ops import conv as ops_conv

    ops_conv._GEOMETRIES.clear()
    x = rand(2, 3, 6, 7)
    for _ in range(2):
        check(lambda m, x: F(m).max_pool2d(x, 2), x, gradcheck=False)
        check(lambda m, x: F(m).avg_pool1d(x, 3, 2, 1), x[0], gradcheck=False)
    remembered = len(ops_conv._GEOMETRIES)
    check(lambda m, x: F(m).max_pool2d(x, 2), x[0], gradcheck=False)  # unbatched: new
    assert len(ops_conv._GEOMETRIES) == remembered + 1
    with pytest.raises(ValueError, match="padding must be non-negative and at most half"):
        F(ember).max_pool2d(ember.tensor(x), 2, padding=2)
    with pytest.raises(RuntimeError, match="non-zero channels and spatial sizes"):
        F(ember).max_pool2d(ember.tensor(rand(2, 0, 6, 7)), 2)
