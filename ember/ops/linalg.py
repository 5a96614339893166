"""Linear algebra: matmul, bmm, einsum, outer."""

from __future__ import annotations

from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.ops._util import check_tensor, promote, tensor_method
from ember.tensor import Tensor

__all__ = ["matmul"]


class Matmul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)  # fmt: skip
        return get_array_module(a).matmul(a, b)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        ga = gb = None
        if a_is_vec(ctx) and b_is_vec(ctx):  # a dot product
            return (gy * b if b is not None else None), (gy * a if a is not None else None)
        if b is not None:
            if b.ndim == 1:  # (..., n) @ (n,) -> (...)
                ga = gy.unsqueeze(-1) * b
            elif a_is_vec(ctx):
                ga = (gy.unsqueeze(-2) @ b.transpose(-1, -2)).squeeze(-2)
            else:
                ga = gy @ b.transpose(-1, -2)
        if a is not None:
            if a.ndim == 1:  # (n,) @ (..., n, m) -> (..., m)
                gb = a.unsqueeze(-1) * gy.unsqueeze(-2)
            elif b_is_vec(ctx):
                gb = (a.transpose(-1, -2) @ gy.unsqueeze(-1)).squeeze(-1)
            else:
                gb = a.transpose(-1, -2) @ gy
        return ga, gb


def a_is_vec(ctx):
    return len(ctx._in_meta[0][0]) == 1


def b_is_vec(ctx):
    return len(ctx._in_meta[1][0]) == 1


@tensor_method
def matmul(input, other) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics: 1-D operands are vectors, leading
    dimensions broadcast. (..., n, k) @ (..., k, m) -> (..., n, m)."""
    check_tensor(input, "matmul")
    check_tensor(other, "matmul", "other")
    if input.ndim == 0 or other.ndim == 0:
        raise RuntimeError(
            f"matmul: both arguments need at least 1 dimension, received shapes "
            f"{tuple(input.shape)} and {tuple(other.shape)}"
        )
    k1 = input.shape[-1]
    k2 = other.shape[-2] if other.ndim > 1 else other.shape[0]
    if k1 != k2:
        raise RuntimeError(
            f"matmul: cannot multiply {tuple(input.shape)} by {tuple(other.shape)}: size {k1} "
            f"of dim -1 of the first must equal size {k2} of dim "
            f"{-2 if other.ndim > 1 else -1} of the second"
        )
    (a, b), _ = promote("matmul", input, other)
    return Matmul.apply(a, b)


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
