import warnings

import numpy as np
import pytest
import torch

import ember
from tests.oracle import check, check_raises, positive, rand, randint


def F(m):
    return m.nn.functional


def probs(*shape, axis=1, seed=None):
    """Rows that sum to 1 along ``axis``: probability targets."""
    p = positive(*shape)
    return p / p.sum(axis=axis, keepdims=True)


# ---------------------------------------------------------------- linear
@pytest.mark.parametrize(
    "xs,ws,bias",
    [
        ((2, 3), (4, 3), True),
        ((2, 3), (4, 3), False),
        ((3,), (4, 3), True),
        ((2, 5, 3), (4, 3), True),
        ((2, 3), (3,), False),
        ((0, 3), (4, 3), True),
        ((2, 0, 3), (2, 3), True),
    ],
)
def test_linear(xs, ws, bias):
    args = [rand(*xs), rand(*ws)] + ([rand(ws[0])] if bias else [])
    check(lambda m, *a: F(m).linear(*a), *args, gradgrad=True)


def test_linear_float32():
    f32 = {"dtype": np.float32}
    check(lambda m, *a: F(m).linear(*a), rand(4, 3, **f32), rand(5, 3, **f32), rand(5, **f32))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_of_a_transposed_batch(dtype, kernel_path):
    # x (N, T, F) that is the transpose of a (T, N, F) array (a batch-first RNN's output):
    # the fast path takes the rows in memory order and hands the output back transposed
    x, w, b = rand(5, 3, 4, dtype=dtype), rand(6, 4, dtype=dtype), rand(6, dtype=dtype)
    exact = dtype == np.float64
    check(lambda m, x, w, b: F(m).linear(x.transpose(0, 1), w, b), x, w, b, gradgrad=exact,
          gradcheck=exact)  # fmt: skip
    y = F(ember).linear(ember.tensor(x).transpose(0, 1), ember.tensor(w), ember.tensor(b))
    assert y._data.flags.c_contiguous == (kernel_path == "reference")  # no copy of x


def test_linear_errors():
    check_raises(lambda m, x, w: F(m).linear(x, w), rand(2, 3), rand(2, 4, 3),
                 match="linear: expected weight of shape (out_features, in_features)")  # fmt: skip
    check_raises(lambda m, x, w: F(m).linear(x, w), rand(2, 3), rand(4, 5),
                 match="linear: input of shape (2, 3) must have 5 features")  # fmt: skip
    check_raises(lambda m, x, w: F(m).linear(x, w), rand(2, 3), rand(4, 3, dtype=np.float32),
                 match="linear: expected both operands to have the same dtype")  # fmt: skip


# ---------------------------------------------------------------- softmax
SOFTMAX_CASES = [((), 0), ((5,), 0), ((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), 1),
                 ((0, 3), 1), ((3, 0), -1), ((2, 0, 3), 0)]  # fmt: skip


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_softmax(fn, shape, dim):
    check(lambda m, x: getattr(F(m), fn)(x, dim), rand(*shape, low=-3, high=3), gradgrad=True)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_float32_method_and_top_level(fn):
    x = rand(3, 5, dtype=np.float32)
    check(lambda m, x: getattr(x, fn)(-1), x)
    check(lambda m, x: getattr(x, fn)(dim=0), x)
    check(lambda m, x: getattr(x, fn)(1, m.float64), x)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_stable_on_large_values(fn):
    x = rand(2, 6, low=-1000, high=1000)
    check(lambda m, x: getattr(F(m), fn)(x, 1), x, gradgrad=True)
    check(lambda m, x: getattr(F(m), fn)(x, 1), x.astype(np.float32))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_dtype_argument(fn):
    check(lambda m, x: getattr(F(m), fn)(x, 1, dtype=m.float64), rand(2, 3, dtype=np.float32))
    check(lambda m, x: getattr(F(m), fn)(x, 0, dtype=m.float32), randint(4, 5))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 3, 2)])
def test_softmax_implicit_dim_warns(fn, shape):
    with pytest.warns(UserWarning):
        check(lambda m, x: getattr(F(m), fn)(x), rand(*shape), gradcheck=False)


def test_softmax_errors():
    check_raises(
        lambda m, x: F(m).softmax(x, 0),
        randint(3, 4),
        match="softmax: expected a floating-point input",
    )
    check_raises(lambda m, x: F(m).log_softmax(x, 2), rand(2, 3), match="dim 2 is out of range")


# ---------------------------------------------------------------- cross_entropy and nll_loss
W5 = positive(5)
W3 = positive(3)


def _ce_targets(n, c, *rest, ignore=None):
    t = randint(c, n, *rest)
    if ignore is not None and t.size:
        t.reshape(-1)[::3] = ignore
    return t


