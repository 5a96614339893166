"""Linear algebra: matmul, mm, bmm, mv, dot, outer, inner, tensordot, kron, cross, einsum,
the scaled sums addmm, addmv, addr, baddbmm, addbmm, and diagonals: diag, diagonal, trace,
block_diag, cartesian_prod."""

from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from ember import dtypes
from ember.amp import autocast_args
from ember.amp import state as _amp
from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.kernels import gemm
from ember.ops._util import check_tensor, is_number, promote, tensor_method
from ember.ops.elementwise import broadcast_shape
from ember.ops.shape import _check_vectors, expand, meshgrid, permute, reshape, roll, stack
from ember.tensor import Tensor, _wrap_dim

__all__ = [
    "addbmm", "addmm", "addmv", "addr", "baddbmm", "block_diag", "bmm", "cartesian_prod",
    "cross", "diag", "diagonal", "dot", "einsum", "ger", "inner", "kron", "matmul", "mm", "mv",
    "outer", "tensordot", "trace",
]  # fmt: skip


def _same_dtype(op: str, a: Tensor, b: Tensor) -> None:
    # PyTorch does not promote the operands of its matrix products; it rejects a mix.
    if a.dtype is not b.dtype:
        raise RuntimeError(
            f"{op}: expected both operands to have the same dtype, received {a.dtype.name} "
            f"and {b.dtype.name}; convert one with .to()"
        )
    if a.dtype.name == "bool":
        raise TypeError(f"{op}: not supported for bool tensors; convert them with .float()")


# ---------------------------------------------------------------- matmul
class Matmul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a_vec, ctx.b_vec = a.ndim == 1, b.ndim == 1
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)  # fmt: skip
        y = gemm.matmul(a, b)  # (NumPy's or CuPy's own product where ember's does not apply)
        # NumPy multiplies bfloat16 (ml_dtypes) matrices in float32; the result is bfloat16
        return y if y.dtype == a.dtype else y.astype(a.dtype)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.a_vec and ctx.b_vec:  # a dot product
            return (gy * b if b is not None else None), (gy * a if a is not None else None)
        if b is not None:
            if ctx.b_vec:  # (..., n, k) @ (k,) -> (..., n)
                ga = gy.unsqueeze(-1) * b
            elif ctx.a_vec:  # (k,) @ (..., k, m) -> (..., m)
                ga = (gy.unsqueeze(-2) @ b.transpose(-1, -2)).squeeze(-2)
            else:
                ga = gy @ b.transpose(-1, -2)
        if a is not None:
            if ctx.a_vec:
                gb = a.unsqueeze(-1) * gy.unsqueeze(-2)
            elif ctx.b_vec:
                gb = (a.transpose(-1, -2) @ gy.unsqueeze(-1)).squeeze(-1)
            else:
                gb = a.transpose(-1, -2) @ gy
        return ga, gb  # the engine sums broadcast batch dims back down


def _broadcasts(s1: tuple, s2: tuple) -> bool:
    return all(a == b or a == 1 or b == 1 for a, b in zip(reversed(s1), reversed(s2)))


@tensor_method
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with PyTorch's semantics: 1-D operands are vectors (a 1 is put in
    front of the first / behind the second, then removed), leading batch dimensions
    broadcast. ``(..., n, k) @ (..., k, m) -> (..., n, m)``.

    Example::

        y = ember.matmul(ember.randn(8, 2, 3), ember.randn(3, 4))  # (8, 2, 4)
    """
    if _amp.on:
        input, other = autocast_args("matmul", input, other)
    check_tensor(input, "matmul")
    check_tensor(other, "matmul", "other")
    sa, sb = tuple(input.shape), tuple(other.shape)
    if not sa or not sb:
        raise RuntimeError(
            f"matmul: both arguments need at least 1 dimension, received shapes {sa} and {sb}"
        )
    k1 = sa[-1]
    k2 = sb[-2] if len(sb) > 1 else sb[0]
    if k1 != k2:
        raise RuntimeError(
            f"matmul: cannot multiply {sa} by {sb}: size {k1} of dim -1 of the first must "
            f"equal size {k2} of dim {-2 if len(sb) > 1 else -1} of the second"
        )
    if len(sa) > 2 or len(sb) > 2:
        ba, bb = sa[:-2], sb[:-2]
        if not _broadcasts(ba, bb):
            raise RuntimeError(
                f"matmul: cannot multiply {sa} by {sb}: the batch dimensions {ba} and {bb} "
                "do not broadcast"
            )
    _same_dtype("matmul", input, other)
    return Matmul.apply(input, other)


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)


@tensor_method
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices: ``(n, k) @ (k, m) -> (n, m)``; no broadcasting."""
    if _amp.on:
        input, mat2 = autocast_args("mm", input, mat2)
    check_tensor(input, "mm")
    check_tensor(mat2, "mm", "mat2")
    _check_mm("mm", input, mat2, ("input", "mat2"))
    _same_dtype("mm", input, mat2)
    return Matmul.apply(input, mat2)


