"""Sorting and searching ops against PyTorch: values, dtypes, shapes, gradients (gradcheck in
float64, second order where PyTorch defines it), ties where PyTorch's result is defined,
NaN, empty and 0-d tensors, and the user errors."""

import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember.errors import EmberIndexError
from tests.oracle import check, check_raises, rand, randint

NAN = np.nan
# (shape, dim) pairs: 0-d, empty, 1-d, 3-d, negative dims, an empty dim beside others.
SHAPE_DIMS = [
    ((), 0), ((), -1), ((0,), 0), ((5,), 0), ((5,), -1), ((3, 4, 5), 0), ((3, 4, 5), 1),
    ((3, 4, 5), -1), ((0, 3), 1), ((2, 0), 0),
]  # fmt: skip
NONEMPTY_DIMS = [(s, d) for s, d in SHAPE_DIMS if 0 not in s]


def ids(cases):
    return [f"{s}-dim={d}" for s, d in cases]


def distinct(*shape):
    """Floats with no ties (so that every order is unique whatever the tie-breaking)."""
    x = rand(*shape)
    return np.asarray(x + np.arange(x.size).reshape(shape) * 1e-3)


def distinct_ints(*shape, dtype=np.int64):
    """Integers with no ties: a random permutation of 0 .. size - 1."""
    n = int(np.prod(shape))
    return np.random.default_rng(randint(2**16)[()]).permutation(n).reshape(shape).astype(dtype)


def tied(*shape, high=3):
    """Floats drawn from {0, 1, ..., high - 1}: many ties."""
    return randint(high, *shape).astype(np.float64)


# ---------------------------------------------------------------- sort, argsort, msort
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("shape,dim", SHAPE_DIMS, ids=ids(SHAPE_DIMS))
def test_sort(shape, dim, descending):
    check(lambda m, x: m.sort(x, dim, descending), distinct(*shape), gradgrad=True)
    check(lambda m, x: x.sort(dim=dim, descending=descending), rand(*shape, dtype=np.float32))


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sort_stable_keeps_the_order_of_ties(dim, descending):
    x = tied(4, 6)
    check(lambda m, x: m.sort(x, dim=dim, descending=descending, stable=True), x, gradcheck=False)
    check(lambda m, x: x.sort(dim=dim, descending=descending, stable=True), randint(3, 4, 6))
    check(lambda m, x: x.argsort(dim=dim, descending=descending, stable=True), x)


def test_sort_integers_and_bools():
    for dtype in (np.int64, np.int32, np.uint8, np.int16):
        check(lambda m, x: x.sort(stable=True), randint(9, 3, 7, dtype=dtype))
        check(
            lambda m, x: x.sort(dim=0, descending=True, stable=True), randint(9, 7, 3, dtype=dtype)
        )
    check(lambda m, x: x.sort(stable=True), randint(2, 2, 9, dtype=np.bool_))
    check(lambda m, x: x.sort(descending=True, stable=True), randint(2, 9, dtype=np.bool_))


@pytest.mark.parametrize("descending", [False, True])
def test_sort_puts_nan_last_ascending_and_first_descending(descending):
    x = np.array([[3.0, NAN, 1.0, NAN, 2.0, -np.inf], [NAN, 0.0, np.inf, 1.0, NAN, NAN]])
    check(lambda m, x: m.sort(x, dim=1, descending=descending, stable=True), x, gradcheck=False)
    check(lambda m, x: m.argsort(x, dim=0, descending=descending, stable=True), x)
    check(lambda m, x: x.sort(descending=descending, stable=True), x.astype(np.float32))


def test_sort_returns_a_named_tuple_like_torch():
    r = ember.tensor([3.0, 1.0, 2.0]).sort()
    t = torch.tensor([3.0, 1.0, 2.0]).sort()
    assert type(r).__name__ == type(t).__name__ == "sort"
    assert r._fields == ("values", "indices")
    assert r.values.tolist() == t.values.tolist() and r.indices.tolist() == t.indices.tolist()