CE_INDEX_CASES = [
    # input shape, target shape
    ((4, 5), (4,)),
    ((5,), ()),
    ((2, 3, 4), (2, 4)),
    ((2, 3, 2, 2), (2, 2, 2)),
    ((0, 3), (0,)),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ishape,tshape", CE_INDEX_CASES)
def test_cross_entropy_class_indices(ishape, tshape, reduction):
    c = ishape[0] if len(ishape) == 1 else ishape[1]
    t = randint(c, *tshape)
    if ishape[0] == 0 and reduction == "mean":  # 0 / 0 -> nan on both sides
        check(
            lambda m, x, t: F(m).cross_entropy(x, t, reduction=reduction),
            rand(*ishape),
            t,
            grad=False,
        )
        return
    check(
        lambda m, x, t: F(m).cross_entropy(x, t, reduction=reduction),
        rand(*ishape),
        t,
        gradgrad=True,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_cross_entropy_weight_ignore_smoothing(reduction, smoothing, weighted, ignore_index):
    t = randint(5, 6)
    t[::3] = ignore_index

    def f(m, x, t):
        w = m.tensor(W5) if weighted else None
        return F(m).cross_entropy(x, t, weight=w, ignore_index=ignore_index, reduction=reduction,
                                  label_smoothing=smoothing)  # fmt: skip

    check(f, rand(6, 5, low=-2, high=2), t, gradgrad=True)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_spatial_weighted_smoothing(smoothing):
    t = randint(3, 2, 2, 3)
    t[0, 0, 0] = -100

    def f(m, x, t):
        return F(m).cross_entropy(x, t, weight=m.tensor(W3).to(x.dtype), label_smoothing=smoothing)

    check(f, rand(2, 3, 2, 3), t, gradgrad=True)
    check(f, rand(2, 3, 2, 3, dtype=np.float32), t)


def test_cross_entropy_float32():
    check(lambda m, x, t: F(m).cross_entropy(x, t), rand(8, 5, dtype=np.float32), randint(5, 8))
    check(
        lambda m, x, t: F(m).cross_entropy(x, t, label_smoothing=0.1),
        rand(8, 5, dtype=np.float32),
        randint(5, 8),
    )


def test_cross_entropy_uint8_target():
    check(lambda m, x, t: F(m).cross_entropy(x, t), rand(4, 5), randint(5, 4, dtype=np.uint8))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(4, 5), (5,), (2, 3, 2, 2)])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_probabilities(shape, reduction, smoothing):
    axis = 0 if len(shape) == 1 else 1
    target = probs(*shape, axis=axis)

    def f(m, x, p):
        return F(m).cross_entropy(x, p, reduction=reduction, label_smoothing=smoothing)

    check(f, rand(*shape), target, gradgrad=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probabilities_weighted(reduction):
    check(lambda m, x, p: F(m).cross_entropy(x, p, weight=m.tensor(W3), reduction=reduction),
          rand(4, 3), probs(4, 3), gradgrad=True)  # fmt: skip


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probabilities_empty(reduction):
    check(lambda m, x, p: F(m).cross_entropy(x, p, reduction=reduction), rand(0, 3), rand(0, 3),
          grad=False)  # fmt: skip


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ishape,tshape", CE_INDEX_CASES[:4])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(ishape, tshape, reduction, weighted):
    c = ishape[0] if len(ishape) == 1 else ishape[1]
    t = randint(c, *tshape)
    if t.ndim:
        t.reshape(-1)[0] = -100
    w = positive(c)

    def f(m, x, t):
        return F(m).nll_loss(x, t, weight=m.tensor(w) if weighted else None, reduction=reduction)

    check(f, rand(*ishape), t, gradgrad=True)


def test_nll_loss_ignore_index_and_float32():
    t = np.array([0, 2, 2, 1])
    check(lambda m, x, t: F(m).nll_loss(x, t, ignore_index=2), rand(4, 3), t, gradgrad=True)
    check(lambda m, x, t: F(m).nll_loss(x, t, ignore_index=2), rand(4, 3, dtype=np.float32), t)


def test_nll_loss_all_ignored_is_nan():
    t = np.array([-100, -100])
    with np.errstate(all="ignore"):
        check(lambda m, x, t: F(m).nll_loss(x, t), rand(2, 3), t, grad=False)
    assert np.isnan(F(ember).nll_loss(ember.tensor(rand(2, 3)), ember.tensor(t)).item())


def test_nll_loss_legacy_reduction_args():
    with pytest.warns(UserWarning):
        check(lambda m, x, t: F(m).nll_loss(x, t, size_average=False), rand(4, 3), randint(3, 4))
    with pytest.warns(UserWarning):
        check(lambda m, x, t: F(m).nll_loss(x, t, reduce=False), rand(4, 3), randint(3, 4))


def test_cross_entropy_errors():
    ce = lambda m, x, t: F(m).cross_entropy(x, t)
    check_raises(
        ce,
        rand(3, 5),
        randint(5, 2),
        match="expected target of shape (3,) for input of shape (3, 5)",
    )
    check_raises(ce, rand(2, 5, 3), randint(5, 2, 4), match="received (2, 4)")
    check_raises(
        ce,
        rand(3, 5),
        np.array([0, 7, 1]),
        match="target 7 is out of bounds for an input with 5 classes",
    )
    check_raises(ce, rand(3, 5), np.array([0, -2, 1]), match="target -2 is out of bounds")
    err = check_raises(
        lambda m, x, t: F(m).nll_loss(x, t), rand(3, 5), np.array([0, 5, 1]), match="5 classes"
    )
    assert isinstance(err, IndexError)
    check_raises(
        ce,
        rand(3, 5),
        randint(5, 3, dtype=np.int32),
        match="dtype int64 (or uint8), received int32",
    )
    check_raises(
        ce,
        rand(3, 5),
        rand(3),
        match="class-probability targets (floating point) must have the input's shape (3, 5)",
    )
    check_raises(ce, rand(), np.array(1), match="0-d")
    check_raises(lambda m, x, t: F(m).cross_entropy(x, t, reduction="avg"), rand(3, 5), randint(5, 3),
                 match="cross_entropy: reduction must be one of 'none', 'mean', 'sum', received 'avg'")  # fmt: skip
    check_raises(lambda m, x, t: F(m).cross_entropy(x, t, label_smoothing=1.5), rand(3, 5), randint(5, 3),
                 match="label_smoothing must be in [0, 1], received 1.5")  # fmt: skip
    check_raises(lambda m, x, t: F(m).cross_entropy(x, t, weight=m.ones(4, dtype=m.float64)), rand(3, 5),
                 randint(5, 3), match="weight must have one element per class, shape (5,), received (4,)")  # fmt: skip
    check_raises(lambda m, x, t: F(m).nll_loss(x, t, weight=m.ones(5, dtype=m.float64, requires_grad=True)),
                 rand(3, 5), randint(5, 3), match="weight is not differentiable")  # fmt: skip
    check_raises(lambda m, x, t: F(m).nll_loss(x, t), randint(3, 3, 5), randint(5, 3),
                 match="expected a floating-point input")  # fmt: skip


# ---------------------------------------------------------------- regression losses
@pytest.mark.parametrize("fn", ["mse_loss", "l1_loss", "smooth_l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(), (3, 4), (0,)])
def test_regression_losses(fn, reduction, shape):
    if shape == (0,) and reduction == "mean":
        check(
            lambda m, x, t: getattr(F(m), fn)(x, t, reduction=reduction),
            rand(*shape),
            rand(*shape),
            grad=False,
        )
        return
    check(
        lambda m, x, t: getattr(F(m), fn)(x, t, reduction=reduction),
        rand(*shape),
        rand(*shape),
        gradgrad=True,
    )
    check(lambda m, x, t: getattr(F(m), fn)(x, t, reduction=reduction),
          rand(*shape, dtype=np.float32), rand(*shape, dtype=np.float32))  # fmt: skip


@pytest.mark.parametrize("fn", ["mse_loss", "l1_loss", "smooth_l1_loss"])
def test_regression_losses_broadcast_warns(fn):
    with pytest.warns(UserWarning):
        check(lambda m, x, t: getattr(F(m), fn)(x, t), rand(3, 4), rand(4), gradgrad=True)


@pytest.mark.parametrize("fn", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_weighted(fn, reduction):
    check(lambda m, x, t, w: getattr(F(m), fn)(x, t, reduction=reduction, weight=w),
          rand(3, 4), rand(3, 4), positive(3, 4), gradgrad=True)  # fmt: skip


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0, 2.5])
def test_smooth_l1_beta(beta):
    x, t = rand(4, 5, low=-2, high=2), rand(4, 5, low=-2, high=2)
    check(lambda m, x, t: F(m).smooth_l1_loss(x, t, beta=beta), x, t, gradgrad=True)


def test_regression_loss_errors():
    check_raises(lambda m, x, t: F(m).mse_loss(x, t, reduction="avg"), rand(3), rand(3),
                 match="mse_loss: reduction must be one of 'none', 'mean', 'sum', received 'avg'")  # fmt: skip
    check_raises(lambda m, x, t: F(m).l1_loss(x, t, reduction="batchmean"), rand(3), rand(3),
                 match="l1_loss: reduction must be")  # fmt: skip
    check_raises(lambda m, x, t: F(m).smooth_l1_loss(x, t, reduction=None), rand(3), rand(3),
                 match="smooth_l1_loss: reduction must be")  # fmt: skip
    check_raises(lambda m, x, t: F(m).smooth_l1_loss(x, t, beta=-1.0), rand(3), rand(3),
                 match="beta must be non-negative, received -1.0")  # fmt: skip
    check_raises(lambda m, x, t, w: F(m).mse_loss(x, t, weight=w), rand(2, 3), rand(2, 3), rand(3),
                 match="weight must have the input's shape (2, 3), received (3,)")  # fmt: skip


# ---------------------------------------------------------------- binary cross-entropy
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(), (3, 4), (0, 2)])
def test_binary_cross_entropy(shape, reduction):
    x, t = rand(*shape, low=0.05, high=0.95), rand(*shape, low=0.0, high=1.0)
    grad = not (0 in shape and reduction == "mean")
    check(lambda m, x, t: F(m).binary_cross_entropy(x, t, reduction=reduction), x, t,
          grad=grad, gradgrad=grad)  # fmt: skip