@tensor_method
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of 3-D tensors: ``(b, n, k) @ (b, k, m) -> (b, n, m)``; the
    batch sizes must be equal (no broadcasting)."""
    if _amp.on:
        input, mat2 = autocast_args("bmm", input, mat2)
    check_tensor(input, "bmm")
    check_tensor(mat2, "bmm", "mat2")
    _check_bmm("bmm", input, mat2, ("input", "mat2"))
    _same_dtype("bmm", input, mat2)
    return Matmul.apply(input, mat2)


@tensor_method
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same size and dtype; a 0-d result."""
    if _amp.on:
        input, tensor = autocast_args("dot", input, tensor)
    check_tensor(input, "dot")
    check_tensor(tensor, "dot", "tensor")
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(
            f"dot: expected two 1-D tensors, received shapes {tuple(input.shape)} and "
            f"{tuple(tensor.shape)}"
        )
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(
            f"dot: the tensors must have the same number of elements, received {input.shape[0]} "
            f"and {tensor.shape[0]}"
        )
    _same_dtype("dot", input, tensor)
    return Matmul.apply(input, tensor)


@tensor_method
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors: ``(n,), (m,) -> (n, m)``; dtypes promote."""
    check_tensor(input, "outer")
    check_tensor(vec2, "outer", "vec2")
    for name, t in (("input", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: expected {name} to be 1-D, received shape {tuple(t.shape)}")
    (a, b), _ = promote("outer", input, vec2)
    return a.unsqueeze(1) * b


@tensor_method
def ger(input: Tensor, vec2: Tensor) -> Tensor:
    """Alias of ``outer``."""
    return outer(input, vec2)


@tensor_method
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Product of a matrix and a vector: ``(n, m) @ (m,) -> (n,)``; no broadcasting.

    Example: ``ember.mv(ember.ones(2, 3), ember.ones(3))`` is ``tensor([3., 3.])``.
    """
    if _amp.on:
        input, vec = autocast_args("mv", input, vec)
    check_tensor(input, "mv")
    check_tensor(vec, "mv", "vec")
    _check_mv("mv", input, vec, ("input", "vec"))
    _same_dtype("mv", input, vec)
    return Matmul.apply(input, vec)


def _check_mm(op: str, a: Tensor, b: Tensor, names=("mat1", "mat2")) -> None:
    for name, t in zip(names, (a, b)):
        if t.ndim != 2:
            raise RuntimeError(
                f"{op}: expected {name} to be a 2-D matrix, received shape {tuple(t.shape)}"
            )
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"{op}: cannot multiply {tuple(a.shape)} by {tuple(b.shape)}: size {a.shape[1]} of "
            f"dim 1 of {names[0]} must equal size {b.shape[0]} of dim 0 of {names[1]}"
        )


def _check_mv(op: str, m: Tensor, v: Tensor, names=("mat", "vec")) -> None:
    if m.ndim != 2 or v.ndim != 1:
        raise RuntimeError(
            f"{op}: expected a 2-D {names[0]} and a 1-D {names[1]}, received shapes "
            f"{tuple(m.shape)} and {tuple(v.shape)}"
        )
    if m.shape[1] != v.shape[0]:
        raise RuntimeError(
            f"{op}: cannot multiply {tuple(m.shape)} by {tuple(v.shape)}: size {m.shape[1]} of "
            f"dim 1 of {names[0]} must equal the size {v.shape[0]} of {names[1]}"
        )


