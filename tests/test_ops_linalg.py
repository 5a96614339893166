import numpy as np
import pytest

import ember
from ember.errors import EmberIndexError
from tests.oracle import check, check_raises, rand, randint

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((2, 1, 3), (1, 3, 2)),
    ((0, 4), (4, 3)),
    ((3, 0), (0, 2)),
    ((2, 0, 3), (3, 4)),
    ((0,), (0,)),
    ((0, 2, 3), (1, 3, 2)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul(sa, sb):
    check(lambda m, a, b: m.matmul(a, b), rand(*sa), rand(*sb), gradgrad=True)


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((4,), (4,))])
def test_matmul_float32_and_operator(sa, sb):
    check(lambda m, a, b: a @ b, rand(*sa, dtype=np.float32), rand(*sb, dtype=np.float32))


def test_matmul_int():
    check(lambda m, a, b: a @ b, randint(5, 2, 3), randint(5, 3, 4))


def test_rmatmul_only_one_requires_grad():
    # gradcheck would perturb b's data through the detached view, so it is left out
    check(lambda m, a, b: a @ b.detach(), rand(2, 3), rand(3, 2), gradcheck=False, gradgrad=True)


def test_matmul_errors():
    check_raises(lambda m, a, b: m.matmul(a, b), rand(2, 5), rand(3, 4),
                 match="matmul: cannot multiply (2, 5) by (3, 4): size 5 of dim -1 of the first "
                       "must equal size 3 of dim -2 of the second")  # fmt: skip
    check_raises(lambda m, a, b: m.matmul(a, b), rand(2, 5), rand(3),
                 match="size 5 of dim -1 of the first must equal size 3 of dim -1")  # fmt: skip
    check_raises(lambda m, a, b: m.matmul(a, b), rand(), rand(3), match="at least 1 dimension")
    check_raises(lambda m, a, b: m.matmul(a, b), rand(2, 2, 3), rand(3, 3, 4),
                 match="batch dimensions (2,) and (3,) do not broadcast")  # fmt: skip
    check_raises(lambda m, a, b: m.matmul(a, b), rand(2, 3, dtype=np.float32), rand(3, 4),
                 match="same dtype, received float32 and float64")  # fmt: skip
    check_raises(lambda m, a, b: m.matmul(a.bool(), b.bool()), rand(2, 3), rand(3, 4),
                 match="bool")  # fmt: skip


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((0, 4), (4, 2)), ((2, 0), (0, 3))])
def test_mm(sa, sb):
    check(lambda m, a, b: m.mm(a, b), rand(*sa), rand(*sb), gradgrad=True)
    check(lambda m, a, b: a.mm(b), rand(*sa, dtype=np.float32), rand(*sb, dtype=np.float32))


def test_mm_errors():
    check_raises(
        lambda m, a, b: m.mm(a, b), rand(3), rand(3, 4), match="mm: expected input to be a 2-D"
    )
    check_raises(lambda m, a, b: m.mm(a, b), rand(2, 3), rand(4, 4), match="size 3 of dim 1")
    check_raises(lambda m, a, b: m.mm(a, b), rand(2, 3), rand(3, 4, dtype=np.float32),
                 match="same dtype")  # fmt: skip


@pytest.mark.parametrize(
    "sa,sb", [((2, 3, 4), (2, 4, 5)), ((0, 2, 3), (0, 3, 2)), ((2, 0, 3), (2, 3, 1))]
)
def test_bmm(sa, sb):
    check(lambda m, a, b: m.bmm(a, b), rand(*sa), rand(*sb), gradgrad=True)
    check(lambda m, a, b: a.bmm(b), rand(*sa, dtype=np.float32), rand(*sb, dtype=np.float32))


def test_bmm_errors():
    check_raises(
        lambda m, a, b: m.bmm(a, b), rand(3, 3), rand(3, 3), match="bmm: expected input to be a 3-D"
    )
    check_raises(lambda m, a, b: m.bmm(a, b), rand(2, 3, 3), rand(3, 3, 3),
                 match="expected mat2 of shape (2, 3, m)")  # fmt: skip
    check_raises(lambda m, a, b: m.bmm(a, b), rand(2, 3, 4), rand(2, 3, 3), match="size 4 in dim 1")
    check_raises(lambda m, a, b: m.bmm(a, b), rand(1, 3, 4), rand(1, 4, 3, dtype=np.float32),
                 match="same dtype")  # fmt: skip


@pytest.mark.parametrize("n", [4, 0])
def test_dot(n):
    check(lambda m, a, b: m.dot(a, b), rand(n), rand(n), gradgrad=True)
    check(lambda m, a, b: a.dot(b), rand(n, dtype=np.float32), rand(n, dtype=np.float32))