@pytest.mark.parametrize("shape,dim", SHAPE_DIMS, ids=ids(SHAPE_DIMS))
def test_argsort(shape, dim):
    check(lambda m, x: m.argsort(x, dim), distinct(*shape))
    check(lambda m, x: x.argsort(dim=dim, descending=True), distinct(*shape))


@pytest.mark.parametrize("shape", [(), (0,), (5,), (4, 3), (0, 2)])
def test_msort(shape):
    check(lambda m, x: m.msort(x), distinct(*shape), gradgrad=True)
    check(lambda m, x: x.msort(), randint(9, *shape))


# ---------------------------------------------------------------- topk
TOPK_CASES = [((5,), 0, k) for k in (0, 1, 3, 5)] + [
    ((), 0, 1), ((), -1, 0), ((0,), 0, 0), ((3, 4, 5), 0, 2), ((3, 4, 5), 1, 4),
    ((3, 4, 5), -1, 1), ((0, 3), 1, 2), ((2, 0), 0, 1),
]  # fmt: skip


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize(
    "shape,dim,k", TOPK_CASES, ids=[f"{s}-{d}-k={k}" for s, d, k in TOPK_CASES]
)
def test_topk(shape, dim, k, largest):
    check(lambda m, x: m.topk(x, k, dim, largest), distinct(*shape), gradgrad=True)
    check(lambda m, x: x.topk(k, dim=dim, largest=largest), rand(*shape, dtype=np.float32))


def test_topk_unsorted_gives_the_same_set():
    # sorted=False leaves the order to the implementation: compare the sorted results.
    sort_values = lambda m, r: m.sort(r.values, dim=1).values
    check(lambda m, x: sort_values(m, m.topk(x, 3, 1, sorted=False)), distinct(4, 6))
    check(lambda m, x: sort_values(m, x.topk(2, 1, False, False)), distinct(4, 6))


def test_topk_integers_and_nan():
    check(lambda m, x: x.topk(3), distinct_ints(4, 6, dtype=np.int32))
    x = np.array([[3.0, NAN, 1.0, 5.0], [0.0, 2.0, 9.0, -1.0]])
    check(lambda m, x: x.topk(2), x, gradcheck=False)  # NaN is the largest
    check(lambda m, x: x.topk(2, largest=False), x, gradcheck=False)
    r = ember.tensor(x).topk(1)
    assert type(r).__name__ == "topk" and r._fields == ("values", "indices")


# ---------------------------------------------------------------- kthvalue
KTH_CASES = [
    ((5,), 0, 1), ((5,), -1, 3), ((5,), 0, 5), ((), 0, 1), ((3, 4, 5), 0, 2), ((3, 4, 5), 1, 4),
    ((3, 4, 5), -1, 1), ((0, 3), 1, 2), ((2, 0), 0, 2),
]  # fmt: skip


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim,k", KTH_CASES, ids=[f"{s}-{d}-k={k}" for s, d, k in KTH_CASES])
def test_kthvalue(shape, dim, k, keepdim):
    check(lambda m, x: m.kthvalue(x, k, dim, keepdim), distinct(*shape), gradgrad=True)
    check(lambda m, x: x.kthvalue(k, dim=dim, keepdim=keepdim), distinct_ints(*shape))


def test_kthvalue_nan_counts_as_largest():
    x = np.array([[3.0, NAN, 1.0, 2.0], [0.0, 2.0, 9.0, -1.0]])
    for k in (1, 3, 4):
        check(lambda m, x, k=k: x.kthvalue(k, 1), x, gradcheck=False)
    assert type(ember.tensor(x).kthvalue(1)).__name__ == "kthvalue"


# ---------------------------------------------------------------- median, nanmedian
@pytest.mark.parametrize("op", ["median", "nanmedian"])
@pytest.mark.parametrize("shape", [(), (1,), (5,), (6,), (3, 4), (2, 3, 4)])
def test_median_of_all(op, shape):
    check(lambda m, x: getattr(m, op)(x), distinct(*shape), gradgrad=True)
    check(lambda m, x: getattr(x, op)(), rand(*shape, dtype=np.float32))
    check(lambda m, x: getattr(x, op)(), distinct_ints(*shape, dtype=np.int32))