def _check_bmm(op: str, a: Tensor, b: Tensor, names=("batch1", "batch2")) -> None:
    for name, t in zip(names, (a, b)):
        if t.ndim != 3:
            raise RuntimeError(
                f"{op}: expected {name} to be a 3-D tensor, received shape {tuple(t.shape)}"
            )
    (b1, _, k1), (b2, k2, _) = a.shape, b.shape
    if b1 != b2 or k1 != k2:
        raise RuntimeError(
            f"{op}: cannot multiply {tuple(a.shape)} by {tuple(b.shape)}: expected {names[1]} of "
            f"shape ({b1}, {k1}, m) (the same batch size, and size {k1} in dim 1)"
        )


# ---------------------------------------------------------------- addmm and its family
def _int_arg(op: str, name: str, value) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{op}: expected {name} to be an int, received a bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"{op}: expected {name} to be an int, received {type(value).__name__}"
        ) from None


def _scalar_arg(op: str, name: str, value):
    if not is_number(value):
        raise TypeError(f"{op}: expected {name} to be a number, received {type(value).__name__}")
    return value


def _scaled_sum(op: str, input: Tensor, product: Tensor, beta, alpha) -> Tensor:
    """``beta * input + alpha * product``, ``input`` broadcast to the product's shape. With
    ``beta=0`` the input is ignored, nan and inf included, as in PyTorch."""
    _scalar_arg(op, "beta", beta)
    _scalar_arg(op, "alpha", alpha)
    out, shape = tuple(product.shape), tuple(input.shape)
    if len(shape) > len(out) or any(
        n not in (1, m) for n, m in zip(reversed(shape), reversed(out))
    ):
        raise RuntimeError(
            f"{op}: input of shape {shape} cannot be broadcast to the shape {out} of the product"
        )
    y = product if alpha == 1 else product * alpha
    if beta == 0:
        return y
    return (input if beta == 1 else input * beta) + y


def _same_dtypes(op: str, *ts: Tensor) -> None:
    for t in ts[1:]:
        _same_dtype(op, ts[0], t)


def _product_operands(op: str, rule: str, check, **named: Tensor) -> list:
    """The input and the two factors of ``op`` (beta * input + alpha * product), named as
    the op names them: autocast by ``rule``'s cast, checked as tensors, the factors' shapes
    by ``check``, all three of one dtype."""
    ts = list(named.values())
    if _amp.on:
        ts = list(autocast_args(rule, *ts))
    for name, t in zip(named, ts):
        check_tensor(t, op, name)
    check(op, ts[1], ts[2])
    _same_dtypes(op, ts[1], ts[2], ts[0])
    return ts


@tensor_method
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``: ``mat1`` (n, k), ``mat2`` (k, m), ``input``
    broadcast to (n, m); all three of one dtype. ``beta=0`` ignores ``input``.

    Example: ``ember.addmm(bias, x, w.t())`` is a linear layer.
    """
    input, mat1, mat2 = _product_operands(
        "addmm", "mm", _check_mm, input=input, mat1=mat1, mat2=mat2
    )  # autocast as mm
    return _scaled_sum("addmm", input, Matmul.apply(mat1, mat2), beta, alpha)


@tensor_method
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``: ``mat`` (n, m), ``vec`` (m,), ``input``
    broadcast to (n,); all three of one dtype. ``beta=0`` ignores ``input``."""
    input, mat, vec = _product_operands("addmv", "addmv", _check_mv, input=input, mat=mat, vec=vec)
    return _scaled_sum("addmv", input, Matmul.apply(mat, vec), beta, alpha)


@tensor_method
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``: ``vec1`` (n,), ``vec2`` (m,), ``input``
    broadcast to (n, m); the dtypes promote. ``beta=0`` ignores ``input``."""
    for name, t in (("input", input), ("vec1", vec1), ("vec2", vec2)):
        check_tensor(t, "addr", name)
    for name, t in (("vec1", vec1), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"addr: expected {name} to be 1-D, received shape {tuple(t.shape)}")
    (input, vec1, vec2), _ = promote("addr", input, vec1, vec2)
    return _scaled_sum("addr", input, vec1.unsqueeze(1) * vec2, beta, alpha)


@tensor_method
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``: ``batch1`` (b, n, k), ``batch2``
    (b, k, m), ``input`` broadcast to (b, n, m); all of one dtype. ``beta=0`` ignores
    ``input``. Example: attention scores with a mask, ``ember.baddbmm(mask, q, k.mT)``."""
    input, batch1, batch2 = _product_operands(
        "baddbmm", "bmm", _check_bmm, input=input, batch1=batch1, batch2=batch2
    )  # autocast as bmm
    return _scaled_sum("baddbmm", input, Matmul.apply(batch1, batch2), beta, alpha)