@pytest.mark.parametrize("wshape", [(3, 4), (4,)])
def test_binary_cross_entropy_weighted_and_float32(wshape):
    w = positive(*wshape)
    x, t = rand(3, 4, low=0.05, high=0.95), rand(3, 4, low=0.0, high=1.0)
    check(lambda m, x, t: F(m).binary_cross_entropy(x, t, weight=m.tensor(w)), x, t, gradgrad=True)
    check(lambda m, x, t: F(m).binary_cross_entropy(x, t, weight=m.tensor(w.astype(np.float32))),
          x.astype(np.float32), t.astype(np.float32))  # fmt: skip


def test_binary_cross_entropy_clamps_log():
    x, t = np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.0, 1.0, 0.3])
    check(lambda m, x, t: F(m).binary_cross_entropy(x, t, reduction="none"), x, t, grad=False)
    y = F(ember).binary_cross_entropy(ember.tensor(x), ember.tensor(t), reduction="none")
    assert y.tolist()[:2] == [100.0, 100.0]


def test_binary_cross_entropy_errors():
    bce = lambda m, x, t: F(m).binary_cross_entropy(x, t)
    check_raises(
        bce, np.array([0.5, 1.5]), np.array([0.5, 0.5]), match="must be probabilities in [0, 1]"
    )
    check_raises(bce, rand(2, 3, low=0, high=1), rand(3, low=0, high=1),
                 match="target of shape (3,) must have the input's shape (2, 3)")  # fmt: skip
    check_raises(lambda m, x, t: F(m).binary_cross_entropy(x, t, weight=m.ones(2, dtype=m.float64)),
                 rand(2, 3, low=0, high=1), rand(2, 3, low=0, high=1),
                 match="weight of shape (2,) does not broadcast")  # fmt: skip
    check_raises(lambda m, x, t: F(m).binary_cross_entropy(x, t, reduction="avg"), rand(3, low=0, high=1),
                 rand(3, low=0, high=1), match="binary_cross_entropy: reduction must be")  # fmt: skip


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(), (3, 4), (0, 4)])
def test_bce_with_logits(shape, reduction):
    x, t = rand(*shape, low=-4, high=4), rand(*shape, low=0.0, high=1.0)
    grad = not (0 in shape and reduction == "mean")
    check(lambda m, x, t: F(m).binary_cross_entropy_with_logits(x, t, reduction=reduction), x, t,
          grad=grad, gradgrad=grad)  # fmt: skip


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_weights(reduction):
    w, pw = positive(3, 4), positive(4)

    def f(m, x, t):
        return F(m).binary_cross_entropy_with_logits(
            x, t, weight=m.tensor(w), pos_weight=m.tensor(pw), reduction=reduction
        )

    check(f, rand(3, 4, low=-4, high=4), rand(3, 4, low=0, high=1), gradgrad=True)
    check(lambda m, x, t: F(m).binary_cross_entropy_with_logits(x, t, pos_weight=m.tensor(pw)),
          rand(3, 4, low=-4, high=4), rand(3, 4, low=0, high=1), gradgrad=True)  # fmt: skip