def test_dot_errors():
    check_raises(lambda m, a, b: m.dot(a, b), rand(2, 3), rand(3), match="dot: expected two 1-D")
    check_raises(lambda m, a, b: m.dot(a, b), rand(2), rand(3), match="received 2 and 3")
    check_raises(
        lambda m, a, b: m.dot(a, b), rand(3), rand(3, dtype=np.float32), match="same dtype"
    )


@pytest.mark.parametrize("fn", ["outer", "ger"])
@pytest.mark.parametrize("n,k", [(3, 4), (0, 2), (1, 1)])
def test_outer(fn, n, k):
    check(lambda m, a, b: getattr(m, fn)(a, b), rand(n), rand(k), gradgrad=True)
    check(lambda m, a, b: getattr(a, fn)(b), rand(n, dtype=np.float32), rand(k, dtype=np.float32))


def test_outer_promotes():
    check(lambda m, a, b: m.outer(a, b), rand(3, dtype=np.float32), rand(2))
    check(lambda m, a, b: m.outer(a, b), randint(5, 3), rand(2, dtype=np.float32))


def test_outer_errors():
    check_raises(
        lambda m, a, b: m.outer(a, b), rand(3, 1), rand(3), match="outer: expected input to be 1-D"
    )


EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ba,ac", [(2, 3), (3, 4)]),  # implicit output is alphabetical: 'bc'
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iji->j", [(2, 3, 2)]),
    ("iij->ij", [(2, 2, 3)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("i,i->i", [(4,), (4,)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 4)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 2), (2, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),
    ("...ij,...jk", [(2, 2, 3), (3, 2)]),
    ("i...->...", [(2, 3, 2)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("...->...", [(2, 3)]),
    ("ij...,j->i", [(2, 3, 2), (3,)]),
    ("ij,ij->ij", [(2, 1), (2, 3)]),  # a size-1 subscript broadcasts
    ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("ij,jk->ik", [(2, 3), (1, 4)]),
    ("Ab,bC->AC", [(2, 3), (3, 2)]),
    ("ij,jk->ik", [(0, 3), (3, 2)]),
    ("ij,jk->ik", [(2, 0), (0, 2)]),
    (",->", [(), ()]),
    ("i,->i", [(3,), ()]),
    ("i j , j k -> i k", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES)
def test_einsum(eq, shapes):
    check(lambda m, *xs: m.einsum(eq, *xs), *[rand(*s) for s in shapes], gradgrad=True)


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES[:4] + EINSUM_CASES[17:19])
def test_einsum_float32_and_list(eq, shapes):
    check(lambda m, *xs: m.einsum(eq, list(xs)), *[rand(*s, dtype=np.float32) for s in shapes])


def test_einsum_int():
    check(lambda m, a, b: m.einsum("ij,jk->ik", a, b), randint(5, 2, 3), randint(5, 3, 2))


def test_einsum_only_some_operands_require_grad():
    check(
        lambda m, a, b: m.einsum("ij,jk->ik", a, b.detach()),
        rand(2, 3),
        rand(3, 2),
        gradcheck=False,
        gradgrad=True,
    )


def test_einsum_diagonal_is_a_copy():
    # NumPy hands back a view for 'ii->i'; ember's result must own its memory.
    x = ember.tensor(np.arange(4.0).reshape(2, 2))
    d = ember.einsum("ii->i", x)
    assert not np.shares_memory(d.numpy(), x.numpy())


def test_einsum_errors():
    a, b = rand(2, 3), rand(3, 4)
    check_raises(lambda m, a, b: m.einsum("ij->ij", a, b), a, b, match="names 1 operand(s), but 2")
    check_raises(lambda m, a, b: m.einsum("ij,jk,kl->il", a, b), a, b, match="names 3 operand(s)")
    check_raises(lambda m, a, b: m.einsum("ij,jk->ik", a, b), a, rand(4, 4),
                 match="subscript 'j' has size 4 in operand 1")  # fmt: skip
    check_raises(
        lambda m, a: m.einsum("ij->ii", a), a, match="output subscript 'i' appears more than once"
    )
    check_raises(lambda m, a: m.einsum("ij->k", a), a, match="output subscript 'k' does not appear")
    check_raises(
        lambda m, a: m.einsum("ijk->i", a),
        a,
        match="name 3 dimension(s), but the operand has shape (2, 3)",
    )
    check_raises(lambda m, a: m.einsum("i1->i", a), a, match="invalid subscript '1'")
    check_raises(
        lambda m, a: m.einsum("ii->i", a),
        a,
        match="repeated in operand 0 but its sizes differ, 2 != 3",
    )
    check_raises(lambda m, a, b: m.einsum("ij,jk->ik", a, b), a, rand(3, 4, dtype=np.float32),
                 match="same dtype, received float64, float32")  # fmt: skip


# ---------------------------------------------------------------- diag, diagonal, trace
DIAG_CASES = [
    ((3,), 0), ((3,), 2), ((3,), -1), ((0,), 0), ((0,), 1), ((3, 4), 0), ((3, 4), 1),
    ((3, 4), -2), ((3, 4), 5), ((0, 2), 0), ((1, 1), 0),
]  # fmt: skip


@pytest.mark.parametrize("shape,k", DIAG_CASES)
def test_diag(shape, k):
    check(lambda m, x: m.diag(x, k), rand(*shape), gradgrad=True)
    check(lambda m, x: x.diag(diagonal=k), rand(*shape, dtype=np.float32))
    check(lambda m, x: m.diag(x, k), randint(5, *shape, dtype=np.int32))


DIAGONAL_CASES = [
    ((3, 4), 0, 0, 1), ((3, 4), 1, 1, 0), ((4, 3), -2, 0, 1), ((2, 3, 4), -1, -1, 0),
    ((2, 3, 4), 2, 1, 2), ((2, 3, 3), 0, 2, 1), ((0, 3), 0, 0, 1), ((3, 4), 9, 0, 1),
    ((2, 0, 3), 1, 0, 2),
]  # fmt: skip


@pytest.mark.parametrize("shape,offset,d1,d2", DIAGONAL_CASES)
def test_diagonal(shape, offset, d1, d2):
    check(lambda m, x: m.diagonal(x, offset, d1, d2), rand(*shape), gradgrad=True)
    f = lambda m, x: x.diagonal(offset=offset, dim1=d1, dim2=d2)
    check(f, rand(*shape, dtype=np.float32))


def test_diagonal_default_dims_and_int():
    check(lambda m, x: x.diagonal(), rand(2, 3, 4), gradgrad=True)
    check(lambda m, x: m.diagonal(x, 1), randint(5, 3, 3))


def test_diagonal_is_a_writable_view_and_diag_a_copy():
    x = ember.zeros(3, 3)
    d = x.diagonal()
    d.add_(1)
    assert x.tolist() == np.eye(3).tolist()
    assert x._version == d._version == 1
    c = ember.diag(x)
    c.add_(1)
    assert x.tolist() == np.eye(3).tolist() and c.tolist() == [2.0] * 3


def test_in_place_change_through_diagonal_reaches_the_gradient():
    def f(m, x):
        y = x * 1
        y.diagonal(1).mul_(3)
        return y * y

    check(f, rand(3, 4), gradcheck=False, gradgrad=True)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2), (0, 0), (1, 1), (0, 3)])