@tensor_method
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum_i batch1[i] @ batch2[i]``: ``batch1`` (b, n, k), ``batch2``
    (b, k, m), ``input`` broadcast to (n, m); all of one dtype. ``beta=0`` ignores ``input``."""
    input, batch1, batch2 = _product_operands(
        "addbmm", "bmm", _check_bmm, input=input, batch1=batch1, batch2=batch2
    )  # autocast as bmm
    (b, n, k), m = batch1.shape, batch2.shape[2]
    # The sum of the b products is one product over the joined (b, k) dims.
    a = reshape(permute(batch1, (1, 0, 2)), (n, b * k))
    return _scaled_sum("addbmm", input, Matmul.apply(a, reshape(batch2, (b * k, m))), beta, alpha)


# ---------------------------------------------------------------- tensordot, inner, kron, cross
def _dim_list(dims, ndim: int, op: str, which: str) -> list:
    if isinstance(dims, int) and not isinstance(dims, bool):
        dims = [dims]
    try:
        out = [_wrap_dim(operator.index(d), ndim, op) for d in dims]
    except TypeError:
        raise TypeError(f"{op}: expected {which} to be ints, received {dims!r}") from None
    for d in out:
        if out.count(d) > 1:
            raise RuntimeError(f"{op}: dim {d} appears more than once in {which} {list(dims)}")
    return out


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Sum the products of ``a`` and ``b`` over the pairs of dims in ``dims``: an int ``d``
    (the last ``d`` dims of ``a`` with the first ``d`` of ``b``) or two lists of dims. The
    result has the remaining dims of ``a``, then those of ``b``. A contracted dim of size 1
    broadcasts.

    Example::

        ember.tensordot(a, b, dims=([1, 0], [0, 1]))   # a (3, 4, 5), b (4, 3, 2) -> (5, 2)
    """
    if _amp.on:
        a, b = autocast_args("mm", a, b)  # as the product it is made of, as in PyTorch
    check_tensor(a, "tensordot", "a")
    check_tensor(b, "tensordot", "b")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (list, tuple)):
        if len(dims) != 2:
            raise RuntimeError(
                f"tensordot: expected dims as an int or as two lists of dims, received {dims!r}"
            )
        da = _dim_list(dims[0], a.ndim, "tensordot", "dims of a")
        db = _dim_list(dims[1], b.ndim, "tensordot", "dims of b")
        if len(da) != len(db):
            raise RuntimeError(
                f"tensordot: both lists of dims must have the same length, received {len(da)} "
                f"and {len(db)} dims"
            )
    else:
        if isinstance(dims, bool) or not isinstance(dims, (int, np.integer)):
            raise TypeError(
                "tensordot: expected dims as an int or as two lists of dims, received "
                f"{type(dims).__name__}"
            )
        d = int(dims)
        if not 0 <= d <= min(a.ndim, b.ndim):
            raise RuntimeError(
                f"tensordot: expected dims in [0, {min(a.ndim, b.ndim)}] for tensors of shapes "
                f"{tuple(a.shape)} and {tuple(b.shape)}, received dims={d}"
            )
        da, db = list(range(a.ndim - d, a.ndim)), list(range(d))
    _same_dtype("tensordot", a, b)
    for i, j in zip(da, db):
        n, m = a.shape[i], b.shape[j]
        if m == 1 and n != 1:  # a broadcast dim can be summed away at once
            a = a.sum(i, keepdim=True, dtype=a.dtype)
        elif n == 1 and m != 1:
            b = b.sum(j, keepdim=True, dtype=b.dtype)
        elif n != m:
            raise RuntimeError(
                f"tensordot: contracted dimensions must match, but a has size {n} in dim {i} "
                f"and b has size {m} in dim {j}"
            )
    free_a = [i for i in range(a.ndim) if i not in da]
    free_b = [j for j in range(b.ndim) if j not in db]
    shape_a, shape_b = [a.shape[i] for i in free_a], [b.shape[j] for j in free_b]
    k = math.prod(a.shape[i] for i in da)
    a2 = reshape(permute(a, free_a + da), (math.prod(shape_a), k))
    b2 = reshape(permute(b, db + free_b), (k, math.prod(shape_b)))
    return reshape(Matmul.apply(a2, b2), tuple(shape_a + shape_b))


