"""Reductions against PyTorch: values, dtypes, shapes, gradients (gradcheck in float64),
second order where PyTorch defines it, ties, zeros, empty tensors and the user errors."""

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ember
from ember.errors import EmberIndexError
from tests.oracle import check, check_raises, rand, randint

SHAPES = [(), (0,), (3,), (2, 3, 4)]
NONEMPTY = [(), (3,), (2, 3, 4)]
INF = math.inf
dof_warning = pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")


def dims_of(shape, tuples=True):
    """dim=None, an int, a negative int and (for 2+ dims) tuples valid for ``shape``."""
    out = [None, 0, -1]
    if len(shape) >= 2:
        out.append(1)
    if tuples and len(shape) == 1:
        out.append((0,))
    if tuples and len(shape) >= 2:
        out += [(0, 2), (-1, 0)]
    return out


def cases(shapes=SHAPES, tuples=True, none=True):
    return [
        pytest.param(s, d, k, id=f"{s}-dim={d}-keepdim={k}")
        for s in shapes
        for d in dims_of(s, tuples)
        if none or d is not None
        for k in (False, True)
    ]


# ---------------------------------------------------------------- sum, mean
@pytest.mark.parametrize("shape,dim,keepdim", cases())
def test_sum(shape, dim, keepdim):
    check(lambda m, x: x.sum(dim=dim, keepdim=keepdim), rand(*shape), gradgrad=True)


@pytest.mark.parametrize("shape,dim,keepdim", cases())
def test_mean(shape, dim, keepdim):
    check(lambda m, x: m.mean(x, dim=dim, keepdim=keepdim), rand(*shape), gradgrad=True)


def test_sum_mean_empty_dim_tuple_means_all():
    check(lambda m, x: x.sum(dim=()), rand(2, 3), gradgrad=True)
    check(lambda m, x: x.mean(dim=[]), rand(2, 3), gradgrad=True)


def test_sum_mean_of_nothing():
    check(lambda m, x: x.sum(), rand(0, 3))
    check(lambda m, x: x.mean(), rand(0, 3))  # nan
    check(lambda m, x: x.mean(dim=0), rand(0, 3))  # nan per column
    check(lambda m, x: x.mean(dim=1), rand(0, 3))  # an empty result


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_sum_mean_lower_precision(dtype):
    check(lambda m, x: x.sum(dim=1), rand(2, 3, 4, dtype=dtype))
    check(lambda m, x: x.mean(dim=(0, 2), keepdim=True), rand(2, 3, 4, dtype=dtype))
    check(lambda m, x: x.sum(), rand(50, dtype=dtype))


@pytest.mark.parametrize("np_dtype", [np.int32, np.int64, np.uint8, np.int8, np.bool_])
def test_sum_integers_give_int64(np_dtype):
    x = randint(2 if np_dtype is np.bool_ else 5, 2, 3, dtype=np_dtype)
    check(lambda m, x: x.sum(), x)
    check(lambda m, x: x.sum(dim=1, keepdim=True), x)
    check(lambda m, x: m.sum(x, 0), x)


def test_sum_dtype_argument():
    check(lambda m, x: x.sum(dtype=m.int32), randint(5, 2, 3, dtype=np.int8))
    check(lambda m, x: x.sum(dim=1, dtype=m.float64), rand(2, 3, dtype=np.float32))
    check(lambda m, x: x.sum(dtype=m.float32), randint(5, 4))


def test_mean_dtype_argument():
    check(lambda m, x: x.mean(dtype=m.float64), randint(5, 2, 3))
    check(lambda m, x: x.mean(dim=0, dtype=m.float64), rand(2, 3, dtype=np.float32))


# ---------------------------------------------------------------- prod
@pytest.mark.parametrize("shape,dim,keepdim", cases(tuples=False))
def test_prod(shape, dim, keepdim):
    if dim is None:
        check(lambda m, x: x.prod(), rand(*shape, low=0.5, high=1.5), gradgrad=True)
    else:
        fn = lambda m, x: m.prod(x, dim, keepdim=keepdim)
        check(fn, rand(*shape, low=0.5, high=1.5), gradgrad=True)


def test_prod_gradient_with_one_zero():
    x = rand(5)
    x[2] = 0.0
    check(lambda m, x: x.prod(), x, gradgrad=True)


@pytest.mark.parametrize("zeros", [2, 3])
def test_prod_gradient_with_several_zeros(zeros):
    x = rand(5)
    x[1 : 1 + zeros] = 0.0
    check(lambda m, x: x.prod(), x, gradgrad=True)