def test_bce_with_logits_stable_and_float32():
    x = np.array([-200.0, -30.0, -1.0, 0.0, 1.0, 30.0, 200.0])
    t = np.array([1.0, 0.0, 0.5, 1.0, 0.0, 1.0, 0.0])
    check(lambda m, x, t: F(m).binary_cross_entropy_with_logits(x, t, reduction="none"), x, t, gradgrad=True,
          gradcheck=False)  # fmt: skip
    check(lambda m, x, t: F(m).binary_cross_entropy_with_logits(x, t, reduction="none"),
          x.astype(np.float32), t.astype(np.float32))  # fmt: skip


def test_bce_with_logits_errors():
    f = lambda m, x, t: F(m).binary_cross_entropy_with_logits(x, t)
    check_raises(
        f, rand(2, 3), rand(3), match="target of shape (3,) must have the input's shape (2, 3)"
    )
    check_raises(lambda m, x, t: F(m).binary_cross_entropy_with_logits(
        x, t, pos_weight=m.ones(3, dtype=m.float64, requires_grad=True)), rand(2, 3), rand(2, 3),
        match="pos_weight is not differentiable")  # fmt: skip


# ---------------------------------------------------------------- kl_div
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("shape", [(3, 4), (), (2, 3, 2)])
def test_kl_div(reduction, log_target, shape):
    x = rand(*shape, low=-3, high=0)
    t = rand(*shape, low=-3, high=0) if log_target else positive(*shape, low=0.05, high=1.0)

    def f(m, x, t):
        return F(m).kl_div(x, t, reduction=reduction, log_target=log_target)

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        check(f, x, t, gradgrad=True)
    if reduction == "mean":  # both warn that 'mean' is not the KL divergence
        assert any("batchmean" in str(w.message) for w in seen)