@tensor_method
def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum of the products over the last dim of both: ``(..a, k), (..b, k) -> (..a, ..b)``;
    the dot product of 1-D tensors. A 0-d operand multiplies the other elementwise.

    Example: ``ember.inner(ember.ones(2, 3), ember.ones(4, 3))`` has shape (2, 4), all 3.
    """
    check_tensor(input, "inner")
    check_tensor(other, "inner", "other")
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            "inner: the last dimension must match on both inputs, received shapes "
            f"{tuple(input.shape)} and {tuple(other.shape)}"
        )
    _same_dtype("inner", input, other)
    return tensordot(input, other, ([-1], [-1]))


@tensor_method
def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: block ``(i, j, …)`` of the result is ``input[i, j, …] * other``,
    of shape ``input.shape * other.shape`` dim by dim (the shorter shape padded with leading
    1s); the dtypes promote.

    Example: ``ember.kron(ember.eye(2), m)`` puts ``m`` twice on a block diagonal.
    """
    check_tensor(input, "kron")
    check_tensor(other, "kron", "other")
    (a, b), _ = promote("kron", input, other)
    n = max(a.ndim, b.ndim)
    sa = (1,) * (n - a.ndim) + tuple(a.shape)
    sb = (1,) * (n - b.ndim) + tuple(b.shape)
    # (a0, 1, a1, 1, …) * (1, b0, 1, b1, …) -> (a0, b0, a1, b1, …) -> (a0 b0, a1 b1, …)
    y = reshape(a, sum(((s, 1) for s in sa), ())) * reshape(b, sum(((1, s) for s in sb), ()))
    return reshape(y, tuple(p * q for p, q in zip(sa, sb)))