def test_trace(shape):
    check(lambda m, x: m.trace(x), rand(*shape), gradgrad=True)
    check(lambda m, x: x.trace(), rand(*shape, dtype=np.float32))


def test_trace_integers_give_int64():
    check(lambda m, x: x.trace(), randint(5, 3, 3, dtype=np.int32))
    check(lambda m, x: m.trace(x), randint(5, 2, 3))


def test_diag_diagonal_trace_errors():
    check_raises(lambda m, x: m.diag(x), rand(2, 2, 2), match="diag: expected a 1-D or 2-D tensor, received a 3-D tensor of shape (2, 2, 2)")  # fmt: skip
    check_raises(lambda m, x: m.diag(x), rand(), match="diag: expected a 1-D or 2-D tensor, received a 0-D")  # fmt: skip
    check_raises(lambda m, x: m.diag(x, 1.5), rand(3), match="diag: expected diagonal to be an int, received float")  # fmt: skip
    check_raises(lambda m, x: m.diagonal(x, 0, 1, -1), rand(2, 3), match="diagonal: dim1 and dim2 must be different dims, received dim1=1 and dim2=-1")  # fmt: skip
    err = check_raises(lambda m, x: m.diagonal(x, 0, 0, 3), rand(2, 3, 4), match="diagonal: dim 3 is out of range")  # fmt: skip
    assert isinstance(err, EmberIndexError)
    check_raises(lambda m, x: m.trace(x), rand(3), match="trace: expected a 2-D matrix, received a 1-D tensor of shape (3,)")  # fmt: skip
    check_raises(lambda m, x: m.trace(x.bool()), rand(2, 2), match="trace: not supported for bool")


# ---------------------------------------------------------------- mv and the scaled sums
@pytest.mark.parametrize("sm,sv", [((3, 4), (4,)), ((0, 4), (4,)), ((3, 0), (0,))])
def test_mv(sm, sv):
    check(lambda m, a, v: m.mv(a, v), rand(*sm), rand(*sv), gradgrad=True)
    check(lambda m, a, v: a.mv(v), rand(*sm, dtype=np.float32), rand(*sv, dtype=np.float32))
    check(lambda m, a, v: a.mv(v), randint(5, *sm), randint(5, *sv))