@pytest.mark.parametrize("op", ["median", "nanmedian"])
def test_median_of_all_shares_the_gradient_among_ties(op):
    x = np.array([[2.0, 1.0, 2.0], [3.0, 2.0, 0.0]])  # the median 2 three times
    check(lambda m, x: getattr(x, op)(), x, gradcheck=False, gradgrad=True)
    check(lambda m, x: getattr(x, op)(), np.full(4, 1.5), gradcheck=False)


def test_median_of_all_with_nan():
    x = np.array([[2.0, NAN, 1.0], [NAN, 5.0, 0.0]])
    check(lambda m, x: x.median(), x, gradcheck=False)  # NaN; the gradient goes to the NaNs
    check(lambda m, x: x.nanmedian(), x, gradcheck=False)  # the median of the numbers: 1
    check(lambda m, x: x.nanmedian(), np.full((2, 2), NAN), gradcheck=False)  # all NaN


def test_median_of_nothing_is_nan():
    check(lambda m, x: x.median(), rand(0))
    check(lambda m, x: x.nanmedian(), rand(0, 3))


@pytest.mark.parametrize("op", ["median", "nanmedian"])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", NONEMPTY_DIMS + [((0, 3), 1), ((4, 0), 0)])
def test_median_along_a_dim(op, shape, dim, keepdim):
    check(lambda m, x: getattr(m, op)(x, dim, keepdim), distinct(*shape), gradgrad=True)
    check(lambda m, x: getattr(x, op)(dim=dim, keepdim=keepdim), distinct_ints(*shape))


def test_median_along_a_dim_with_nan():
    # One NaN in a row: median gives it (and its index); nanmedian the median of the rest.
    x = np.array([[3.0, NAN, 1.0, 2.0], [0.0, 2.0, 9.0, -1.0], [NAN, 4.0, 7.0, 5.0]])
    for dim in (1, -1):
        check(lambda m, x, d=dim: x.median(d), x, gradcheck=False)
        check(lambda m, x, d=dim: x.nanmedian(d, keepdim=True), x, gradcheck=False)
    check(lambda m, x: x.median(0), x.T.copy(), gradcheck=False)
    # A row of NaNs only: nanmedian is NaN there (its index is PyTorch's own choice).
    y = np.array([[NAN, NAN, NAN], [1.0, NAN, 2.0]])
    check(lambda m, x: x.nanmedian(1).values, y, gradcheck=False)
    r = ember.tensor(x).median(1)
    assert type(r).__name__ == "median" and r._fields == ("values", "indices")
    assert type(ember.tensor(x).nanmedian(1)).__name__ == "nanmedian"


# ---------------------------------------------------------------- unique, unique_consecutive
@pytest.mark.parametrize("flags", [(False, False), (True, False), (False, True), (True, True)])
def test_unique(flags):
    inv, cnt = flags
    f = lambda m, x: m.unique(x, return_inverse=inv, return_counts=cnt)
    check(f, randint(5, 3, 7), grad=False)
    check(f, tied(4, 5), grad=False)
    check(f, randint(2, 6, dtype=np.bool_), grad=False)
    check(f, np.array(2.5), grad=False)  # 0-d: one value, a 0-d inverse
    check(f, rand(0, 3), grad=False)
    check(f, np.array([2.0, NAN, 1.0, NAN, 2.0]), grad=False)  # each NaN is distinct
    check(lambda m, x: x.unique(True, inv, cnt), randint(5, 9, dtype=np.int32), grad=False)