@tensor_method
def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (of size 3 in both); the other dims
    broadcast. ``dim=None`` (deprecated, as in PyTorch) takes the first dim of size 3.

    Example: ``ember.cross(ember.tensor([1., 0, 0]), ember.tensor([0., 1, 0]), dim=0)`` is
    ``tensor([0., 0., 1.])``.
    """
    check_tensor(input, "cross")
    check_tensor(other, "cross", "other")
    _same_dtype("cross", input, other)
    if input.ndim != other.ndim:
        raise RuntimeError(
            "cross: expected both inputs to have the same number of dims, received shapes "
            f"{tuple(input.shape)} and {tuple(other.shape)}"
        )
    shape = broadcast_shape("cross", tuple(input.shape), tuple(other.shape))
    if dim is None:
        warnings.warn(
            "cross: calling cross without dim is deprecated (as in PyTorch); it uses the first "
            "dim of size 3; pass dim explicitly",
            UserWarning,
            stacklevel=2,
        )
        d = next((i for i, n in enumerate(shape) if n == 3), None)
        if d is None:
            raise RuntimeError(
                f"cross: no dimension of size 3 in inputs of shapes {tuple(input.shape)} and "
                f"{tuple(other.shape)}"
            )
    else:
        d = _wrap_dim(dim, len(shape), "cross")
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(
            f"cross: dim {d} must have size 3 in both inputs, received sizes {input.shape[d]} "
            f"and {other.shape[d]} (shapes {tuple(input.shape)} and {tuple(other.shape)})"
        )
    a, b = expand(input, shape), expand(other, shape)
    # c_i = a_{i+1} b_{i+2} - a_{i+2} b_{i+1}, indices modulo 3: rolls of the whole dim
    return roll(a, -1, d) * roll(b, -2, d) - roll(a, -2, d) * roll(b, -1, d)


# ---------------------------------------------------------------- diagonals
def _diagonal_view(a, offset, dim1, dim2):
    d = get_array_module(a).diagonal(a, offset, dim1, dim2)
    flags = d.flags
    if not getattr(flags, "writeable", True) and a.flags.writeable:
        # NumPy hands the diagonal back read-only to warn off writes; PyTorch's is writable
        flags.writeable = True
    return d


class Diagonal(Function):
    """The diagonal ``offset`` of the planes of dims ``dim1`` and ``dim2``, as the last dim: a
    view of the input (or a copy, for ``diag``)."""

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2, copy=False):
        ctx.shape, ctx.args = x.shape, (offset, dim1, dim2)
        y = _diagonal_view(x, offset, dim1, dim2)
        return y.copy() if copy else y

    @staticmethod
    def backward(ctx, gy):
        return DiagonalScatter.apply(gy, ctx.shape, *ctx.args)


class DiagonalScatter(Function):
    """Zeros of ``shape`` with ``y`` written on a diagonal: Diagonal's gradient, and ``diag``
    of a vector."""

    @staticmethod
    def forward(ctx, y, shape, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        x = get_array_module(y).zeros(shape, y.dtype)
        _diagonal_view(x, offset, dim1, dim2)[...] = y
        return x

    @staticmethod
    def backward(ctx, gx):
        return Diagonal.apply(gx, *ctx.args, True)


@tensor_method
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the planes of dims ``dim1`` and ``dim2`` (above the main one for
    ``offset`` > 0, below for < 0), as a view whose last dim runs along it.

    Example: for ``x`` of shape (2, 3, 3), ``x.diagonal(dim1=1, dim2=2)`` has shape (2, 3).
    """
    check_tensor(input, "diagonal")
    offset = _int_arg("diagonal", "offset", offset)
    d1, d2 = _wrap_dim(dim1, input.ndim, "diagonal"), _wrap_dim(dim2, input.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(
            f"diagonal: dim1 and dim2 must be different dims, received dim1={dim1} and "
            f"dim2={dim2} for a tensor of shape {tuple(input.shape)}"
        )
    return Diagonal.apply(input, offset, d1, d2)


@tensor_method
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D ``input`` made the ``diagonal``-th diagonal of a square matrix of zeros, or the
    ``diagonal``-th diagonal of a 2-D ``input`` (a copy).

    Example: ``ember.diag(ember.tensor([1., 2.]))`` is ``tensor([[1., 0.], [0., 2.]])``.
    """
    check_tensor(input, "diag")
    k = _int_arg("diag", "diagonal", diagonal)
    if input.ndim == 1:
        n = input.shape[0] + abs(k)
        return DiagonalScatter.apply(input, (n, n), k, 0, 1)
    if input.ndim == 2:
        return Diagonal.apply(input, k, 0, 1, True)
    raise RuntimeError(
        f"diag: expected a 1-D or 2-D tensor, received a {input.ndim}-D tensor of shape "
        f"{tuple(input.shape)}"
    )


@tensor_method
def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor (int64 for integer inputs, as ``sum``)."""
    check_tensor(input, "trace")
    if input.ndim != 2:
        raise RuntimeError(
            f"trace: expected a 2-D matrix, received a {input.ndim}-D tensor of shape "
            f"{tuple(input.shape)}"
        )
    if input.dtype is dtypes.bool_:
        raise TypeError("trace: not supported for bool tensors; convert them with .int()")
    return Diagonal.apply(input, 0, 0, 1).sum()


class BlockDiag(Function):
    """The 2-D blocks ``xs`` on the diagonal of a matrix of zeros."""

    @staticmethod
    def forward(ctx, *xs):
        ctx.shapes = [x.shape for x in xs]
        blocks = [x.reshape(x.shape if x.ndim == 2 else (1, -1)) for x in xs]
        rows, cols = sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)
        y = get_array_module(xs[0]).zeros((rows, cols), xs[0].dtype)
        r = c = 0
        for b in blocks:
            y[r : r + b.shape[0], c : c + b.shape[1]] = b
            r, c = r + b.shape[0], c + b.shape[1]
        return y

    @staticmethod
    def backward(ctx, gy):
        grads, r, c = [], 0, 0
        for shape, need in zip(ctx.shapes, ctx.needs_input_grad):
            n, m = shape if len(shape) == 2 else (1, math.prod(shape))
            grads.append(gy[r : r + n, c : c + m].reshape(shape) if need else None)
            r, c = r + n, c + m
        return tuple(grads)


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (each 0-, 1- or 2-D; a 1-D one is a row) as blocks along the diagonal of a
    matrix of zeros; the dtypes promote.

    Example: ``ember.block_diag(a, b)`` of shapes (2, 3) and (1, 2) has shape (3, 5).
    """
    for i, x in enumerate(tensors):
        check_tensor(x, "block_diag", f"tensor {i}")
        if x.ndim > 2:
            raise RuntimeError(
                f"block_diag: expected tensors of at most 2 dims, received shape "
                f"{tuple(x.shape)} at position {i}"
            )
    if not tensors:
        dt = dtypes.get_default_dtype()
        return Tensor._make(np.zeros((1, 0), dt.np))
    dt = dtypes.result_type(*tensors)
    return BlockDiag.apply(*(x if x.dtype is dt else x.to(dt) for x in tensors))


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element from each 1-D tensor, one per row, in the order of
    nested loops (the last tensor fastest): shape ``(n0 * n1 * …, len(tensors))``. One tensor
    comes back as it is.

    Example: ``ember.cartesian_prod(ember.tensor([1, 2]), ember.tensor([3, 4]))`` is
    ``tensor([[1, 3], [1, 4], [2, 3], [2, 4]])``.
    """
    if not tensors:
        raise ValueError("cartesian_prod: expected at least one tensor")
    for i, x in enumerate(tensors):
        check_tensor(x, "cartesian_prod", f"tensor {i}")
    _check_vectors("cartesian_prod", tensors, "1-D", (1,))
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