def test_mv_errors():
    check_raises(lambda m, a, v: m.mv(a, v), rand(3), rand(3), match="mv: expected a 2-D input and a 1-D vec, received shapes (3,) and (3,)")  # fmt: skip
    check_raises(lambda m, a, v: m.mv(a, v), rand(2, 3), rand(4), match="mv: cannot multiply (2, 3) by (4,): size 3 of dim 1 of input must equal the size 4 of vec")  # fmt: skip
    check_raises(lambda m, a, v: m.mv(a, v), rand(2, 3), rand(3, dtype=np.float32), match="mv: expected both operands to have the same dtype, received float64 and float32")  # fmt: skip


SCALES = [{}, {"beta": 0.5, "alpha": 2}, {"beta": 0}, {"alpha": 0}, {"beta": -1, "alpha": 3}]


@pytest.mark.parametrize("kw", SCALES, ids=str)
@pytest.mark.parametrize("si", [(2, 4), (4,), (1, 4), (2, 1), ()])
def test_addmm(si, kw):
    f = lambda m, i, a, b: m.addmm(i, a, b, **kw)
    check(f, rand(*si), rand(2, 3), rand(3, 4), gradgrad=True)
    g = lambda m, i, a, b: i.addmm(a, b, **kw)
    check(
        g, rand(*si, dtype=np.float32), rand(2, 3, dtype=np.float32), rand(3, 4, dtype=np.float32)
    )


def test_addmm_empty_and_int():
    check(lambda m, i, a, b: m.addmm(i, a, b), rand(0, 2), rand(0, 3), rand(3, 2), gradgrad=True)
    check(lambda m, i, a, b: m.addmm(i, a, b, beta=2), rand(2, 2), rand(2, 0), rand(0, 2))
    check(lambda m, i, a, b: m.addmm(i, a, b, beta=2, alpha=3),
          randint(5, 2, 4, dtype=np.int32), randint(5, 2, 3, dtype=np.int32),
          randint(5, 3, 4, dtype=np.int32))  # fmt: skip


def test_scaled_sums_with_beta_zero_ignore_nan_in_input():
    nan = np.full((2, 4), np.nan)
    check(lambda m, i, a, b: m.addmm(i, a, b, beta=0), nan, rand(2, 3), rand(3, 4))
    check(lambda m, i, a, v: m.addmv(i, a, v, beta=0), nan[0, :2], rand(2, 3), rand(3))
    check(lambda m, i, a, b: m.addr(i, a, b, beta=0), nan[:, :3], rand(2), rand(3))
    check(lambda m, i, a, b: m.baddbmm(i, a, b, beta=0), nan[:1], rand(1, 1, 3), rand(1, 3, 4))
    check(lambda m, i, a, b: m.addbmm(i, a, b, beta=0), nan, rand(2, 2, 3), rand(2, 3, 4))


@pytest.mark.parametrize("kw", SCALES[:3], ids=str)
@pytest.mark.parametrize("si", [(2,), (1,), ()])
def test_addmv(si, kw):
    f = lambda m, i, a, v: m.addmv(i, a, v, **kw)
    check(f, rand(*si), rand(2, 3), rand(3), gradgrad=True)
    g = lambda m, i, a, v: i.addmv(a, v, **kw)
    check(g, rand(*si, dtype=np.float32), rand(2, 3, dtype=np.float32), rand(3, dtype=np.float32))


@pytest.mark.parametrize("kw", SCALES[:3], ids=str)
@pytest.mark.parametrize("si", [(2, 3), (3,), (2, 1), ()])
def test_addr(si, kw):
    f = lambda m, i, a, b: m.addr(i, a, b, **kw)
    check(f, rand(*si), rand(2), rand(3), gradgrad=True)
    g = lambda m, i, a, b: i.addr(a, b, **kw)
    check(g, rand(*si, dtype=np.float32), rand(2, dtype=np.float32), rand(3, dtype=np.float32))


def test_addr_promotes_and_empty():
    check(lambda m, i, a, b: m.addr(i, a, b), rand(2, 3, dtype=np.float32), rand(2), rand(3))
    # values only: PyTorch's own backward of a mixed-dtype addr fails (it calls addmv)
    f = lambda m, i, a, b: m.addr(i, a, b, alpha=2)
    check(f, randint(5, 2, 3), randint(5, 2), rand(3), grad=False)
    check(lambda m, i, a, b: m.addr(i, a, b), rand(0, 3), rand(0), rand(3), gradgrad=True)