def test_prod_gradient_rows_with_zero_one_two_and_three_zeros():
    x = rand(4, 5)
    x[1, 3] = 0.0
    x[2, [0, 4]] = 0.0
    x[3, [0, 1, 2]] = 0.0
    for dim in (1, -1):
        for keepdim in (False, True):
            check(lambda m, x, d=dim, k=keepdim: x.prod(d, keepdim=k), x, gradgrad=True)
    check(lambda m, x: x.prod(0), x, gradgrad=True)  # zeros in different columns
    check(lambda m, x: x.prod(dim=1), x.astype(np.float32))


def test_prod_of_a_zero_scalar_and_of_nothing():
    check(lambda m, x: x.prod(), np.zeros(()), gradgrad=True)
    check(lambda m, x: x.prod(), rand(0))  # 1
    check(lambda m, x: x.prod(0), rand(0, 3))  # ones


def test_prod_third_derivative_at_zeros_is_refused():
    x = ember.tensor([0.0, 2.0, 3.0], dtype=ember.float64, requires_grad=True)
    (g,) = ember.autograd.grad(x.prod(), [x], create_graph=True)
    (gg,) = ember.autograd.grad(g.sum(), [x], create_graph=True)
    with pytest.raises(RuntimeError, match="prod: the third derivative"):
        ember.autograd.grad(gg.sum(), [x])


def test_prod_integer_dtypes():
    check(lambda m, x: x.prod(), randint(4, 5, low=1, dtype=np.int32))
    check(lambda m, x: x.prod(1), randint(2, 2, 3, dtype=np.bool_))
    check(lambda m, x: x.prod(dtype=m.int32), randint(4, 3, low=1, dtype=np.int8))
    check(lambda m, x: x.prod(0, dtype=m.float64), rand(3, 2, dtype=np.float32))


# ---------------------------------------------------------------- max, min
@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("shape", NONEMPTY)
def test_max_min_all(op, shape):
    check(lambda m, x: getattr(x, op)(), rand(*shape), gradgrad=True)
    check(lambda m, x: getattr(m, op)(x), rand(*shape))


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("shape,dim,keepdim", cases(NONEMPTY, tuples=False, none=False))
def test_max_min_dim(op, shape, dim, keepdim):
    check(lambda m, x: getattr(m, op)(x, dim, keepdim), rand(*shape), gradgrad=True)
    check(lambda m, x: getattr(x, op)(dim=dim, keepdim=keepdim).values, rand(*shape))
    check(lambda m, x: getattr(x, op)(dim=dim, keepdim=keepdim).indices, rand(*shape))


def test_max_dim_returns_a_named_tuple():
    x = ember.tensor([[1.0, 5.0], [7.0, 2.0]])
    r = x.max(dim=1)
    assert isinstance(r, tuple) and r._fields == ("values", "indices")
    values, indices = r
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert x.min(1).indices.tolist() == [0, 1]


def test_max_min_dim_with_an_empty_non_reduced_dim():
    check(lambda m, x: x.max(1), rand(0, 3))
    check(lambda m, x: x.min(dim=-1, keepdim=True), rand(0, 3))


def test_max_min_integers():
    check(lambda m, x: x.max(), randint(9, 3, 4, dtype=np.int32))
    check(lambda m, x: x.min(dim=0), randint(9, 3, 4, dtype=np.int32))
    check(lambda m, x: x.max(1, True), randint(9, 3, 4))


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_full_gradient_is_shared_among_ties(op):
    x = np.array([[1.0, 3.0, 3.0], [-2.0, 3.0, -2.0]])  # 3 ties for max, 2 for min
    check(lambda m, x: getattr(x, op)(), x, gradcheck=False)


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_dim_ties_pick_the_first_index_and_its_gradient(op):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 1.0], [-2.0, 4.0, -2.0]])
    for dim in (0, 1):
        check(lambda m, x, d=dim: getattr(x, op)(d), x, gradcheck=False)


def test_max_dim_with_nan_picks_the_nan():
    x = np.array([[1.0, np.nan, 3.0], [2.0, 1.0, np.nan]])
    check(lambda m, x: x.max(1), x, grad=False)
    check(lambda m, x: x.min(0), x, grad=False)
    check(lambda m, x: x.amax(1), x, grad=False)


def test_max_min_with_a_tensor_is_elementwise():
    check(lambda m, x, y: m.max(x, y), rand(2, 3), rand(3))
    check(lambda m, x, y: x.min(y), rand(2, 3), rand(2, 3))
    check(lambda m, x, y: m.max(x, other=y), rand(3), rand(2, 3))
    check(lambda m, x, y: m.min(x, y), randint(5, 3, dtype=np.int32), rand(3))