def test_kl_div_zero_target_and_float32():
    x, t = rand(2, 3, low=-3, high=0), np.array([[0.0, 0.5, 0.5], [0.2, 0.0, 0.8]])
    check(lambda m, x, t: F(m).kl_div(x, t, reduction="batchmean"), x, t, grad=False)
    check(lambda m, x, t: F(m).kl_div(x, t, reduction="batchmean"), x.astype(np.float32),
          positive(2, 3, dtype=np.float32))  # fmt: skip


def test_kl_div_errors():
    check_raises(lambda m, x, t: F(m).kl_div(x, t, reduction="avg"), rand(3), positive(3),
                 match="kl_div: reduction must be one of 'none', 'mean', 'sum', 'batchmean', received 'avg'")  # fmt: skip


# ---------------------------------------------------------------- dropout
def test_dropout_identity_cases():
    x = ember.randn(4, 5)
    assert F(ember).dropout(x, p=0.0) is x
    assert F(ember).dropout(x, p=0.7, training=False) is x


def test_dropout_statistics_and_scale():
    ember.manual_seed(123)
    p = 0.3
    x = ember.ones(200, 500, dtype=ember.float64)
    y = F(ember).dropout(x, p=p).numpy()
    zeros = (y == 0).mean()
    assert abs(zeros - p) < 0.01, zeros
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p))


def test_dropout_p_one_zeros_everything():
    x = ember.randn(3, 4)
    check(lambda m, x: F(m).dropout(x, p=1.0), rand(3, 4), gradcheck=False)
    assert (F(ember).dropout(x, 1.0).numpy() == 0).all()


def test_dropout_gradient_uses_the_same_mask():
    ember.manual_seed(5)
    x = ember.tensor(rand(50, 40), requires_grad=True)
    y = F(ember).dropout(x, p=0.5)
    g = rand(50, 40)
    y.backward(ember.tensor(g))
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, g * 2.0, 0.0))
    # and the second derivative: the gradient is linear in the incoming gradient
    x.grad = None
    y = F(ember).dropout(x, p=0.5)
    gy = ember.tensor(g, requires_grad=True)
    (gx,) = ember.autograd.grad(y, x, gy, create_graph=True)
    (ggy,) = ember.autograd.grad(gx.sum(), gy)
    np.testing.assert_allclose(ggy.numpy(), np.where(y.detach().numpy() != 0, 2.0, 0.0))


def test_dropout_reproducible_with_manual_seed():
    x = ember.ones(30, 30)
    ember.manual_seed(7)
    a = F(ember).dropout(x, 0.4).numpy()
    ember.manual_seed(7)
    b = F(ember).dropout(x, 0.4).numpy()
    c = F(ember).dropout(x, 0.4).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_dropout_inplace():
    ember.manual_seed(3)
    x = ember.ones(10, 10)
    y = F(ember).dropout(x, 0.5, inplace=True)
    assert y is x and x._version == 1
    assert set(np.unique(x.numpy()).tolist()) <= {0.0, 2.0}
    leaf = ember.ones(3, requires_grad=True)
    h = leaf * 1
    F(ember).dropout(h, 0.5, inplace=True).sum().backward()
    assert set(np.unique(leaf.grad.numpy()).tolist()) <= {0.0, 2.0}


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_errors(p):
    check_raises(lambda m, x: F(m).dropout(x, p), rand(3),
                 match=f"dropout: p must be a probability in [0, 1], received {p}")  # fmt: skip
    with pytest.raises(ValueError):
        F(ember).dropout(ember.ones(3), p)


# ---------------------------------------------------------------- embedding and one_hot
@pytest.mark.parametrize("ishape", [(5,), (2, 3), (), (0,)])
def test_embedding(ishape):
    idx = randint(4, *ishape)
    check(lambda m, i, w: F(m).embedding(i, w), idx, rand(4, 3), gradgrad=True)


def test_embedding_repeated_indices_accumulate_and_float32():
    idx = np.array([[1, 1, 2], [1, 0, 2]])
    check(lambda m, i, w: F(m).embedding(i, w), idx, rand(4, 3), gradgrad=True)
    check(lambda m, i, w: F(m).embedding(i, w), idx.astype(np.int32), rand(4, 3, dtype=np.float32))


@pytest.mark.parametrize("padding_idx", [0, 2, -1])
def test_embedding_padding_idx(padding_idx):
    idx = np.array([[0, 2, 3], [2, 2, 1]])
    # the padding row gets no gradient though the output reads it: no finite-difference check
    check(lambda m, i, w: F(m).embedding(i, w, padding_idx=padding_idx), idx, rand(4, 3),
          gradcheck=False, gradgrad=True)  # fmt: skip