@pytest.mark.parametrize("kw", SCALES[:3], ids=str)
@pytest.mark.parametrize("si", [(2, 3, 4), (3, 4), (4,), (2, 1, 4), ()])
def test_baddbmm(si, kw):
    f = lambda m, i, a, b: m.baddbmm(i, a, b, **kw)
    check(f, rand(*si), rand(2, 3, 5), rand(2, 5, 4), gradgrad=True)
    g = lambda m, i, a, b: i.baddbmm(a, b, **kw)
    f32 = [rand(*s, dtype=np.float32) for s in (si, (2, 3, 5), (2, 5, 4))]
    check(g, *f32)


@pytest.mark.parametrize("kw", SCALES[:3], ids=str)
@pytest.mark.parametrize("si", [(3, 4), (4,), (3, 1), ()])
def test_addbmm(si, kw):
    f = lambda m, i, a, b: m.addbmm(i, a, b, **kw)
    check(f, rand(*si), rand(2, 3, 5), rand(2, 5, 4), gradgrad=True)
    g = lambda m, i, a, b: i.addbmm(a, b, **kw)
    f32 = [rand(*s, dtype=np.float32) for s in (si, (2, 3, 5), (2, 5, 4))]
    check(g, *f32)


def test_batched_scaled_sums_empty_and_int():
    check(lambda m, i, a, b: m.addbmm(i, a, b), rand(3, 4), rand(0, 3, 2), rand(0, 2, 4), gradgrad=True)  # fmt: skip
    check(lambda m, i, a, b: m.baddbmm(i, a, b), rand(0, 3, 4), rand(0, 3, 2), rand(0, 2, 4), gradgrad=True)  # fmt: skip
    check(lambda m, i, a, b: m.addbmm(i, a, b), rand(3, 4), rand(2, 3, 0), rand(2, 0, 4))
    ints = [randint(5, *s, dtype=np.int32) for s in ((3, 4), (2, 3, 5), (2, 5, 4))]
    check(lambda m, i, a, b: m.addbmm(i, a, b, alpha=2), *ints)
    check(lambda m, i, a, b: m.baddbmm(i, a, b, beta=3), *ints)


SCALED_ERRORS = [
    ("addmm_inner", lambda m, i, a, b: m.addmm(i, a, b), [(2, 4), (2, 3), (2, 4)], "addmm: cannot multiply (2, 3) by (2, 4): size 3 of dim 1 of mat1 must equal size 2 of dim 0 of mat2"),
    ("addmm_1d", lambda m, i, a, b: m.addmm(i, a, b), [(4,), (3,), (3, 4)], "addmm: expected mat1 to be a 2-D matrix, received shape (3,)"),
    ("addmm_input", lambda m, i, a, b: m.addmm(i, a, b), [(3, 5), (2, 3), (3, 4)], "addmm: input of shape (3, 5) cannot be broadcast to the shape (2, 4) of the product"),
    ("addmm_input_ndim", lambda m, i, a, b: m.addmm(i, a, b), [(2, 1, 4), (2, 3), (3, 4)], "addmm: input of shape (2, 1, 4) cannot be broadcast"),
    ("addmm_dtype", lambda m, i, a, b: m.addmm(i.float(), a, b), [(2, 4), (2, 3), (3, 4)], "addmm: expected both operands to have the same dtype, received float64 and float32"),
    ("addmm_beta", lambda m, i, a, b: m.addmm(i, a, b, beta=None), [(2, 4), (2, 3), (3, 4)], "addmm: expected beta to be a number, received NoneType"),
    ("addmv_size", lambda m, i, a, v: m.addmv(i, a, v), [(2,), (2, 3), (4,)], "addmv: cannot multiply (2, 3) by (4,)"),
    ("addmv_2d_vec", lambda m, i, a, v: m.addmv(i, a, v), [(2,), (2, 3), (3, 1)], "addmv: expected a 2-D mat and a 1-D vec, received shapes (2, 3) and (3, 1)"),
    ("addmv_dtype", lambda m, i, a, v: m.addmv(i, a, v.float()), [(2,), (2, 3), (3,)], "addmv: expected both operands to have the same dtype"),
    ("addr_2d", lambda m, i, a, b: m.addr(i, a, b), [(2, 3), (2, 1), (3,)], "addr: expected vec1 to be 1-D, received shape (2, 1)"),
    ("addr_input", lambda m, i, a, b: m.addr(i, a, b), [(3, 3), (2,), (3,)], "addr: input of shape (3, 3) cannot be broadcast to the shape (2, 3)"),
    ("baddbmm_batch", lambda m, i, a, b: m.baddbmm(i, a, b), [(3, 4), (2, 3, 5), (3, 5, 4)], "baddbmm: cannot multiply (2, 3, 5) by (3, 5, 4): expected batch2 of shape (2, 5, m)"),
    ("baddbmm_2d", lambda m, i, a, b: m.baddbmm(i, a, b), [(3, 4), (3, 5), (5, 4)], "baddbmm: expected batch1 to be a 3-D tensor, received shape (3, 5)"),
    ("baddbmm_input", lambda m, i, a, b: m.baddbmm(i, a, b), [(3, 2, 3, 4), (2, 3, 5), (2, 5, 4)], "baddbmm: input of shape (3, 2, 3, 4) cannot be broadcast to the shape (2, 3, 4)"),
    ("addbmm_inner", lambda m, i, a, b: m.addbmm(i, a, b), [(3, 4), (2, 3, 5), (2, 4, 4)], "addbmm: cannot multiply (2, 3, 5) by (2, 4, 4)"),
    ("addbmm_input", lambda m, i, a, b: m.addbmm(i, a, b), [(5, 4), (2, 3, 5), (2, 5, 4)], "addbmm: input of shape (5, 4) cannot be broadcast to the shape (3, 4)"),
]  # fmt: skip