# ---------------------------------------------------------------- amax, amin
@pytest.mark.parametrize("op", ["amax", "amin"])
@pytest.mark.parametrize("shape,dim,keepdim", cases(NONEMPTY))
def test_amax_amin(op, shape, dim, keepdim):
    check(lambda m, x: getattr(x, op)(dim, keepdim), rand(*shape), gradgrad=True)


@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_amin_default_and_empty_tuple_reduce_all(op):
    check(lambda m, x: getattr(m, op)(x), rand(2, 3), gradgrad=True)
    check(lambda m, x: getattr(x, op)(dim=(), keepdim=True), rand(2, 3))


@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_amin_gradient_is_shared_among_ties(op):
    x = np.array([[1.0, 3.0, 3.0, 1.0], [3.0, 3.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    for dim in (None, 0, 1, (0, 1)):
        check(lambda m, x, d=dim: getattr(x, op)(d), x, gradcheck=False)


def test_amax_amin_float32_integers_and_empty_results():
    check(lambda m, x: x.amax((0, 2)), rand(2, 3, 4, dtype=np.float32))
    check(lambda m, x: x.amin(-1, True), rand(2, 3, 4, dtype=np.float32))
    check(lambda m, x: x.amax(), randint(9, 3, 4, dtype=np.int16))
    check(lambda m, x: x.amin(1), rand(0, 3))


# ---------------------------------------------------------------- argmax, argmin
@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("shape,dim,keepdim", cases(NONEMPTY, tuples=False))
def test_argmax_argmin(op, shape, dim, keepdim):
    check(lambda m, x: getattr(m, op)(x, dim=dim, keepdim=keepdim), rand(*shape))
    check(lambda m, x: getattr(x, op)(dim, keepdim), randint(5, *shape, dtype=np.int32))


def test_argmax_argmin_ties_and_empty_results():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 1.0]])
    for dim in (None, 0, 1):
        check(lambda m, x, d=dim: x.argmax(d), x)
        check(lambda m, x, d=dim: x.argmin(d), x)
    check(lambda m, x: x.argmax(1), rand(0, 3))
    check(lambda m, x: x.argmin(dim=1, keepdim=True), rand(0, 3, dtype=np.float32))


# ---------------------------------------------------------------- var, std
@dof_warning
@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("shape,dim,keepdim", cases())
def test_var_std(op, shape, dim, keepdim):
    check(lambda m, x: getattr(x, op)(dim=dim, keepdim=keepdim), rand(*shape), gradgrad=True)


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("correction", [0, 2, 0.5])
def test_var_std_correction(op, correction):
    check(lambda m, x: getattr(m, op)(x, 1, correction=correction), rand(2, 4, 3), gradgrad=True)
    check(lambda m, x: getattr(x, op)(correction=correction), rand(6, dtype=np.float32))


@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_unbiased_forms(op):
    check(lambda m, x: getattr(x, op)(unbiased=False), rand(2, 3), gradgrad=True)
    check(lambda m, x: getattr(x, op)(False), rand(2, 3))
    check(lambda m, x: getattr(x, op)(True), rand(2, 3))
    check(lambda m, x: getattr(x, op)(0, False), rand(2, 3))
    check(lambda m, x: getattr(x, op)(1, True, True), rand(2, 3))
    check(lambda m, x: getattr(m, op)(x, (0, 1), unbiased=True, keepdim=True), rand(2, 3))


def test_std_of_constant_has_zero_gradient():
    check(lambda m, x: x.std(), np.full(4, 1.5), gradcheck=False)
    check(lambda m, x: x.std(dim=1), np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]]), gradcheck=False)


def test_var_std_empty_dim_tuple_reduces_all():
    # Values only: PyTorch's backward for dim=() is inconsistent with its forward (it uses
    # a count of 1), ember's gradient is that of dim=None.
    check(lambda m, x: x.var(dim=()), rand(2, 3), grad=False)
    check(lambda m, x: x.std(dim=[], keepdim=True), rand(2, 3), grad=False)
    x = ember.tensor(rand(2, 3), requires_grad=True)
    (g1,) = ember.autograd.grad(x.var(dim=()), [x])
    (g2,) = ember.autograd.grad(x.var(), [x])
    np.testing.assert_array_equal(g1.numpy(), g2.numpy())


def test_var_std_with_no_degrees_of_freedom_warn_and_give_nan_or_inf():
    x = ember.tensor([1.0, 2.0])
    with pytest.warns(UserWarning, match="var: degrees of freedom is <= 0"):
        assert math.isinf(x.var(correction=3).item())
    with pytest.warns(UserWarning, match="std: degrees of freedom is <= 0"):
        assert math.isnan(ember.tensor([1.0]).std().item())