def test_embedding_scale_grad_by_freq():
    idx = np.array([[0, 2, 2], [2, 1, 1]])
    # the scaled gradient is not the derivative: no finite-difference check
    check(lambda m, i, w: F(m).embedding(i, w, scale_grad_by_freq=True), idx, rand(4, 3),
          gradcheck=False, gradgrad=True)  # fmt: skip
    check(lambda m, i, w: F(m).embedding(i, w, padding_idx=1, scale_grad_by_freq=True), idx, rand(4, 3),
          gradcheck=False, gradgrad=True)  # fmt: skip


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_renormalises_in_place(norm_type):
    w0 = rand(5, 3, low=-2, high=2)
    idx = np.array([0, 2, 2, 4])
    outs = {}
    for m in (ember, torch):
        w = m.tensor(w0.copy())
        y = F(m).embedding(m.tensor(idx), w, max_norm=1.0, norm_type=norm_type)
        outs[m.__name__] = (y.numpy(), w.numpy())
    np.testing.assert_allclose(outs["ember"][0], outs["torch"][0], rtol=1e-7)
    np.testing.assert_allclose(outs["ember"][1], outs["torch"][1], rtol=1e-7)
    assert not np.allclose(outs["ember"][1], w0)  # some rows were rescaled


def test_embedding_sparse_is_not_supported():
    with pytest.raises(NotImplementedError, match="embedding: sparse gradients are not supported"):
        F(ember).embedding(ember.tensor([0, 1]), ember.randn(3, 2), sparse=True)


def test_embedding_errors():
    emb = lambda m, i, w: F(m).embedding(i, w)
    check_raises(
        emb, np.array([1, 4]), rand(4, 3), match="index 4 is out of range for a weight with 4 rows"
    )
    check_raises(emb, np.array([1, -1]), rand(4, 3), match="index -1 is out of range")
    check_raises(
        emb,
        np.array([1.0, 2.0]),
        rand(4, 3),
        match="expected int64 or int32 indices, received float64",
    )
    check_raises(
        emb,
        np.array([1, 2]),
        rand(4),
        match="expected weight of shape (num_embeddings, embedding_dim)",
    )
    check_raises(lambda m, i, w: F(m).embedding(i, w, padding_idx=4), np.array([1]), rand(4, 3),
                 match="padding_idx must be within [-4, 3]")  # fmt: skip


@pytest.mark.parametrize("shape,n", [((5,), -1), ((2, 3), 6), ((), 3), ((0,), 4)])
def test_one_hot(shape, n):
    x = randint(3, *shape)
    check(lambda m, x: F(m).one_hot(x, n), x)


def test_one_hot_errors():
    check_raises(
        lambda m, x: F(m).one_hot(x, -2),
        np.array([1, 0]),
        match="num_classes must be -1 or non-negative",
    )
    check_raises(
        lambda m, x: F(m).one_hot(x),
        np.array([1, -1]),
        match="class values must be non-negative, received -1",
    )
    check_raises(
        lambda m, x: F(m).one_hot(x, 3),
        np.array([1, 3]),
        match="class value 3 is out of range for num_classes=3",
    )
    check_raises(
        lambda m, x: F(m).one_hot(x),
        np.array([], dtype=np.int64),
        match="cannot infer the number of classes",
    )
    check_raises(
        lambda m, x: F(m).one_hot(x),
        np.array([1, 2], dtype=np.int32),
        match="expected an int64 tensor",
    )


# ---------------------------------------------------------------- normalisation
RM, RV = rand(3), positive(3)


def _bn(training, affine, momentum=0.1):
    def f(m, x, *wb):
        rm, rv = m.tensor(RM).to(x.dtype), m.tensor(RV).to(x.dtype)
        w, b = wb if affine else (None, None)
        y = F(m).batch_norm(x, rm, rv, w, b, training=training, momentum=momentum)
        return y, rm, rv  # the running statistics after the call are compared too

    return f


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4), (2, 3, 2, 2)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm(shape, training, affine):
    wb = [positive(3), rand(3)] if affine else []
    check(_bn(training, affine), rand(*shape), *wb, gradgrad=True)


def test_batch_norm_float32_and_momentum():
    f32 = {"dtype": np.float32}
    check(_bn(True, True, momentum=0.3), rand(5, 3, 2, **f32), positive(3, **f32), rand(3, **f32))
    check(_bn(False, True), rand(5, 3, **f32), positive(3, **f32), rand(3, **f32))