@pytest.mark.parametrize("f,shapes,match", [c[1:] for c in SCALED_ERRORS], ids=[c[0] for c in SCALED_ERRORS])  # fmt: skip
def test_scaled_sum_errors(f, shapes, match):
    check_raises(f, *[rand(*s) for s in shapes], match=match)


# ---------------------------------------------------------------- tensordot, inner, kron, cross
TENSORDOT_CASES = [
    ((3, 4, 5), (4, 5, 2), 2), ((3, 4), (4, 2), 1), ((2, 3), (4, 5), 0), ((2, 3, 4), (2, 3, 4), 3),
    ((3, 4, 5), (4, 3, 2), ([1, 0], [0, 1])), ((2, 3), (3, 2), ((1,), (0,))), ((2, 3), (2, 3), ([-1], [-1])),
    ((2, 1, 4), (3, 4), ([1, 2], [0, 1])), ((2, 3, 4), (1, 4), ([1, 2], [0, 1])), ((0, 3), (3, 2), 1),
    ((2, 0), (0, 3), 1), ((), (), 0), ((), (2,), 0),
]  # fmt: skip


@pytest.mark.parametrize("sa,sb,dims", TENSORDOT_CASES, ids=str)
def test_tensordot(sa, sb, dims):
    check(lambda m, a, b: m.tensordot(a, b, dims), rand(*sa), rand(*sb), gradgrad=True)
    check(lambda m, a, b: m.tensordot(a, b, dims=dims), rand(*sa, dtype=np.float32),
          rand(*sb, dtype=np.float32))  # fmt: skip


def test_tensordot_default_int_and_tensor_dims():
    check(lambda m, a, b: m.tensordot(a, b), rand(2, 3, 4), rand(3, 4, 2), gradgrad=True)
    check(lambda m, a, b: m.tensordot(a, b, 1), randint(5, 2, 3), randint(5, 3, 2))
    check(lambda m, a, b: m.tensordot(a, b, m.tensor([[1], [0]])), rand(2, 3), rand(3, 2))
    check(lambda m, a, b: m.tensordot(a, b, m.tensor(1)), rand(2, 3), rand(3, 2))


def test_tensordot_errors():
    a, b = rand(2, 3), rand(4, 2)
    check_raises(lambda m, a, b: m.tensordot(a, b, 1), a, b, match="tensordot: contracted dimensions must match, but a has size 3 in dim 1 and b has size 4 in dim 0")  # fmt: skip
    check_raises(lambda m, a, b: m.tensordot(a, b, 3), a, b, match="tensordot: expected dims in [0, 2] for tensors of shapes (2, 3) and (4, 2), received dims=3")  # fmt: skip
    check_raises(lambda m, a, b: m.tensordot(a, b, -1), a, b, match="received dims=-1")
    check_raises(lambda m, a, b: m.tensordot(a, b, ([1], [0, 1])), a, b, match="tensordot: both lists of dims must have the same length, received 1 and 2 dims")  # fmt: skip
    check_raises(lambda m, a, b: m.tensordot(a, b, ([1, 1], [0, 0])), a, b, match="tensordot: dim 1 appears more than once in dims of a [1, 1]")  # fmt: skip
    check_raises(lambda m, a, b: m.tensordot(a, b, ([0, 1], [-1, 1])), a, b, match="tensordot: dim 1 appears more than once in dims of b [-1, 1]")  # fmt: skip
    check_raises(lambda m, a, b: m.tensordot(a, b, ([1],)), a, b, match="tensordot: expected dims as an int or as two lists of dims")  # fmt: skip
    check_raises(lambda m, a, b: m.tensordot(a, b, "a"), a, b, match="tensordot: expected dims as an int or as two lists of dims, received str")  # fmt: skip
    check_raises(lambda m, a, b: m.tensordot(a, b.float(), 0), a, b, match="tensordot: expected both operands to have the same dtype")  # fmt: skip
    err = check_raises(lambda m, a, b: m.tensordot(a, b, ([2], [0])), a, b, match="tensordot: dim 2 is out of range")  # fmt: skip
    assert isinstance(err, EmberIndexError)