def test_unique_unsorted_is_the_same_set():
    x = randint(6, 20)
    e_values, e_inverse = ember.tensor(x).unique(sorted=False, return_inverse=True)
    t_values = torch.tensor(x).unique(sorted=False)
    assert sorted(e_values.tolist()) == sorted(t_values.tolist())
    np.testing.assert_array_equal(e_values.numpy()[e_inverse.numpy()], x)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unique_along_a_dim(dim):
    x = randint(2, 6, 3)  # rows repeat
    x = np.concatenate([x, x[::-1], x[:2]], axis=0) if dim == 0 else x.T.copy()
    f = lambda m, x: m.unique(x, dim=dim, return_inverse=True, return_counts=True)
    check(f, x, grad=False)
    check(lambda m, x: x.unique(dim=dim), x.astype(np.float64), grad=False)
    check(lambda m, x: m.unique(x, dim=0, return_counts=True), rand(0, 3), grad=False)


@pytest.mark.parametrize("flags", [(False, False), (True, False), (False, True), (True, True)])
def test_unique_consecutive(flags):
    inv, cnt = flags
    f = lambda m, x: m.unique_consecutive(x, return_inverse=inv, return_counts=cnt)
    check(f, randint(3, 4, 6), grad=False)
    check(f, np.array([1.0, 1.0, NAN, NAN, 2.0, 1.0]), grad=False)
    check(f, np.array(3), grad=False)
    check(f, rand(0), grad=False)
    x = np.array([[1, 2], [1, 2], [0, 5], [1, 2]])
    for dim in (0, -2):
        g = lambda m, x, d=dim: x.unique_consecutive(inv, cnt, dim=d)
        check(g, x, grad=False)
    check(lambda m, x: x.unique_consecutive(dim=1, return_counts=True), x.T.copy(), grad=False)


# ---------------------------------------------------------------- nonzero, argwhere, count
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 4), (2, 3, 4), (0, 3)])
def test_nonzero_and_argwhere(shape):
    x = rand(*shape)
    x[x < 0] = 0.0
    x[x > 0.8] = NAN  # nonzero
    check(lambda m, x: m.nonzero(x), x)
    check(lambda m, x: x.nonzero(as_tuple=True), x)
    check(lambda m, x: m.argwhere(x), x)
    check(lambda m, x: x.argwhere(), randint(2, *shape, dtype=np.bool_))
    check(lambda m, x: x.nonzero(), randint(3, *shape, dtype=np.int32))


def test_nonzero_of_a_zero_scalar():
    check(lambda m, x: x.nonzero(), np.array(0.0))
    check(lambda m, x: x.nonzero(as_tuple=True), np.array(0))
    check(lambda m, x: m.argwhere(x), np.array(0.0))


@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2), (-1,), (), [1, 0]])
def test_count_nonzero(dim):
    x = randint(3, 2, 3, 4)
    check(lambda m, x: m.count_nonzero(x, dim), x)
    check(lambda m, x: x.count_nonzero(dim=dim), x.astype(np.float32))
    check(lambda m, x: x.count_nonzero(dim), randint(2, 2, 3, 4, dtype=np.bool_))


def test_count_nonzero_of_scalars_and_empty_tensors():
    check(lambda m, x: x.count_nonzero(), np.array(2.0))
    check(lambda m, x: x.count_nonzero(0), np.array(0.0))
    check(lambda m, x: x.count_nonzero(1), rand(0, 3))
    check(lambda m, x: x.count_nonzero(), rand(0, 3))
    check(lambda m, x: x.count_nonzero(), np.array([NAN, 0.0, 1.0]))


# ---------------------------------------------------------------- searchsorted, bucketize
SEQ = np.array([1.0, 2.0, 2.0, 2.0, 3.5, 7.0])
VALUES = np.array([[0.0, 1.0, 2.0], [2.5, 7.0, 9.0]])  # below, on (ties), between, above


@pytest.mark.parametrize(
    "kwargs", [{}, {"right": True}, {"side": "left"}, {"side": "right"},
               {"right": True, "side": "right"}, {"out_int32": True}],
)  # fmt: skip
def test_searchsorted_1d_sequence(kwargs):
    check(lambda m, s, v: m.searchsorted(s, v, **kwargs), SEQ, VALUES)
    check(lambda m, s, v: m.searchsorted(s, v, **kwargs), SEQ.astype(np.float32), VALUES[0])
    check(lambda m, s: m.searchsorted(s, 2.0, **kwargs), SEQ)  # a number: a 0-d result
    check(lambda m, s, v: m.searchsorted(s, v, **kwargs), SEQ, np.array(2.0))
    check(lambda m, s, v: m.searchsorted(s, v, **kwargs), SEQ, rand(0, 3))
    check(lambda m, s, v: m.searchsorted(s, v, **kwargs), rand(0), VALUES)