def test_benchmark_resnet_takes_the_fast_paths(kernel_path, monkeypatch):
    # the benchmark's ResNet-18 (workload e; 4 channels wide, 8x8 images), one training step.
    # The benchmark's 3x3 layers are 64-512 channels wide with 32 x 4 x 4 outputs or more,
    # all above Winograd's thresholds: lowered here so that these small ones take it too.
    from bench.workloads import resnet18
    from ember.kernels import gemm, winograd

    assert winograd.MIN_CHANNELS <= 64 and winograd.MIN_POSITIONS <= 32 * 4 * 4
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 4)
    monkeypatch.setattr(winograd, "MIN_POSITIONS", 1)

    ember.manual_seed(0)
    model = resnet18(ember, 10, width=4)
    opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, target = ember.randn(2, 3, 8, 8), ember.tensor([1, 7])
    before = ember.kernels.taken.copy()
    opt.zero_grad()
    F(ember).cross_entropy(model(x), target).backward()
    opt.step()
    ran = ember.kernels.taken - before
    # 20 batch norms (17 after the 3x3 convolutions, 3 in the downsampling paths), 20
    # convolutions, of which 10 are 3x3 stride 1 with 4+ channels and an output of 2x2 or more
    # (layer1's 4, layer2's 3, layer3's 3); the other 10 in the fused direct loop (AVX-512),
    # and the stem's weight gradient (8x8 outputs; the downsampling ones have 4x4 or fewer)
    fast = {"batch_norm": 20, "conv2d": 20, "conv2d_grad_weight": 20, "conv2d_grad_input": 19,
            "conv2d_winograd": 10, "conv2d_winograd_backward": 10, "conv2d_direct": 10,
            "conv2d_direct_grad_weight": 1, "relu": 17, "global_avg_pool": 1, "linear": 1,
            "cross_entropy": 1}  # fmt: skip
    if kernel_path == "fast":
        if not gemm.AVAILABLE:
            fast.pop("conv2d_direct")
            fast.pop("conv2d_direct_grad_weight")
        assert {k: ran[k] for k in fast} == fast
    else:
        assert not set(ran) & set(fast)


def test_batch_norm_empty_batch():
    check(_bn(False, True), rand(0, 3), positive(3), rand(3))
    check(_bn(True, True), rand(0, 3), positive(3), rand(3), gradcheck=False)


def test_batch_norm_without_running_stats():
    check(lambda m, x: F(m).batch_norm(x, None, None, training=True), rand(4, 3, 2), gradgrad=True)


def test_batch_norm_updates_running_stats_in_place():
    rm, rv = ember.zeros(3), ember.ones(3)
    x = ember.tensor(rand(6, 3, 2, dtype=np.float32))
    F(ember).batch_norm(x, rm, rv, training=True, momentum=0.5)
    trm, trv = torch.zeros(3), torch.ones(3)
    torch.nn.functional.batch_norm(torch.tensor(x.numpy()), trm, trv, training=True, momentum=0.5)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-5, atol=1e-6)
    assert rm._version == 1 and rv._version == 1


def test_batch_norm_errors():
    bn = lambda m, x: F(m).batch_norm(
        x, m.zeros(3, dtype=m.float64), m.ones(3, dtype=m.float64), training=True
    )
    check_raises(bn, rand(1, 3), match="expected more than 1 value per channel when training")
    check_raises(lambda m, x: F(m).batch_norm(x, m.zeros(4, dtype=m.float64), m.ones(3, dtype=m.float64)),
                 rand(2, 3), match="expected running_mean of shape (3,), received (4,)")  # fmt: skip
    check_raises(lambda m, x: F(m).batch_norm(x, None, None), rand(2, 3),
                 match="running_mean and running_var are needed when training=False")  # fmt: skip
    check_raises(lambda m, x: F(m).batch_norm(x, None, None, m.ones(4, dtype=m.float64), training=True),
                 rand(2, 3), match="expected weight of shape (3,)")  # fmt: skip


@pytest.mark.parametrize(
    "shape,ns",
    [((2, 3), (3,)), ((2, 3, 4), (3, 4)), ((2, 3, 4), [4]), ((0, 4), (4,)), ((5,), (5,))],
)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(shape, ns, affine):
    wshape = tuple(ns)
    wb = [positive(*wshape), rand(*wshape)] if affine else []
    check(lambda m, x, *wb: F(m).layer_norm(x, ns, *wb), rand(*shape), *wb, gradgrad=True)


def test_layer_norm_float32_weight_only_and_eps():
    f32 = {"dtype": np.float32}
    check(
        lambda m, x, w: F(m).layer_norm(x, (6,), w, eps=1e-3), rand(4, 6, **f32), positive(6, **f32)
    )


def test_layer_norm_errors():
    check_raises(lambda m, x: F(m).layer_norm(x, (4,)), rand(2, 3),
                 match="layer_norm: normalized_shape=(4,) needs an input of shape (*, 4), received (2, 3)")  # fmt: skip
    check_raises(lambda m, x, w: F(m).layer_norm(x, (3,), w), rand(2, 3), rand(4),
                 match="expected weight of shape (3,), received (4,)")  # fmt: skip


@pytest.mark.parametrize(
    "shape,groups",
    [((2, 4, 3), 2), ((2, 6), 3), ((2, 4, 2, 2), 4), ((2, 4, 2, 2), 1), ((0, 4, 2), 2)],
)
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm(shape, groups, affine):
    c = shape[1]
    wb = [positive(c), rand(c)] if affine else []
    check(lambda m, x, *wb: F(m).group_norm(x, groups, *wb), rand(*shape), *wb, gradgrad=True)


