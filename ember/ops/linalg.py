"""Linear algebra: matmul, mm, bmm, dot, outer, einsum."""

from __future__ import annotations

from ember.amp import autocast_args
from ember.amp import state as _amp
from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.ops._util import check_tensor, promote, tensor_method
from ember.tensor import Tensor

__all__ = ["bmm", "dot", "einsum", "ger", "matmul", "mm", "outer"]


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
        y = get_array_module(a).matmul(a, b)
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
    for name, t in (("input", input), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(
                f"mm: expected {name} to be a 2-D matrix, received shape {tuple(t.shape)}"
            )
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(
            f"mm: cannot multiply {tuple(input.shape)} by {tuple(mat2.shape)}: size "
            f"{input.shape[1]} of dim 1 of the first must equal size {mat2.shape[0]} of dim 0 "
            "of the second"
        )
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
    for name, t in (("input", input), ("mat2", mat2)):
        if t.ndim != 3:
            raise RuntimeError(
                f"bmm: expected {name} to be a 3-D tensor, received shape {tuple(t.shape)}"
            )
    (b1, _, k1), (b2, k2, _) = input.shape, mat2.shape
    if b1 != b2 or k1 != k2:
        raise RuntimeError(
            f"bmm: cannot multiply {tuple(input.shape)} by {tuple(mat2.shape)}: expected mat2 of "
            f"shape ({b1}, {k1}, m) (the same batch size, and size {k1} in dim 1)"
        )
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