# ---------------------------------------------------------------- einsum
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class Einsum(Function):
    """``terms``: the subscripts of each operand and ``out`` those of the result, all
    explicit letters (the public function resolves ellipses and implicit output)."""

    @staticmethod
    def forward(ctx, spec, *operands):
        terms, out = spec
        xp = get_array_module(operands[0])
        eq = ",".join(terms) + "->" + out
        if operands[0].dtype.kind == "V":  # NumPy's einsum has no bfloat16: via float32
            f32 = [o.astype(xp.float32) for o in operands]
            y = xp.einsum(eq, *f32, optimize=len(operands) > 1).astype(operands[0].dtype)
        else:
            y = xp.einsum(eq, *operands, optimize=len(operands) > 1)
        if len(operands) == 1 and y.base is not None:
            y = y.copy()  # a diagonal or transpose comes back as a view; ours owns its data
        ctx.spec = spec
        ctx.shapes = [o.shape for o in operands]
        ctx.save_for_backward(*(o if any(ctx.needs_input_grad[1:i + 1] + ctx.needs_input_grad[i + 2:])
                                else None for i, o in enumerate(operands)))  # fmt: skip
        return y

    @staticmethod
    def backward(ctx, gy):
        terms, out = ctx.spec
        ops = ctx.saved_tensors
        grads = [None]
        for i, term in enumerate(terms):
            grads.append(_einsum_grad(i, terms, out, ops, gy, ctx.shapes[i])
                         if ctx.needs_input_grad[i + 1] else None)  # fmt: skip
        return tuple(grads)


def _einsum_grad(i, terms, out, ops, gy, shape):
    """The gradient of operand ``i``: the einsum of ``gy`` with the other operands whose
    result carries operand ``i``'s subscripts."""
    xp = get_array_module(gy._data)
    used = set("".join(terms) + out)
    fresh = (c for c in _LETTERS if c not in used)
    in_terms, in_ops = [out], [gy]
    for j, (t, o) in enumerate(zip(terms, ops)):
        if j != i:
            in_terms.append(t)
            in_ops.append(o)
    # A subscript repeated within operand i (a diagonal, a trace) gets a fresh letter for
    # each repeat, tied to the first by an identity matrix: the gradient lands on the
    # diagonal only.
    target, seen = [], set()
    for c, n in zip(terms[i], shape):
        if c in seen:
            f = next(fresh)
            in_terms.append(c + f)
            in_ops.append(Tensor._make(xp.eye(n, dtype=gy._data.dtype)))
            target.append(f)
        else:
            seen.add(c)
            target.append(c)
    # A subscript summed away within operand i alone: its gradient is broadcast along it.
    have = set("".join(in_terms))
    for c, n in zip(terms[i], shape):
        if c not in have:
            in_terms.append(c)
            in_ops.append(Tensor._make(xp.ones(n, dtype=gy._data.dtype)))
            have.add(c)
    gx = Einsum.apply((tuple(in_terms), "".join(target)), *in_ops)
    if gx.shape != tuple(shape):  # a size-1 subscript of operand i broadcast elsewhere
        gx = gx.expand(tuple(max(a, b) for a, b in zip(gx.shape, shape)))
    return gx