def test_group_norm_float32():
    f32 = {"dtype": np.float32}
    check(
        lambda m, x, w, b: F(m).group_norm(x, 2, w, b),
        rand(3, 4, 5, **f32),
        positive(4, **f32),
        rand(4, **f32),
    )


def test_group_norm_errors():
    check_raises(lambda m, x: F(m).group_norm(x, 4), rand(2, 6, 4),
                 match="the number of channels (6, dim 1 of input of shape (2, 6, 4)) must be divisible by num_groups")  # fmt: skip
    check_raises(
        lambda m, x: F(m).group_norm(x, 3), rand(6), match="expected an input of shape (N, C, *)"
    )
    check_raises(lambda m, x, w: F(m).group_norm(x, 2, w), rand(2, 4), rand(3),
                 match="expected weight of shape (4,), received (3,)")  # fmt: skip


# ---------------------------------------------------------------- attention
def _sdpa(**kw):
    return lambda m, q, k, v, *mask: F(m).scaled_dot_product_attention(q, k, v, *(mask or ()), **kw)


@pytest.mark.parametrize(
    "qs,ks,vs",
    [((2, 3, 4), (2, 5, 4), (2, 5, 6)), ((1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 2)), ((3, 4), (5, 4), (5, 2)),
     ((2, 3, 4), (1, 5, 4), (1, 5, 2)), ((0, 3, 4), (0, 5, 4), (0, 5, 2)), ((2, 3, 4), (2, 0, 4), (2, 0, 2))],
)  # fmt: skip
def test_sdpa(qs, ks, vs):
    check(_sdpa(), rand(*qs), rand(*ks), rand(*vs), gradgrad=True)


def test_sdpa_float32_and_scale():
    f32 = {"dtype": np.float32}
    check(_sdpa(), rand(2, 2, 3, 4, **f32), rand(2, 2, 5, 4, **f32), rand(2, 2, 5, 3, **f32))
    check(_sdpa(scale=0.3), rand(2, 3, 4), rand(2, 5, 4), rand(2, 5, 3), gradgrad=True)


@pytest.mark.parametrize("L,S", [(4, 4), (3, 5), (5, 3)])
def test_sdpa_causal(L, S):
    check(_sdpa(is_causal=True), rand(2, L, 4), rand(2, S, 4), rand(2, S, 3), gradgrad=True)


@pytest.mark.parametrize("mshape", [(3, 5), (2, 3, 5), (1, 5)])
def test_sdpa_bool_mask(mshape):
    mask = rand(*mshape) > -0.3
    mask[..., 0] = True  # every query keeps at least one key
    check(_sdpa(), rand(2, 3, 4), rand(2, 5, 4), rand(2, 5, 3), mask, gradgrad=True)


@pytest.mark.parametrize("mshape", [(3, 5), (2, 1, 3, 5)])
def test_sdpa_float_mask(mshape):
    # the additive mask is differentiable too
    check(
        _sdpa(), rand(2, 2, 3, 4), rand(2, 2, 5, 4), rand(2, 2, 5, 3), rand(*mshape), gradgrad=True
    )


def test_sdpa_grouped_query_heads():
    check(
        _sdpa(enable_gqa=True), rand(1, 4, 3, 4), rand(1, 2, 5, 4), rand(1, 2, 5, 2), gradgrad=True
    )


def test_sdpa_errors():
    q, k, v = rand(2, 3, 4), rand(2, 5, 4), rand(2, 5, 6)
    check_raises(lambda m, q, k, v, a: F(m).scaled_dot_product_attention(q, k, v, a, is_causal=True), q, k, v,
                 rand(3, 5), match="attn_mask must be None when is_causal=True")  # fmt: skip
    check_raises(
        _sdpa(),
        q,
        rand(2, 5, 3),
        v,
        match="key of shape (2, 5, 3) must have the query's last size 4",
    )
    check_raises(
        _sdpa(), q, k, rand(2, 4, 6), match="value of shape (2, 4, 6) must have as many positions"
    )
    check_raises(
        _sdpa(),
        q,
        k.astype(np.float32),
        v,
        match="same dtype, received float64, float32 and float64",
    )
    check_raises(
        _sdpa(), q, k, v, rand(4, 5) > 0, match="attn_mask of shape (4, 5) does not broadcast"
    )
    check_raises(_sdpa(), rand(4), rand(4), rand(4), match="expected query with at least 2 dims")
    check_raises(_sdpa(enable_gqa=True), rand(1, 4, 3, 4), rand(1, 3, 5, 4), rand(1, 3, 5, 2),
                 match="number of heads of key and value (3) must divide that of query (4)")  # fmt: skip


def test_sdpa_query_with_no_allowed_key_gives_zeros_as_torch():
    import numpy as np

    m = np.ones((3, 5), bool)
    m[1] = False
    check(
        lambda lib, q, k, v, mask: lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        rand(1, 2, 3, 4), rand(1, 2, 5, 4), rand(1, 2, 5, 4), m,
    )  # fmt: skip