# ---------------------------------------------------------------- logsumexp
@pytest.mark.parametrize("shape,dim,keepdim", cases(none=False))
def test_logsumexp(shape, dim, keepdim):
    check(lambda m, x: m.logsumexp(x, dim, keepdim), rand(*shape), gradgrad=True)


def test_logsumexp_all_dims_float32_and_integers():
    check(lambda m, x: x.logsumexp((0, 1, 2)), rand(2, 3, 4), gradgrad=True)
    check(lambda m, x: x.logsumexp(dim=1), rand(2, 3, 4, dtype=np.float32))
    check(lambda m, x: x.logsumexp(1), randint(9, 2, 3))  # -> float32


def test_logsumexp_is_stable_and_handles_infinities():
    big = np.array([[1000.0, 1000.5, 999.0], [-1000.0, -1001.0, -1000.5]])
    check(lambda m, x: x.logsumexp(1), big, gradgrad=True)
    check(lambda m, x: x.logsumexp(1), big.astype(np.float32))
    inf = np.array([[-INF, -INF], [INF, 1.0], [-INF, 0.0]])
    check(lambda m, x: x.logsumexp(1), inf, gradcheck=False)  # gradients are nan as in torch


def test_logsumexp_of_nothing_is_minus_inf():
    check(lambda m, x: x.logsumexp(0), rand(0, 3))


# ---------------------------------------------------------------- norm
NORM_CASES = [
    pytest.param(p, *c.values, id=f"p={p}-{c.id}")
    for p in [2, "fro", 1, 3, 1.5, 0.5, -1, INF, -INF, 0]
    for c in cases()
    if not (p in (INF, -INF, -1) and 0 in c.values[0])  # an error: test_norm_bad_p
]


@pytest.mark.parametrize("p,shape,dim,keepdim", NORM_CASES)
def test_norm(p, shape, dim, keepdim):
    smooth = p not in (1, INF, -INF, 0)  # PyTorch's gradient there is made of sgn()
    x = rand(*shape)
    x = np.asarray(np.sign(x) * (0.2 + np.abs(x)))  # |x|^p has a kink (a pole, p < 1) at 0
    check(lambda m, x: m.norm(x, p, dim, keepdim), x, gradgrad=smooth)


def test_norm_defaults_float32_and_dtype():
    check(lambda m, x: x.norm(), rand(2, 3), gradgrad=True)
    check(lambda m, x: x.norm(p=None), rand(2, 3))
    check(lambda m, x: x.norm(dim=1), rand(2, 3, 4, dtype=np.float32))
    check(lambda m, x: x.norm(p=INF, dim=(0, 2)), rand(2, 3, 4, dtype=np.float32))
    check(lambda m, x: x.norm(p="fro", dim=(0, 1)), rand(2, 3, dtype=np.float32))
    check(lambda m, x: x.norm(dim=1, dtype=m.float64), rand(2, 3, dtype=np.float32))
    check(lambda m, x: x.norm(p=1, dim=()), rand(2, 3))


def test_norm_gradient_at_zero():
    # Only the first order: PyTorch's second derivative there is nan (0/0 behind its
    # masked_fill), ember's is 0.
    check(lambda m, x: x.norm(), np.zeros(3))
    check(lambda m, x: x.norm(dim=1), np.array([[0.0, 0.0], [3.0, -4.0]]))
    z = np.array([[0.0, 0.0], [0.0, -2.0]])
    for p in (1, 3, 1.5, 0.5, -1):
        check(lambda m, x, p=p: x.norm(p=p, dim=1), z, gradcheck=False)


def test_norm_inf_gradient_is_shared_among_ties():
    x = np.array([[3.0, -3.0, 2.0], [1.0, -1.0, 1.0]])
    check(lambda m, x: x.norm(p=INF, dim=1), x, gradcheck=False)
    check(lambda m, x: x.norm(p=-INF), x, gradcheck=False)


# ---------------------------------------------------------------- cumsum
@pytest.mark.parametrize(
    "shape,dim", [((), 0), ((), -1), ((0,), 0), ((3,), 0), ((3,), -1), ((2, 3, 4), 0),
                  ((2, 3, 4), 1), ((2, 3, 4), -1), ((0, 3), 1)],
)  # fmt: skip
def test_cumsum(shape, dim):
    check(lambda m, x: m.cumsum(x, dim), rand(*shape), gradgrad=True)
    check(lambda m, x: x.cumsum(dim=dim), rand(*shape, dtype=np.float32))