def test_searchsorted_rows_and_mixed_dtypes():
    seq = np.sort(randint(6, 2, 3, 5), axis=-1)
    vals = randint(7, 2, 3, 4)
    for right in (False, True):
        check(lambda m, s, v, r=right: m.searchsorted(s, v, right=r), seq, vals)
        check(lambda m, s, v, r=right: m.searchsorted(s, v, right=r), seq, vals + 0.5)
        check(lambda m, s, v, r=right: m.searchsorted(s, v, right=r), seq.astype(float), vals)
    check(lambda m, s, v: m.searchsorted(s, v), seq, np.zeros((2, 3, 0), np.int64))


def test_searchsorted_with_sorter():
    seq = np.array([[3.0, 1.0, 2.0, 2.0], [9.0, 0.0, 4.0, 5.0]])
    vals = np.array([[2.0, 0.5], [4.5, 10.0]])
    for side in ("left", "right"):
        check(
            lambda m, s, v, side=side: m.searchsorted(s, v, side=side, sorter=m.argsort(s)),
            seq,
            vals,
        )
    check(lambda m, s, v: m.searchsorted(s, v, sorter=m.argsort(s)), seq[0], vals)


@pytest.mark.parametrize("right", [False, True])
def test_bucketize(right):
    check(lambda m, x, b: m.bucketize(x, b, right=right), VALUES, SEQ)
    check(lambda m, x, b: m.bucketize(x, b, right=right, out_int32=True), VALUES[1], SEQ)
    check(lambda m, b: m.bucketize(3.5, b, right=right), SEQ)
    check(lambda m, x, b: m.bucketize(x, b, right=right), randint(9, 4, 5), SEQ)
    check(lambda m, x, b: m.bucketize(x, b, right=right), rand(0), SEQ)


# ---------------------------------------------------------------- cumprod
@pytest.mark.parametrize("shape,dim", SHAPE_DIMS, ids=ids(SHAPE_DIMS))
def test_cumprod(shape, dim):
    check(lambda m, x: m.cumprod(x, dim), rand(*shape, low=0.5, high=1.5), gradgrad=True)
    check(lambda m, x: x.cumprod(dim=dim), rand(*shape, dtype=np.float32))


@pytest.mark.parametrize(
    "zeros",
    [[2], [0], [5], [1, 3], [2, 3], [0, 5], [1, 2, 4], [0, 1, 2, 3, 4, 5]],
    ids=lambda z: "zeros at " + ",".join(map(str, z)),
)
def test_cumprod_gradient_with_zeros(zeros):
    x = rand(6)
    x[zeros] = 0.0
    check(lambda m, x: x.cumprod(0), x, gradgrad=True)


def test_cumprod_gradient_with_zeros_in_some_rows_only():
    x = rand(5, 6, low=0.5, high=1.5) * np.sign(rand(5, 6))
    x[1, 3] = 0.0  # one zero
    x[2, [0, 4]] = 0.0  # two
    x[3, [1, 2, 5]] = 0.0  # three, two of them adjacent
    for dim in (1, -1, 0):
        check(lambda m, x, d=dim: x.cumprod(d), x, gradgrad=True)
    check(lambda m, x: x.cumprod(1), x.astype(np.float32))
    check(lambda m, x: x.cumprod(1), np.zeros((3, 4)), gradgrad=True)