INNER_CASES = [((3,), (3,)), ((2, 3), (4, 3)), ((2, 1, 3), (3,)), ((), (2, 3)), ((2, 3), ()),
               ((0, 3), (2, 3)), ((2, 0), (3, 0)), ((), ())]  # fmt: skip


@pytest.mark.parametrize("sa,sb", INNER_CASES, ids=str)
def test_inner(sa, sb):
    check(lambda m, a, b: m.inner(a, b), rand(*sa), rand(*sb), gradgrad=True)
    check(lambda m, a, b: a.inner(b), rand(*sa, dtype=np.float32), rand(*sb, dtype=np.float32))


def test_inner_dtypes_and_errors():
    check(lambda m, a, b: m.inner(a, b), randint(5, 2, 3), randint(5, 3))
    check(lambda m, a, b: m.inner(a, b), rand(dtype=np.float32), rand(2))  # 0-d: promotes
    check_raises(lambda m, a, b: m.inner(a, b), rand(2, 3), rand(4, 2), match="inner: the last dimension must match on both inputs, received shapes (2, 3) and (4, 2)")  # fmt: skip
    check_raises(lambda m, a, b: m.inner(a, b), rand(2, 3), rand(3, dtype=np.float32), match="inner: expected both operands to have the same dtype")  # fmt: skip


KRON_CASES = [((2, 3), (3, 2)), ((2,), (3, 2)), ((2, 2, 1), (3,)), ((), ()), ((), (2,)),
              ((0, 2), (2, 3)), ((1, 1), (2, 2))]  # fmt: skip


@pytest.mark.parametrize("sa,sb", KRON_CASES, ids=str)
def test_kron(sa, sb):
    check(lambda m, a, b: m.kron(a, b), rand(*sa), rand(*sb), gradgrad=True)
    check(lambda m, a, b: a.kron(b), rand(*sa, dtype=np.float32), rand(*sb, dtype=np.float32))


def test_kron_promotes():
    check(lambda m, a, b: m.kron(a, b), rand(2, 3, dtype=np.float32), rand(3))
    check(lambda m, a, b: m.kron(a, b), randint(5, 3), rand(2, dtype=np.float32))
    check(lambda m, a, b: m.kron(a, b), randint(5, 3, dtype=np.int32), randint(5, 2, 2))


CROSS_CASES = [((4, 3), (4, 3), 1), ((3,), (3,), 0), ((2, 3, 4), (1, 3, 4), 1), ((2, 3), (2, 3), -1),
               ((3, 1), (3, 5), 0), ((0, 3), (1, 3), 1)]  # fmt: skip


@pytest.mark.parametrize("sa,sb,dim", CROSS_CASES, ids=str)
def test_cross(sa, sb, dim):
    check(lambda m, a, b: m.cross(a, b, dim), rand(*sa), rand(*sb), gradgrad=True)
    f = lambda m, a, b: a.cross(b, dim=dim)
    check(f, rand(*sa, dtype=np.float32), rand(*sb, dtype=np.float32))


@pytest.mark.filterwarnings("ignore:Using torch.cross without:UserWarning")
def test_cross_without_dim_takes_the_first_dim_of_size_3_and_warns():
    with pytest.warns(UserWarning, match="cross: calling cross without dim is deprecated"):
        check(lambda m, a, b: m.cross(a, b), rand(2, 3, 3), rand(2, 3, 3), gradgrad=True)
    with pytest.warns(UserWarning):
        check(lambda m, a, b: m.cross(a, b), randint(5, 3, 2), randint(5, 3, 2))


@pytest.mark.filterwarnings("ignore:Using torch.cross without:UserWarning")
def test_cross_errors():
    check_raises(lambda m, a, b: m.cross(a, b, dim=1), rand(2, 4), rand(2, 4), match="cross: dim 1 must have size 3 in both inputs, received sizes 4 and 4")  # fmt: skip
    check_raises(lambda m, a, b: m.cross(a, b, dim=1), rand(2, 1), rand(2, 3), match="received sizes 1 and 3")  # fmt: skip
    check_raises(lambda m, a, b: m.cross(a, b, dim=1), rand(2, 3), rand(5, 3), match="cross: cannot broadcast shapes (2, 3) and (5, 3)")  # fmt: skip
    check_raises(lambda m, a, b: m.cross(a, b, dim=-1), rand(3), rand(2, 3), match="cross: expected both inputs to have the same number of dims, received shapes (3,) and (2, 3)")  # fmt: skip
    check_raises(lambda m, a, b: m.cross(a, b, dim=1), rand(2, 3), rand(2, 3, dtype=np.float32), match="cross: expected both operands to have the same dtype")  # fmt: skip
    with pytest.warns(UserWarning):
        check_raises(lambda m, a, b: m.cross(a, b), rand(2, 4), rand(2, 4), match="cross: no dimension of size 3 in inputs of shapes (2, 4) and (2, 4)")  # fmt: skip