def test_cumsum_in_place():
    check(lambda m, x: (x * 1).cumsum_(1), rand(2, 3), gradgrad=True)
    check(lambda m, x: x.clone().cumsum_(0), randint(5, 4, dtype=np.int32))  # stays int32


def test_cumsum_dtypes():
    check(lambda m, x: x.cumsum(0), randint(5, 4, dtype=np.int32))  # -> int64
    check(lambda m, x: x.cumsum(1), randint(2, 2, 3, dtype=np.bool_))
    check(lambda m, x: x.cumsum(0, dtype=m.float64), rand(4, dtype=np.float32))
    check(lambda m, x: x.cumsum(0, dtype=m.int32), randint(5, 4, dtype=np.int8))


# ---------------------------------------------------------------- all, any
@pytest.mark.parametrize("op", ["all", "any"])
@pytest.mark.parametrize("shape,dim,keepdim", cases())
def test_all_any(op, shape, dim, keepdim):
    x = rand(*shape)
    x[x < -0.5] = 0.0
    check(lambda m, x: getattr(m, op)(x, dim=dim, keepdim=keepdim), x)
    check(lambda m, x: getattr(x, op)(dim, keepdim), randint(2, *shape, dtype=np.bool_))


@pytest.mark.parametrize("op", ["all", "any"])
def test_all_any_dtypes_and_empty_dim_tuple(op):
    check(lambda m, x: getattr(x, op)(), randint(2, 3, 4, dtype=np.int32))
    check(lambda m, x: getattr(x, op)(1), randint(2, 3, 4, dtype=np.uint8))  # stays uint8
    check(lambda m, x: getattr(x, op)(dim=()), randint(2, 3, 4, dtype=np.bool_))  # no reduction
    check(lambda m, x: getattr(x, op)(), np.array([np.nan, 1.0]))
    check(lambda m, x: getattr(x, op)(0), rand(0, 3))


# ---------------------------------------------------------------- all ops, float32
@pytest.mark.parametrize(
    "fn",
    [
        lambda m, x: x.sum(1), lambda m, x: x.mean((0, 2)), lambda m, x: x.prod(2),
        lambda m, x: x.max(), lambda m, x: x.min(1), lambda m, x: x.amax(-1),
        lambda m, x: x.amin((0, 1)), lambda m, x: x.var(1), lambda m, x: x.std(),
        lambda m, x: x.logsumexp(2), lambda m, x: x.norm(dim=0), lambda m, x: x.cumsum(1),
    ],
    ids=["sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std", "logsumexp",
         "norm", "cumsum"],
)  # fmt: skip
def test_float32(fn):
    check(fn, rand(2, 3, 4, dtype=np.float32))