def test_cumprod_third_derivative_with_zeros():
    # The graph of the gradient keeps the terms a zero multiplies, so every order is exact.
    x0 = np.array([0.7, 0.0, -1.3, 0.0, 0.9])
    up = np.array([0.3, -0.5, 0.8, 0.2, -0.6])
    grads = {}
    for lib in (ember, torch):
        x = (torch.from_numpy(x0.copy()) if lib is torch else ember.tensor(x0)).requires_grad_()
        u = torch.from_numpy(up) if lib is torch else ember.tensor(up)
        (g,) = lib.autograd.grad(x.cumprod(0), [x], u, create_graph=True)
        (gg,) = lib.autograd.grad((g * u).sum(), [x], create_graph=True)
        (ggg,) = lib.autograd.grad((gg * u).sum(), [x])
        grads[lib.__name__] = [t.detach().numpy() for t in (g, gg, ggg)]
    for e, t in zip(grads["ember"], grads["torch"]):
        np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-12)


def test_cumprod_dtypes():
    check(lambda m, x: x.cumprod(0), randint(5, 4, dtype=np.int32))  # -> int64
    check(lambda m, x: x.cumprod(1), randint(2, 2, 3, dtype=np.bool_))
    check(lambda m, x: x.cumprod(0, dtype=m.float64), rand(4, dtype=np.float32))
    check(lambda m, x: m.cumprod(x, 0, dtype=m.int32), randint(5, 4, dtype=np.int8))
    check(lambda m, x: x.cumprod(-1), rand(2, 5, dtype=np.float16), gradcheck=False)


# ---------------------------------------------------------------- cummax, cummin
@pytest.mark.parametrize("op", ["cummax", "cummin"])
@pytest.mark.parametrize("shape,dim", SHAPE_DIMS, ids=ids(SHAPE_DIMS))
def test_cummax_cummin(op, shape, dim):
    check(lambda m, x: getattr(m, op)(x, dim), distinct(*shape), gradgrad=True)
    check(lambda m, x: getattr(x, op)(dim=dim), randint(9, *shape, dtype=np.int32))


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_cummin_ties_take_the_latest_index(op):
    x = tied(4, 8)
    for dim in (0, 1):
        check(lambda m, x, d=dim: getattr(x, op)(d), x, gradcheck=False)
    check(lambda m, x: getattr(x, op)(1), randint(2, 3, 6, dtype=np.bool_))
    r = getattr(ember.tensor(x), op)(0)
    assert type(r).__name__ == op and r._fields == ("values", "indices")


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_cummin_carry_nan(op):
    x = np.array([[3.0, NAN, 1.0, NAN, 5.0], [1.0, 2.0, 0.5, 0.5, NAN]])
    check(lambda m, x: getattr(x, op)(1), x, gradcheck=False)


# ---------------------------------------------------------------- diff
@pytest.mark.parametrize("n", [0, 1, 2, 3])
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((5,), -1), ((3, 4), 0), ((2, 3, 4), 1),
                                       ((2, 3, 4), -1), ((0, 3), 1), ((4, 0), 0)])  # fmt: skip
def test_diff(shape, dim, n):
    check(lambda m, x: m.diff(x, n, dim), rand(*shape), gradgrad=True)
    check(lambda m, x: x.diff(n=n, dim=dim), randint(9, *shape, dtype=np.int32))


def test_diff_with_prepend_and_append():
    x, a, b = rand(3, 4), rand(3, 2), rand(3, 1)
    check(lambda m, x, a, b: m.diff(x, 1, 1, a, b), x, a, b, gradgrad=True)
    check(lambda m, x, a: x.diff(2, -1, prepend=a), x, a, gradgrad=True)
    check(lambda m, x, b: x.diff(dim=0, append=b), x, rand(2, 4), gradgrad=True)
    check(lambda m, x, a: x.diff(append=a), randint(5, 4), rand(2))  # promoted to float


def test_diff_of_bools_and_high_orders():
    check(lambda m, x: x.diff(), randint(2, 3, 6, dtype=np.bool_))
    check(lambda m, x: x.diff(2, 0), randint(2, 5, 2, dtype=np.bool_))
    check(lambda m, x: x.diff(5), rand(3))  # more than the size: empty
    check(lambda m, x: x.diff(9, 0), rand(3, 2), gradgrad=True)