def _parse_einsum(equation: str, operands) -> tuple:
    """Resolve an equation into explicit letters for each operand and the output; check
    the subscripts against the operands' shapes."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(
            f"einsum: the equation {equation!r} names {len(terms)} operand(s), but "
            f"{len(operands)} were given"
        )
    for t in terms + ([rhs] if arrow else []):
        rest = t.replace("...", "", 1)
        bad = [c for c in rest if c not in _LETTERS]
        if bad:
            raise ValueError(
                f"einsum: invalid subscript {bad[0]!r} in {equation!r}; subscripts must be "
                "letters in [a-zA-Z], with at most one '...' per operand"
            )
    used = set(eq) & set(_LETTERS)
    n_ell = 0
    for t, x in zip(terms, operands):
        explicit = len(t.replace("...", ""))
        if "..." in t:
            if x.ndim < explicit:
                raise ValueError(
                    f"einsum: operand of shape {tuple(x.shape)} has {x.ndim} dimension(s), "
                    f"fewer than the {explicit} subscripts in {t!r}"
                )
            n_ell = max(n_ell, x.ndim - explicit)
        elif x.ndim != explicit:
            raise ValueError(
                f"einsum: the subscripts {t!r} name {explicit} dimension(s), but the operand "
                f"has shape {tuple(x.shape)} ({x.ndim} dimension(s))"
            )
    spare = [c for c in _LETTERS if c not in used]
    if n_ell > len(spare):
        raise ValueError(f"einsum: too many dimensions ({n_ell}) under '...'")
    ell = "".join(spare[:n_ell])
    resolved = []
    for t, x in zip(terms, operands):
        if "..." in t:
            k = x.ndim - len(t.replace("...", ""))
            t = t.replace("...", ell[n_ell - k :])
        resolved.append(t)
    if arrow:
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise ValueError(
                    f"einsum: output subscript {c!r} appears more than once in {equation!r}"
                )
            if c not in "".join(resolved):
                raise ValueError(
                    f"einsum: output subscript {c!r} does not appear in any operand's "
                    f"subscripts in {equation!r}"
                )
    else:
        joined = "".join(terms)
        out = ell + "".join(
            sorted(c for c in set(joined) if c in _LETTERS and joined.count(c) == 1)
        )
    sizes = {}
    for j, (t, x) in enumerate(zip(resolved, operands)):
        own = {}
        for c, n in zip(t, x.shape):
            if c in own and own[c] != n:
                raise ValueError(
                    f"einsum: subscript {c!r} is repeated in operand {j} but its sizes differ, "
                    f"{own[c]} != {n} (shape {tuple(x.shape)})"
                )
            own[c] = n
            seen = sizes.get(c)
            if seen is not None and seen != n and seen != 1 and n != 1:
                raise ValueError(
                    f"einsum: subscript {c!r} has size {n} in operand {j} (shape "
                    f"{tuple(x.shape)}), which does not broadcast with size {seen} seen before"
                )
            sizes[c] = n if seen in (None, 1) else seen
    return tuple(resolved), out


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation: ``einsum("bij,bjk->bik", a, b)``. Subscripts are letters; ``...``
    stands for broadcast leading dimensions; without ``->`` the output holds the subscripts
    that appear once, in alphabetical order. The operands may also be given as one list.

    Example::

        ember.einsum("ii->", m)            # trace
        ember.einsum("bhqd,bhkd->bhqk", q, k)
    """
    if not isinstance(equation, str):
        raise TypeError(
            f"einsum: expected the equation as a str, received {type(equation).__name__}"
        )
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: expected at least one operand")
    if _amp.on:
        operands = autocast_args("einsum", *operands)
    for k, x in enumerate(operands):
        check_tensor(x, "einsum", f"operand {k}")
    for x in operands[1:]:
        if x.dtype is not operands[0].dtype:
            raise RuntimeError(
                "einsum: expected all operands to have the same dtype, received "
                f"{', '.join(o.dtype.name for o in operands)}"
            )
    spec = _parse_einsum(equation, operands)
    return Einsum.apply(spec, *operands)