# ---------------------------------------------------------------- block_diag, cartesian_prod
BLOCK_DIAG_CASES = [[(2, 3), (), (2,), (0, 2), (2, 0)], [(2, 2)], [(1, 1), (3, 2)], [(3,)], [()]]


@pytest.mark.parametrize("shapes", BLOCK_DIAG_CASES, ids=str)
def test_block_diag(shapes):
    check(lambda m, *xs: m.block_diag(*xs), *[rand(*s) for s in shapes], gradgrad=True)
    check(lambda m, *xs: m.block_diag(*xs), *[rand(*s, dtype=np.float32) for s in shapes])


def test_block_diag_promotes_and_takes_no_tensors():
    check(lambda m, a, b: m.block_diag(a, b), rand(2, 2, dtype=np.float32), rand(1, 3))
    check(lambda m, a, b: m.block_diag(a, b), randint(5, 2, 2, dtype=np.int32), randint(5, 3))
    check(lambda m, a, b: m.block_diag(a, b), randint(5, 2), rand(2, dtype=np.float32))
    check(lambda m: m.block_diag())


def test_block_diag_errors():
    check_raises(lambda m, a, b: m.block_diag(a, b), rand(2), rand(2, 3, 4), match="block_diag: expected tensors of at most 2 dims, received shape (2, 3, 4) at position 1")  # fmt: skip
    check_raises(lambda m, a: m.block_diag(a, 1.0), rand(2), match="block_diag: expected tensor 1 to be a Tensor, received float")  # fmt: skip


@pytest.mark.parametrize("shapes", [[(2,), (3,)], [(2,), (3,), (2,)], [(0,), (2,)], [(1,), (1,)]], ids=str)  # fmt: skip
def test_cartesian_prod(shapes):
    check(lambda m, *xs: m.cartesian_prod(*xs), *[rand(*s) for s in shapes], gradgrad=True)
    check(lambda m, *xs: m.cartesian_prod(*xs), *[randint(5, *s) for s in shapes])


def test_cartesian_prod_of_one_tensor_is_that_tensor():
    check(lambda m, x: m.cartesian_prod(x), rand(3), gradgrad=True)
    x = ember.ones(3)
    assert ember.cartesian_prod(x) is x


def test_cartesian_prod_errors():
    check_raises(lambda m, a, b: m.cartesian_prod(a, b), rand(2), rand(2, 2), match="cartesian_prod: expected 1-D tensors, received shape (2, 2) at position 1")  # fmt: skip
    check_raises(lambda m, a, b: m.cartesian_prod(a, b), rand(), rand(2), match="received shape () at position 0")  # fmt: skip
    check_raises(lambda m, a, b: m.cartesian_prod(a, b), rand(2), rand(2, dtype=np.float32), match="cartesian_prod: expected all tensors to have the same dtype, received float64 at position 0 and float32 at position 1")  # fmt: skip
    check_raises(lambda m: m.cartesian_prod(), match="cartesian_prod: expected at least one tensor")


def _under_autocast(fn):
    def f(m, *args):
        with m.autocast("cpu", dtype=m.bfloat16):
            return fn(m, *args)

    return f


@pytest.mark.parametrize(
    "fn,shapes",
    [
        (lambda m, i, a, b: m.addmm(i, a, b), [(4,), (3, 2), (2, 4)]),
        (lambda m, i, a, b: m.baddbmm(i, a, b, alpha=0.5), [(3, 4), (2, 3, 2), (2, 2, 4)]),
        (lambda m, i, a, b: m.addbmm(i, a, b), [(3, 4), (2, 3, 2), (2, 2, 4)]),
        (lambda m, a, b: m.tensordot(a, b, ([1, 0], [0, 1])), [(3, 2, 4), (2, 3)]),
        (lambda m, a, b: m.inner(a, b), [(3, 4), (2, 4)]),
        (lambda m, a, v: m.mv(a, v), [(3, 4), (4,)]),  # float32 in PyTorch: no cast
    ],
    ids=["addmm", "baddbmm", "addbmm", "tensordot", "inner", "mv"],
)
def test_products_under_autocast(fn, shapes):
    # PyTorch's CPU autocast runs these in bfloat16 (as mm and bmm), mv in float32; the
    # gradients come back in float32
    args = [rand(*s, dtype=np.float32) for s in shapes]
    check(_under_autocast(fn), *args, rtol=3e-2, atol=3e-2)