# ---------------------------------------------------------------- methods, random shapes
NAMES = [
    "argsort", "argwhere", "bucketize", "count_nonzero", "cummax", "cummin", "cumprod", "diff",
    "kthvalue", "median", "msort", "nanmedian", "nonzero", "searchsorted", "sort", "topk",
    "unique", "unique_consecutive",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_top_level_and_tensor_methods_as_in_torch(name):
    assert callable(getattr(ember, name))
    assert hasattr(ember.Tensor, name) == hasattr(torch.Tensor, name)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_shapes_with_ties(data):
    shape = tuple(data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=3), label="shape"))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    x = np.random.default_rng(data.draw(st.integers(0, 2**16))).integers(0, 3, shape) * 1.0
    descending = data.draw(st.booleans(), label="descending")
    for fn in (
        lambda m, x: m.sort(x, dim=dim, descending=descending, stable=True),
        lambda m, x: m.cumprod(x, dim),
        lambda m, x: m.cummax(x, dim),
        lambda m, x: m.unique(x, return_inverse=True, return_counts=True),
        lambda m, x: m.diff(x, 2, dim),
    ):
        e = fn(ember, ember.tensor(x))
        t = fn(torch, torch.tensor(x))
        e, t = (e, t) if isinstance(t, tuple) else ((e,), (t,))
        for a, b in zip(e, t):
            assert tuple(a.shape) == tuple(b.shape)
            np.testing.assert_array_equal(a.numpy(), b.numpy())


# ---------------------------------------------------------------- errors
OPS_WITH_DIM = [
    ("sort", lambda m, x, d: m.sort(x, d)),
    ("argsort", lambda m, x, d: x.argsort(d)),
    ("topk", lambda m, x, d: m.topk(x, 1, d)),
    ("kthvalue", lambda m, x, d: x.kthvalue(1, d)),
    ("median", lambda m, x, d: m.median(x, d)),
    ("nanmedian", lambda m, x, d: x.nanmedian(d)),
    ("cumprod", lambda m, x, d: m.cumprod(x, d)),
    ("cummax", lambda m, x, d: x.cummax(d)),
    ("cummin", lambda m, x, d: m.cummin(x, d)),
    ("diff", lambda m, x, d: m.diff(x, dim=d)),
    ("count_nonzero", lambda m, x, d: x.count_nonzero(d)),
    ("unique", lambda m, x, d: m.unique(x, dim=d)),
    ("unique_consecutive", lambda m, x, d: x.unique_consecutive(dim=d)),
]


@pytest.mark.parametrize("op,fn", OPS_WITH_DIM, ids=[o for o, _ in OPS_WITH_DIM])
def test_dim_out_of_range_names_the_op_and_the_range(op, fn):
    err = check_raises(lambda m, x: fn(m, x, 2), rand(3, 4), match=f"{op}: dim 2 is out of range")
    assert isinstance(err, EmberIndexError) and "[-2, 1]" in str(err)
    err = check_raises(lambda m, x: fn(m, x, -3), rand(3, 4), match=f"{op}: dim -3 is out of range")
    assert isinstance(err, EmberIndexError)


def test_dim_of_a_scalar_out_of_range():
    check_raises(lambda m, x: x.sort(1), rand(), match="sort: dim 1 is out of range")
    check_raises(lambda m, x: x.cummax(-2), rand(), match="cummax: dim -2 is out of range")


def test_k_out_of_range():
    x = rand(3, 4)
    for k in (5, -1):
        err = check_raises(lambda m, x, k=k: x.topk(k), x, match="topk: selected index k out of")
        assert "expected k in [0, 4]" in str(err) and f"received k={k}" in str(err)
    check_raises(lambda m, x: x.topk(4, dim=0), x, match="topk: selected index k out of range")
    check_raises(lambda m, x: x.topk(2), rand(), match="topk: selected index k out of range")
    for k in (0, 5):
        err = check_raises(lambda m, x, k=k: x.kthvalue(k), x, match="kthvalue: selected number k")
        assert "expected k in [1, 4]" in str(err) and f"received k={k}" in str(err)
    check_raises(lambda m, x: x.kthvalue(1, 0), rand(0, 3), match="kthvalue: selected number k")