# ---------------------------------------------------------------- random shapes
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_shapes_and_dims(data):
    shape = tuple(data.draw(st.lists(st.integers(0, 3), max_size=4), label="shape"))
    nd = len(shape)
    dims = data.draw(st.lists(st.integers(0, nd - 1), unique=True), label="dims") if nd else []
    dims = tuple(d - nd if data.draw(st.booleans()) else d for d in dims)  # some negative
    dim = data.draw(st.sampled_from([None, dims] + ([dims[0]] if dims else [])), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    x = rand(*shape)
    for op in ("sum", "mean", "amax"):
        ex = ember.tensor(x, requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        targs = (dim,) if dim is not None else ((),) if op == "amax" else ()
        try:
            ty = getattr(tx, op)(*targs, keepdim=keepdim) if targs else getattr(tx, op)()
        except (RuntimeError, IndexError):
            assume(op == "amax")  # amax has no identity: both must refuse
            with pytest.raises((RuntimeError, EmberIndexError)):
                getattr(ex, op)(*targs, keepdim=keepdim)
            continue
        ey = getattr(ex, op)(*targs, keepdim=keepdim) if targs else getattr(ex, op)()
        assert tuple(ey.shape) == tuple(ty.shape), (op, shape, dim, keepdim)
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-7, atol=1e-12)
        up = rand(*ty.shape)
        (eg,) = ember.autograd.grad(ey, [ex], ember.tensor(up))
        (tg,) = torch.autograd.grad(ty, [tx], torch.tensor(up))
        assert tuple(eg.shape) == shape
        np.testing.assert_allclose(eg.numpy(), tg.numpy(), rtol=1e-7, atol=1e-12)


# ---------------------------------------------------------------- errors
def test_dim_out_of_range_names_the_op_and_the_range():
    x = rand(2, 3, 4)
    for op in ("sum", "mean", "amax", "argmax", "max", "var", "logsumexp", "norm", "cumsum", "all"):
        f = lambda m, x, op=op: getattr(x, op)(dim=3)
        err = check_raises(f, x, match=f"{op}: dim 3 is out of range")
        assert isinstance(err, EmberIndexError) and "[-3, 2]" in str(err)
    err = check_raises(lambda m, x: x.prod(-2), rand(4), match="prod: dim -2 is out of range")
    assert "[-1, 0]" in str(err)
    check_raises(lambda m, x: x.sum(1), rand(), match="sum: dim 1 is out of range")


def test_repeated_dims():
    check_raises(lambda m, x: x.sum((0, -3)), rand(2, 3, 4), match="sum: dim (0, -3) names")
    check_raises(lambda m, x: x.amax((1, 1)), rand(2, 3, 4), match="amax: dim (1, 1) names")


def test_dims_of_the_wrong_type():
    check_raises(lambda m, x: x.max((0, 1)), rand(2, 3), match="max: dim must be a single int")
    check_raises(lambda m, x: x.prod((0, 1)), rand(2, 3), match="prod: dim must be a single int")
    check_raises(lambda m, x: x.cumsum((0,)), rand(2, 3), match="cumsum: dim must be a single")
    check_raises(lambda m, x: x.sum(1.0), rand(2, 3), match="sum: dim must be an int")


def test_mean_of_integers():
    check_raises(lambda m, x: x.mean(), randint(5, 3), match="mean: expected a floating-point")
    check_raises(lambda m, x: x.mean(dtype=m.int64), rand(3), match="mean: dtype must be")


def test_var_std_norm_of_integers():
    check_raises(lambda m, x: x.var(), randint(5, 3), match="var: expected a floating-point")
    check_raises(lambda m, x: x.std(0), randint(5, 3), match="std: expected a floating-point")
    check_raises(lambda m, x: x.norm(), randint(5, 3), match="norm: expected a floating-point")


def test_var_unbiased_and_correction_together():
    check_raises(
        lambda m, x: x.var(0, unbiased=True, correction=1), rand(3), match="var: pass either"
    )


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin", "argmax", "argmin"])
def test_extremes_of_an_empty_tensor(op):
    check_raises(lambda m, x: getattr(x, op)(), rand(0), match=f"{op}: cannot reduce the empty")
    check_raises(lambda m, x: getattr(x, op)(), rand(2, 0), match=f"{op}: cannot reduce the empty")
    err = check_raises(
        lambda m, x: getattr(x, op)(0), rand(0, 3), match=f"{op}: cannot reduce over dim 0"
    )
    assert isinstance(err, IndexError) and "size 0" in str(err)


def test_logsumexp_needs_dim():
    check_raises(lambda m, x: m.logsumexp(x), rand(2, 3), match="logsumexp: dim is required")
    check_raises(lambda m, x: x.logsumexp(()), rand(2, 3), match="logsumexp: dim=() names no")


def test_norm_bad_p():
    check_raises(lambda m, x: x.norm(p="abc"), rand(2, 3), match="norm: p must be a number")
    check_raises(lambda m, x: x.norm(p="nuc"), rand(2, 3, 4), match="norm: p='nuc'")
    check_raises(lambda m, x: x.norm(p="fro", dim=(0, 1, 2)), rand(2, 3, 4), match="matrix norm")
    check_raises(lambda m, x: x.norm(p=INF), rand(0), match="norm: cannot compute the inf norm")
    check_raises(lambda m, x: x.norm(-INF, 0), rand(0, 2), match="the -inf norm over zero")
    check_raises(lambda m, x: x.norm(-1), rand(0), match="the -1 norm over zero")


def test_not_a_tensor():
    for op in ("sum", "amax", "max", "logsumexp", "norm", "all"):
        with pytest.raises(TypeError, match=f"{op}: expected input to be a Tensor"):
            getattr(ember, op)([1.0, 2.0], 0)


# ---------------------------------------------------------------- nansum, nanmean
def with_nans(*shape, dtype=np.float64):
    x = rand(*shape, dtype=dtype)
    x[x < -0.6] = np.nan
    return x


@pytest.mark.parametrize("op", ["nansum", "nanmean"])
@pytest.mark.parametrize("shape,dim,keepdim", cases())
def test_nansum_nanmean(op, shape, dim, keepdim):
    x = with_nans(*shape)
    if op == "nanmean" and x.size:
        x.reshape(-1)[0] = 1.0  # so no slice is all nan (nan, with a nan gradient)
        if len(shape) == 3:
            x[:, 0, :] = 0.5
    check(lambda m, x: getattr(m, op)(x, dim, keepdim), x, gradgrad=True)
    check(lambda m, x: getattr(x, op)(dim=dim, keepdim=keepdim), x.astype(np.float32))


def test_nansum_nanmean_without_nans_are_sum_and_mean():
    check(lambda m, x: x.nansum(1), rand(2, 3, 4), gradgrad=True)
    check(lambda m, x: m.nanmean(x, (0, 2)), rand(2, 3, 4), gradgrad=True)


def test_nanmean_of_all_nan_slices_is_nan():
    x = np.array([[np.nan, np.nan], [1.0, np.nan], [2.0, 3.0]])
    check(lambda m, x: x.nanmean(1), x, gradcheck=False)  # the gradient is nan as in torch
    check(lambda m, x: x.nanmean(), np.full(3, np.nan), gradcheck=False)
    check(lambda m, x: x.nanmean(0), rand(0, 3))


def test_nansum_nanmean_dtypes():
    check(lambda m, x: x.nansum(), randint(5, 2, 3, dtype=np.int32))  # -> int64
    check(lambda m, x: x.nansum(1), randint(2, 2, 3, dtype=np.bool_))
    check(lambda m, x: x.nansum(dtype=m.int32), randint(5, 2, 3, dtype=np.int32))
    check(lambda m, x: x.nansum(0, dtype=m.float64), with_nans(3, 2, dtype=np.float32))
    check(lambda m, x: x.nanmean(1, dtype=m.float64), with_nans(3, 2, dtype=np.float32))
    check(lambda m, x: x.nansum(dim=()), with_nans(2, 3))
    check(lambda m, x: x.nansum(1), with_nans(4, 6, dtype=np.float16))
    check(lambda m, x: x.nanmean(0), rand(4, 6, dtype=np.float16))


def test_nanmean_errors():
    check_raises(lambda m, x: x.nanmean(), randint(5, 3), match="nanmean: expected a floating-point input, received ember.int64")  # fmt: skip
    check_raises(lambda m, x: x.nanmean(dtype=m.float32), randint(5, 3), match="nanmean: expected a floating-point input")  # fmt: skip
    check_raises(lambda m, x: x.nanmean(dtype=m.int64), rand(3), match="nanmean: dtype must be a floating-point dtype, received")  # fmt: skip
    err = check_raises(lambda m, x: x.nansum(2), rand(2, 3), match="nansum: dim 2 is out of range")
    assert isinstance(err, EmberIndexError)


# ---------------------------------------------------------------- var_mean, std_mean
@dof_warning
@pytest.mark.parametrize("op", ["var_mean", "std_mean"])
@pytest.mark.parametrize("shape,dim,keepdim", cases())
def test_var_mean_std_mean(op, shape, dim, keepdim):
    check(lambda m, x: getattr(m, op)(x, dim, keepdim=keepdim), rand(*shape), gradgrad=True)


@pytest.mark.parametrize("op", ["var_mean", "std_mean"])
def test_var_mean_std_mean_argument_forms(op):
    f = lambda *a, **k: lambda m, x: getattr(m, op)(x, *a, **k)
    check(f(1, correction=0), rand(2, 4, 3), gradgrad=True)
    check(f((0, 2), correction=2, keepdim=True), rand(2, 4, 3), gradgrad=True)
    check(f(dim=1, unbiased=False), rand(2, 3))
    check(f(False), rand(2, 3))
    check(f(1, True, True), rand(2, 3))
    check(f(correction=0.5), rand(6, dtype=np.float32))
    r = getattr(ember, op)(ember.ones(3))
    assert type(r) is tuple and len(r) == 2


def test_var_mean_std_mean_errors():
    check_raises(lambda m, x: m.var_mean(x), randint(5, 3), match="var_mean: expected a floating-point input, received ember.int64")  # fmt: skip
    check_raises(lambda m, x: m.std_mean(x, 0, unbiased=True, correction=1), rand(3), match="std_mean: pass either unbiased or correction")  # fmt: skip
    err = check_raises(lambda m, x: m.var_mean(x, 2), rand(2, 3), match="var_mean: dim 2 is out of range")  # fmt: skip
    assert isinstance(err, EmberIndexError)
    with pytest.warns(UserWarning, match="std_mean: degrees of freedom is <= 0"):
        ember.std_mean(ember.ones(1))


# ---------------------------------------------------------------- logcumsumexp
@pytest.mark.parametrize(
    "shape,dim", [((), 0), ((), -1), ((0,), 0), ((4,), 0), ((4,), -1), ((2, 3, 4), 0),
                  ((2, 3, 4), 1), ((2, 3, 4), -1), ((0, 3), 1)],
)  # fmt: skip
def test_logcumsumexp(shape, dim):
    check(lambda m, x: m.logcumsumexp(x, dim), rand(*shape), gradgrad=True)
    check(lambda m, x: x.logcumsumexp(dim=dim), rand(*shape, dtype=np.float32))


def test_logcumsumexp_is_stable_and_handles_infinities():
    far = np.array([[1000.0, -1000.0, 1001.0, 999.0], [-1000.0, -1001.0, 0.0, -1000.5]])
    check(lambda m, x: x.logcumsumexp(1), far, gradgrad=True)
    check(lambda m, x: x.logcumsumexp(1), far.astype(np.float32))
    inf = np.array([[-INF, -INF, 0.0], [1.0, INF, 2.0], [-INF, 3.0, -INF]])
    check(lambda m, x: x.logcumsumexp(1), inf, gradcheck=False)  # nan gradients as in torch


@pytest.mark.parametrize("dtype", [np.float16, "bfloat16"])
def test_logcumsumexp_half_precision(dtype):
    if dtype == "bfloat16":
        check(lambda m, x: x.to(m.bfloat16).logcumsumexp(1), rand(2, 5, dtype=np.float32))
    else:
        check(lambda m, x: x.logcumsumexp(1), rand(2, 5, dtype=dtype))


def test_logcumsumexp_errors():
    check_raises(lambda m, x: x.logcumsumexp(0), randint(5, 3), match="logcumsumexp: expected a floating-point input, received ember.int64")  # fmt: skip
    check_raises(lambda m, x: m.logcumsumexp(x, None), rand(3), match="logcumsumexp: dim is required")  # fmt: skip
    check_raises(lambda m, x: m.logcumsumexp(x, (0,)), rand(3), match="logcumsumexp: dim must be a single int")  # fmt: skip
    err = check_raises(lambda m, x: x.logcumsumexp(2), rand(2, 3), match="logcumsumexp: dim 2 is out of range")  # fmt: skip
    assert isinstance(err, EmberIndexError)


# ---------------------------------------------------------------- aminmax
@pytest.mark.parametrize("shape,dim,keepdim", cases(NONEMPTY, tuples=False))
def test_aminmax(shape, dim, keepdim):
    check(lambda m, x: m.aminmax(x, dim=dim, keepdim=keepdim), rand(*shape), gradgrad=True)
    check(lambda m, x: x.aminmax(dim=dim, keepdim=keepdim), randint(5, *shape, dtype=np.int32))


def test_aminmax_ties_names_and_empty_results():
    x = np.array([[1.0, 3.0, 3.0, 1.0], [3.0, 3.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    for dim in (None, 0, 1):
        check(lambda m, x, d=dim: x.aminmax(dim=d), x, gradcheck=False)
    check(lambda m, x: x.aminmax(dim=1), rand(0, 3))
    check(lambda m, x: x.aminmax(), randint(2, 2, 3, dtype=np.bool_))
    check(lambda m, x: x.aminmax(dim=0), rand(2, 3, dtype=np.float32))
    r = ember.tensor([[1.0, 5.0], [7.0, 2.0]]).aminmax(dim=1)
    assert r._fields == ("min", "max")
    assert r.min.tolist() == [1.0, 2.0] and r.max.tolist() == [5.0, 7.0]


def test_aminmax_errors():
    check_raises(lambda m, x: x.aminmax(), rand(0, 3), match="aminmax: cannot reduce the empty tensor of shape (0, 3)")  # fmt: skip
    err = check_raises(lambda m, x: x.aminmax(dim=0), rand(0, 3), match="aminmax: cannot reduce over dim 0, which has size 0")  # fmt: skip
    assert isinstance(err, IndexError)
    check_raises(lambda m, x: x.aminmax(dim=(0, 1)), rand(2, 3), match="aminmax: dim must be a single int, received (0, 1)")  # fmt: skip
    err = check_raises(lambda m, x: x.aminmax(dim=2), rand(2, 3), match="aminmax: dim 2 is out of range")  # fmt: skip
    assert isinstance(err, EmberIndexError)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("op", ["sum", "mean", "prod", "var", "std", "cumsum"])
def test_reductions_of_infinities_are_silent(op):
    # inf - inf is nan without a NumPy warning, as in PyTorch
    x = np.array([[INF, -INF, 1.0], [INF, 0.0, 2.0]])
    kw = {"dim": 1} if op == "cumsum" else {}
    check(lambda m, t: getattr(m, op)(t, **kw), x, grad=False)
