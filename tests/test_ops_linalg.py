import numpy as np
import pytest

import ember
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