def test_k_of_the_wrong_type():
    check_raises(lambda m, x: x.topk(1.5), rand(4), match="topk: k must be an int, received 1.5")
    check_raises(lambda m, x: x.kthvalue(2.0), rand(4), match="kthvalue: k must be an int")


@pytest.mark.parametrize(
    "op,fn",
    [("topk", lambda m, x: x.topk(1)), ("kthvalue", lambda m, x: x.kthvalue(1)),
     ("median", lambda m, x: x.median()), ("median", lambda m, x: x.median(0)),
     ("nanmedian", lambda m, x: m.nanmedian(x, 0))],
)  # fmt: skip
def test_bool_inputs_are_refused(op, fn):
    check_raises(fn, randint(2, 4, dtype=np.bool_), match=f"{op}: expected a numeric input")


def test_median_over_an_empty_dim():
    err = check_raises(
        lambda m, x: x.median(0), rand(0, 3), match="median: cannot reduce over dim 0"
    )
    assert isinstance(err, EmberIndexError) and "size 0" in str(err)
    check_raises(lambda m, x: x.nanmedian(1), rand(3, 0), match="nanmedian: cannot reduce")


def test_diff_errors():
    check_raises(lambda m, x: x.diff(), rand(), match="diff: expected a tensor with at least one")
    check_raises(lambda m, x: x.diff(-1), rand(3), match="diff: order n must be non-negative")
    check_raises(lambda m, x: x.diff(1.5), rand(3), match="diff: n must be an int")
    check_raises(
        lambda m, x, a: x.diff(prepend=a), rand(3), rand(), match="expected prepend to have"
    )
    check_raises(
        lambda m, x, a: x.diff(dim=1, append=a), rand(2, 3), rand(3, 1),
        match="diff: expected append of input's shape (2, 3) except along dim 1, received shape (3, 1)",
    )  # fmt: skip


def test_searchsorted_and_bucketize_errors():
    s, v = SEQ, VALUES
    check_raises(
        lambda m, s, v: m.searchsorted(s, v, right=True, side="left"), s, v,
        match="searchsorted: side and right contradict",
    )  # fmt: skip
    check_raises(
        lambda m, s, v: m.searchsorted(s, v, side="middle"), s, v,
        match="searchsorted: side must be 'left' or 'right', received 'middle'",
    )  # fmt: skip
    check_raises(
        lambda m, s, v: m.searchsorted(s, v), np.array(1.0), v, match="at least one dimension"
    )
    check_raises(
        lambda m, s, v: m.searchsorted(s, v), rand(3, 4), rand(2, 4),
        match="received sorted_sequence of shape (3, 4) and input of shape (2, 4)",
    )  # fmt: skip
    check_raises(
        lambda m, s, v: m.searchsorted(s, v, sorter=m.argsort(s)[:2]), s, v,
        match="searchsorted: sorter must have the shape",
    )  # fmt: skip
    check_raises(
        lambda m, x, b: m.bucketize(x, b), v, rand(2, 3), match="bucketize: expected 1-d boundaries"
    )


def test_unique_errors():
    check_raises(lambda m, x: x.unique(dim=0), rand(), match="unique: dim must be None for a 0-d")
    check_raises(lambda m, x: x.unique(dim=0), rand(3, 0), match="unique: cannot compare")


def test_empty_integer_median_and_wrong_input_types():
    with pytest.raises(RuntimeError, match="median: the median of an empty int64 tensor"):
        ember.tensor(np.zeros(0, np.int64)).median()
    with pytest.raises(TypeError, match="sort: expected input to be a Tensor, received list"):
        ember.sort([3.0, 1.0])
    with pytest.raises(TypeError, match="searchsorted: expected input to be a Tensor or a num"):
        ember.searchsorted(ember.tensor(SEQ), "2")
    with pytest.raises(
        TypeError, match=re.escape("cumprod: dim must be a single int, received (0, 1)")
    ):
        ember.tensor(rand(2, 3)).cumprod((0, 1))
