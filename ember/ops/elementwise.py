"""Elementwise ops: arithmetic, comparisons, logical and bitwise ops, math functions and
activations, with PyTorch's broadcasting, type promotion and derivative conventions."""

from __future__ import annotations

import math

import numpy as np

from ember import backend, dtypes, kernels
from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.kernels import nn as knn
from ember.ops._util import check_tensor, is_number, promote, quiet, tensor_method
from ember.tensor import Tensor

__all__ = [
    "abs", "add", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "ceil", "clamp",
    "clip", "clone", "cos", "div", "eq", "erf", "exp", "expm1", "floor", "floor_divide", "ge",
    "gt", "isfinite", "isinf", "isnan", "le", "log", "log1p", "logical_and", "logical_not",
    "logical_or", "logical_xor", "lt", "maximum", "minimum", "mul", "ne", "neg", "pow", "relu",
    "relu_", "remainder", "round", "rsqrt", "sigmoid", "sign", "sin", "sqrt", "sub", "tanh",
    "true_divide", "where",
]  # fmt: skip

# NumPy warns about inf/nan results (1/0, log(0), exp(1000)); PyTorch returns them silently.
# A decorator: np.errstate(all="ignore") around each call, at a quarter of its cost.
_quiet = quiet


# ---------------------------------------------------------------- helpers
_ORDINALS = ("first", "second", "third", "fourth")


def broadcast_shape(op: str, *shapes) -> tuple:
    """The shape that arrays of ``shapes`` broadcast to, or a RuntimeError naming ``op``,
    the shapes and the first dimension that does not match."""
    first = shapes[0]
    if all(s == first for s in shapes[1:]):
        return first
    ndim = len(max(shapes, key=len))
    out = []
    for d in range(-1, -ndim - 1, -1):
        size, owner = 1, 0
        for k, s in enumerate(shapes):
            n = s[d] if -d <= len(s) else 1
            if n == 1:
                continue
            if size != 1 and n != size:
                listed = ", ".join(str(tuple(s)) for s in shapes[:-1]) + f" and {tuple(shapes[-1])}"
                raise RuntimeError(
                    f"{op}: cannot broadcast shapes {listed}: size {size} of dim {d} of the "
                    f"{_ORDINALS[owner]} does not match size {n} of the {_ORDINALS[k]}"
                )
            size, owner = n, k
        out.append(size)
    return tuple(reversed(out))


def _check_shapes(op, operands):
    shapes = [x._data.shape for x in operands if isinstance(x, Tensor)]
    if len(shapes) > 1:
        broadcast_shape(op, *shapes)


@_quiet  # casting a Python number may overflow (1e300 to float32 is inf)
def _scalar(value, dt: dtypes.dtype, like: Tensor) -> Tensor:
    """A Python number as a 0-d tensor of ``dt`` on ``like``'s device (ints wrap as in torch)."""
    xp = get_array_module(like._data)
    return Tensor._make(xp.asarray(value).astype(dt.np))


def _prepare(op, *operands, dtype=None):
    """Check that the tensor operands broadcast, promote everything to the result dtype
    (differentiably) and turn Python numbers into 0-d tensors. Returns (tensors, dtype)."""
    _check_shapes(op, operands)
    ops, dt = promote(op, *operands, dtype=dtype)
    like = next(x for x in ops if isinstance(x, Tensor))
    return tuple(x if isinstance(x, Tensor) else _scalar(x, dt, like) for x in ops), dt


_PY_NUMBERS = (int, float)  # compared by exact type: bool (a subclass of int) promotes otherwise


def _no_promotion(op, a, b) -> bool:
    """True when ``a`` and ``b`` can go to a binary op's forward as they are, with nothing to
    promote, cast or wrap: the fast path of ``add``, ``sub``, ``mul`` and ``div``, taken
    instead of ``_prepare`` in its two commonest cases, where the two are equivalent:

    - two Tensors of one floating dtype: the result type is that dtype, so nothing is cast,
      and only shapes that differ need the broadcast check;
    - a floating Tensor and a Python int or float: the number is weak, so the result keeps
      the tensor's dtype; the number goes to forward as it is, and NumPy (whose Python numbers
      are weak too) casts it to that dtype exactly as ``_scalar`` would.
    """
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            x, y = a._data, b._data
            dt = x.dtype
            if dt is y.dtype and dt.kind == "f":
                if x.shape != y.shape:
                    broadcast_shape(op, x.shape, y.shape)
                return True
            return False
        return type(b) in _PY_NUMBERS and a._data.dtype.kind == "f"
    return type(a) in _PY_NUMBERS and isinstance(b, Tensor) and b._data.dtype.kind == "f"


def _check_types(op, operands):
    for x in operands:
        if not isinstance(x, Tensor) and not is_number(x):
            raise TypeError(
                f"{op}: expected Tensors or Python numbers, received {type(x).__name__}"
            )
    if not any(isinstance(x, Tensor) for x in operands):
        raise TypeError(f"{op}: expected at least one Tensor, received only Python numbers")


@_quiet
def _raw_operands(op, *operands):
    """Like ``_prepare`` for ops without gradients: the arrays, cast to the result dtype."""
    _check_types(op, operands)
    tensors = [x for x in operands if isinstance(x, Tensor)]
    _check_shapes(op, operands)
    if len({type(t._data) for t in tensors}) > 1:
        devs = ", ".join(str(t.device) for t in tensors)
        raise RuntimeError(f"{op}: expected all tensors on the same device, received {devs}")
    dt = dtypes.result_type(*operands)
    xp = get_array_module(tensors[0]._data)
    arrays = []
    for x in operands:
        a = x._data if isinstance(x, Tensor) else xp.asarray(x)
        arrays.append(a if a.dtype == dt.np else a.astype(dt.np))
    return arrays, dt, xp


def _result(y) -> Tensor:
    """A tensor of an op's raw result, outside the graph (NumPy gives 0-d results as scalars)."""
    return Tensor._make(np.asarray(y) if isinstance(y, np.generic) else y)


def _zeros_like(t: Tensor) -> Tensor:
    """Zeros outside the graph: the gradient of a step function."""
    return Tensor._make(get_array_module(t._data).zeros_like(t._data))


def _float_input(x, op):
    """Math functions compute in floating point: integer and bool inputs become the default
    dtype, as in PyTorch (``exp`` of an int64 tensor is float32)."""
    if isinstance(x, Tensor) and x._data.dtype.kind in "fV":
        return x  # the common case first
    check_tensor(x, op)
    if x._data.dtype.kind not in "fV":
        return x.to(dtypes.get_default_dtype())
    return x


def _float_only(x, op):
    check_tensor(x, op)
    if x._data.dtype.kind not in "fV":
        raise TypeError(f"{op}: expected a floating-point tensor, received {x.dtype}")
    return x


def _no_bool(x, op, what="bool tensors are not supported"):
    if x._data.dtype.kind == "b":
        raise RuntimeError(f"{op}: {what}")


# ---------------------------------------------------------------- casts and copies
class ToDtype(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x, dtype):
        return x.astype(dtype.np)

    @staticmethod
    def backward(ctx, gy):
        return gy  # the engine casts it back to the input's dtype


def to_dtype(x: Tensor, dtype: dtypes.dtype) -> Tensor:
    if x._data.dtype == dtype.np:
        return x
    return ToDtype.apply(x, dtype)


class ToDevice(Function):
    @staticmethod
    def forward(ctx, x, device):
        ctx.src = backend.device_of(x)
        return backend.to_device(x, device)

    @staticmethod
    def backward(ctx, gy):
        return to_device(gy, ctx.src)


def to_device(x: Tensor, device) -> Tensor:
    if x.device == device:
        return x
    backend.array_module(device)  # a clear error when the device is unavailable
    return ToDevice.apply(x, device)


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, gy):
        return gy


@tensor_method
def clone(input: Tensor) -> Tensor:
    """A copy of ``input`` with its own memory; gradients flow back to ``input``."""
    return Clone.apply(input)


# ---------------------------------------------------------------- arithmetic
class Add(Function):
    @staticmethod
    @_quiet
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, gy):
        return gy, gy


class Sub(Function):
    @staticmethod
    @_quiet
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, gy):
        return gy, -gy


class Mul(Function):
    @staticmethod
    @_quiet
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)  # fmt: skip
        return a * b

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        return (gy * b if b is not None else None), (gy * a if a is not None else None)


class Div(Function):
    @staticmethod
    @_quiet
    def forward(ctx, a, b):
        y = a / b
        ctx.save_for_backward(b, y if ctx.needs_input_grad[1] else None)
        return y

    @staticmethod
    def backward(ctx, gy):
        b, y = ctx.saved_tensors
        ga = gy / b if ctx.needs_input_grad[0] else None
        gb = -gy * (y / b) if ctx.needs_input_grad[1] else None  # PyTorch's association
        return ga, gb


def _check_int_divisor(op, b):
    if b.dtype.kind in "iu" and (b == 0).any():
        raise RuntimeError(f"{op}: integer division by zero")


class DivMode(Function):
    """Division rounded toward zero ('trunc') or down ('floor'); a step function of its
    inputs, so its gradient is zero (as in PyTorch)."""

    @staticmethod
    @_quiet
    def forward(ctx, a, b, mode):
        xp = get_array_module(a)
        if mode == "floor":
            return xp.floor_divide(a, b)
        if a.dtype.kind in "fV":
            return xp.trunc(a / b)
        q = xp.floor_divide(a, b)
        # floor and trunc differ when the exact quotient is negative and not an integer
        return q + ((xp.remainder(a, b) != 0) & ((a < 0) != (b < 0)))

    @staticmethod
    def backward(ctx, gy):
        return _zeros_like(gy), _zeros_like(gy), None


class Remainder(Function):
    @staticmethod
    @_quiet
    def forward(ctx, a, b):
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        return get_array_module(a).remainder(a, b)

    @staticmethod
    def backward(ctx, gy):
        gb = None
        if ctx.needs_input_grad[1]:
            a, b = ctx.saved_tensors
            gb = -gy * floor_divide(a, b)
        return gy, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, gy):
        return -gy


def _int_power(xp, a, b):
    """Integer a ** b with PyTorch's rule for negative exponents (NumPy raises): 1 ** -k = 1,
    (-1) ** -k = ±1, anything else ** -k = 0 (the integer part of 1 / a ** k)."""
    neg = b < 0
    if not neg.any():
        return xp.power(a, b)
    y = xp.power(a, xp.where(neg, 0, b).astype(b.dtype))
    odd = (b % 2) != 0
    inv = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0))
    return xp.where(neg, inv, y).astype(y.dtype)


class Pow(Function):
    """a ** b for two tensors (a Python base arrives as a 0-d tensor)."""

    @staticmethod
    @_quiet
    def forward(ctx, a, b):
        xp = get_array_module(a)
        y = _int_power(xp, a, b) if a.dtype.kind in "iu" else xp.power(a, b)
        ctx.save_for_backward(a, b, y if ctx.needs_input_grad[1] else None)
        return y

    @staticmethod
    def backward(ctx, gy):
        a, b, y = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            # PyTorch's convention: zero where the exponent is 0 (even at a = 0)
            ga = where(b == 0, 0.0, gy * (b * a ** (b - 1)))
        if ctx.needs_input_grad[1]:
            # ... and zero where a = 0 and b >= 0, instead of 0 * log(0) = nan
            gb = gy * where((a == 0) & (b >= 0), 0.0, y * log(a))
        return ga, gb


class PowScalar(Function):
    """x ** c for a Python number c (no gradient for c, no log needed)."""

    @staticmethod
    @_quiet
    def forward(ctx, x, c):
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)
        ctx.c = c
        if x.dtype.kind == "b":  # NumPy has no bool power; PyTorch keeps bool ** bool bool
            return (x.astype(np.uint8) ** c).astype(x.dtype)
        return x**c

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        c = ctx.c
        if c == 0:
            return _zeros_like(gy)
        return gy * (c * x ** (c - 1))


def _alpha_times(op, b, alpha, dt):
    if isinstance(alpha, bool) and dt is not dtypes.bool_:
        raise RuntimeError(f"{op}: a bool alpha is only supported for bool inputs, received {dt}")
    if not dt.is_floating_point and isinstance(alpha, float):
        raise RuntimeError(
            f"{op}: for integer inputs alpha must be an integer, received alpha={alpha}"
        )
    if isinstance(b, Tensor):
        b = mul(b, alpha)
        return b if b.dtype is dt else b.to(dt)
    return b * alpha


def _add_sub(cls, op, input, other, alpha):
    _check_shapes(op, (input, other))
    (a, b), dt = promote(op, input, other)
    if alpha is True or alpha is False or alpha != 1:  # True == 1, but must be checked
        b = _alpha_times(op, b, alpha, dt)
    like = a if isinstance(a, Tensor) else b
    a = a if isinstance(a, Tensor) else _scalar(a, dt, like)
    b = b if isinstance(b, Tensor) else _scalar(b, dt, like)
    return cls.apply(a, b)


def _is_bool(x) -> bool:
    return isinstance(x, bool) or (isinstance(x, Tensor) and x._data.dtype.kind == "b")


@tensor_method
def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other``, elementwise, with broadcasting and type promotion.

    Example: ``ember.add(x, y)`` or ``x + y``; shapes (2, 1, 3) and (4, 3) give (2, 4, 3).
    """
    if type(alpha) is int and alpha == 1 and _no_promotion("add", input, other):
        return Add.apply(input, other)
    return _add_sub(Add, "add", input, other, alpha)


@tensor_method
def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other``; bool operands are rejected (use ``^`` or ``logical_xor``)."""
    if type(alpha) is int and alpha == 1 and _no_promotion("sub", input, other):
        return Sub.apply(input, other)  # floating operands: never bool
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError(
            "sub: subtraction with a bool operand is not supported; to invert a mask use ~ "
            "or logical_not(), for the difference of two masks use ^ or logical_xor()"
        )
    return _add_sub(Sub, "sub", input, other, alpha)


@tensor_method
def mul(input, other) -> Tensor:
    """``input * other``, elementwise, with broadcasting and type promotion."""
    if _no_promotion("mul", input, other):
        return Mul.apply(input, other)
    (a, b), _ = _prepare("mul", input, other)
    return Mul.apply(a, b)


_ROUNDING_MODES = (None, "trunc", "floor")


@tensor_method
def div(input, other, *, rounding_mode=None) -> Tensor:
    """``input / other``, elementwise. ``rounding_mode=None`` is true division (integer
    inputs give the default float dtype); ``'trunc'`` rounds toward zero and ``'floor'``
    down, keeping integer dtypes. Example: ``ember.div(x, 2, rounding_mode='floor')``."""
    if rounding_mode not in _ROUNDING_MODES:
        raise ValueError(
            f"div: rounding_mode must be None, 'trunc' or 'floor', received {rounding_mode!r}"
        )
    if rounding_mode is not None:
        return _div_mode("div", input, other, rounding_mode)
    if _no_promotion("div", input, other):  # floating operands: true division keeps the dtype
        return Div.apply(input, other)
    _check_types("div", (input, other))
    dt = dtypes.result_type(input, other)
    if not dt.is_floating_point:
        dt = dtypes.get_default_dtype()
    (a, b), _ = _prepare("div", input, other, dtype=dt)
    return Div.apply(a, b)


@tensor_method
def true_divide(input, other) -> Tensor:
    """``input / other``: ``div`` without rounding."""
    return div(input, other)


def _div_mode(op, input, other, mode):
    (a, b), dt = _prepare(op, input, other)
    if dt is dtypes.bool_:
        raise RuntimeError(f"{op}: rounding division is not supported for bool tensors")
    _check_int_divisor(op, b._data)
    return DivMode.apply(a, b, mode)


@tensor_method
def floor_divide(input, other) -> Tensor:
    """``input // other``: division rounded down (``div(..., rounding_mode='floor')``).
    Its gradient is zero (PyTorch raises instead when asked for it)."""
    return _div_mode("floor_divide", input, other, "floor")


@tensor_method
def remainder(input, other) -> Tensor:
    """``input % other`` as in Python: the result has the sign of ``other``;
    ``input - floor_divide(input, other) * other``."""
    (a, b), dt = _prepare("remainder", input, other)
    if dt is dtypes.bool_:
        raise RuntimeError("remainder: not supported for bool tensors")
    _check_int_divisor("remainder", b._data)
    return Remainder.apply(a, b)


@tensor_method
def neg(input) -> Tensor:
    """``-input``; bool tensors are rejected (use ``~`` or ``logical_not``)."""
    check_tensor(input, "neg")
    _no_bool(input, "neg", "negation of a bool tensor is not supported; use ~ or logical_not()")
    return Neg.apply(input)


@tensor_method
def pow(input, exponent) -> Tensor:
    """``input ** exponent``, elementwise: tensor ** number, number ** tensor or tensor **
    tensor, with broadcasting and type promotion. Example: ``ember.pow(x, 2)``, ``2 ** x``."""
    if isinstance(input, Tensor) and is_number(exponent):
        (x, c), dt = promote("pow", input, exponent)
        if not dt.is_floating_point and not isinstance(c, bool) and c < 0:
            raise RuntimeError(
                f"pow: integers to negative integer powers are not allowed; received a {dt} "
                f"tensor and exponent {c}"
            )
        return PowScalar.apply(x, c)
    (a, b), dt = _prepare("pow", input, exponent)
    if dt is dtypes.bool_:
        raise RuntimeError("pow: not supported for two bool tensors")
    return Pow.apply(a, b)


# ---------------------------------------------------------------- comparisons, logic, bits
def _compare(op, fn, input, other):
    (a, b), _, xp = _raw_operands(op, input, other)
    return _result(getattr(xp, fn)(a, b))


@tensor_method
def eq(input, other) -> Tensor:
    """``input == other``, elementwise, as a bool tensor (no gradient)."""
    return _compare("eq", "equal", input, other)


@tensor_method
def ne(input, other) -> Tensor:
    """``input != other``, elementwise, as a bool tensor."""
    return _compare("ne", "not_equal", input, other)


@tensor_method
def lt(input, other) -> Tensor:
    """``input < other``, elementwise, as a bool tensor."""
    return _compare("lt", "less", input, other)


@tensor_method
def le(input, other) -> Tensor:
    """``input <= other``, elementwise, as a bool tensor."""
    return _compare("le", "less_equal", input, other)


@tensor_method
def gt(input, other) -> Tensor:
    """``input > other``, elementwise, as a bool tensor."""
    return _compare("gt", "greater", input, other)


@tensor_method
def ge(input, other) -> Tensor:
    """``input >= other``, elementwise, as a bool tensor."""
    return _compare("ge", "greater_equal", input, other)


def _logical(op, fn, input, other):
    check_tensor(input, op)
    check_tensor(other, op, "other")
    _check_shapes(op, (input, other))
    a, b = input._data, other._data
    if type(a) is not type(b):
        raise RuntimeError(
            f"{op}: expected both tensors on the same device, received {input.device} and "
            f"{other.device}"
        )
    return _result(getattr(get_array_module(a), fn)(a, b))


@tensor_method
def logical_and(input, other) -> Tensor:
    """True where both are nonzero; any dtypes, a bool result."""
    return _logical("logical_and", "logical_and", input, other)


@tensor_method
def logical_or(input, other) -> Tensor:
    """True where either is nonzero; any dtypes, a bool result."""
    return _logical("logical_or", "logical_or", input, other)


@tensor_method
def logical_xor(input, other) -> Tensor:
    """True where exactly one is nonzero; any dtypes, a bool result."""
    return _logical("logical_xor", "logical_xor", input, other)


@tensor_method
def logical_not(input) -> Tensor:
    """True where ``input`` is zero; a bool result."""
    check_tensor(input, "logical_not")
    return _result(get_array_module(input._data).logical_not(input._data))


def _bitwise(op, fn, *operands):
    arrays, dt, xp = _raw_operands(op, *operands)
    if dt.is_floating_point:
        raise TypeError(f"{op}: expected bool or integer tensors, received {dt}")
    return _result(getattr(xp, fn)(*arrays))


@tensor_method
def bitwise_and(input, other) -> Tensor:
    """``input & other`` for bool or integer tensors (logical and for bools)."""
    return _bitwise("bitwise_and", "bitwise_and", input, other)


@tensor_method
def bitwise_or(input, other) -> Tensor:
    """``input | other`` for bool or integer tensors."""
    return _bitwise("bitwise_or", "bitwise_or", input, other)


@tensor_method
def bitwise_xor(input, other) -> Tensor:
    """``input ^ other`` for bool or integer tensors."""
    return _bitwise("bitwise_xor", "bitwise_xor", input, other)


@tensor_method
def bitwise_not(input) -> Tensor:
    """``~input``: bitwise not of integers, logical not of bools."""
    check_tensor(input, "bitwise_not")
    return _bitwise("bitwise_not", "invert", input)


# ---------------------------------------------------------------- math
class Abs(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)
        return get_array_module(x).abs(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * sign(x)  # sign(0) = 0, so abs'(0) = 0


class Step(Function):
    """A piecewise-constant function (sign, floor, ceil, round): its gradient is zero."""

    @staticmethod
    @_quiet
    def forward(ctx, x, fn):
        return fn(get_array_module(x), x)

    @staticmethod
    def backward(ctx, gy):
        return _zeros_like(gy), None


class Exp(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        y = get_array_module(x).exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * y


class Log(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / x


class Log1p(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log1p(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / (x + 1)


class Expm1(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        y = get_array_module(x).expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * (y + 1)


class Sqrt(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        y = get_array_module(x).sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy / (2 * y)


class Rsqrt(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        y = 1 / get_array_module(x).sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * (-0.5 * y**3)


class Sin(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).sin(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * cos(x)


class Cos(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).cos(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * -sin(x)


class Tanh(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        y = get_array_module(x).tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * (1 - y * y)


def _sigmoid_array(xp, x):
    # exp of -|x| only, so that neither branch overflows
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        y = _sigmoid_array(get_array_module(x), x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * (y * (1 - y))


_ERF_CUT = 2.5
_ERFC_FRACTION_TERMS = 30


def _erf_series_coefficients(n):
    """c_k = 2^k / (1 * 3 * ... * (2k + 1)), k < n."""
    c = [1.0]
    for k in range(1, n):
        c.append(c[-1] * 2 / (2 * k + 1))
    return c


_ERF_SERIES = _erf_series_coefficients(36)


def _erf_array(x):
    """erf to float64 precision (below 1e-15 relative), vectorised, computed in float64
    whatever the input's dtype; the result has the input's dtype.

    For |x| < 2.5 a series whose terms are all positive (no cancellation), by Horner's rule:
        erf(x) = 2/sqrt(pi) x exp(-x^2) sum_k c_k x^(2k),  c_k = 2^k / (1 * 3 * ... * (2k + 1)),
    and beyond it the continued fraction of the complement, evaluated from the bottom up:
        erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))).
    """
    xp = get_array_module(x)
    a = xp.abs(x.reshape(-1).astype(xp.float64))  # 1-d: boolean indexing needs arrays
    y = xp.empty_like(a)
    small = a < _ERF_CUT  # False for nan and inf
    s = a[small]
    s2 = s * s
    total = _ERF_SERIES[-1]
    for c in reversed(_ERF_SERIES[:-1]):
        total = total * s2 + c
    y[small] = (2 / math.sqrt(math.pi)) * s * xp.exp(-s2) * total
    big = ~small
    c = xp.minimum(a[big], 10.0)  # erf(10) == 1 in float64; caps inf
    t = c
    for k in range(_ERFC_FRACTION_TERMS, 0, -1):
        t = c + (k / 2) / t
    y[big] = 1 - xp.exp(-c * c) / (math.sqrt(math.pi) * t)
    y = xp.where(xp.isnan(a), a, y)
    return xp.copysign(y.reshape(x.shape), x).astype(x.dtype)


class Erf(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf_array(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * ((2 / math.sqrt(math.pi)) * exp(-(x * x)))


class ErfFused(Erf):
    """erf by one compiled loop (float32 and float64 NumPy arrays); Erf's backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return knn.erf(x)


def _fusable(x: Tensor) -> bool:
    """Whether the fused kernels of ember.kernels.nn can take x's array."""
    d = x._data
    return type(d) is np.ndarray and (d.dtype == np.float32 or d.dtype == np.float64)


@tensor_method
def abs(input) -> Tensor:
    """``|input|``, elementwise; integer tensors stay integer. Gradient ``sign(x)``
    (0 at 0, as in PyTorch)."""
    check_tensor(input, "abs")
    _no_bool(input, "abs")
    return Abs.apply(input)


@tensor_method
def exp(input) -> Tensor:
    """``e ** input``; integer inputs give the default float dtype.
    Example: ``ember.exp(ember.tensor([0, 1]))`` is ``tensor([1.0000, 2.7183])``."""
    return Exp.apply(_float_input(input, "exp"))


@tensor_method
def log(input) -> Tensor:
    """The natural logarithm; -inf at 0 and nan below."""
    return Log.apply(_float_input(input, "log"))


@tensor_method
def log1p(input) -> Tensor:
    """``log(1 + input)``, accurate for small inputs."""
    return Log1p.apply(_float_input(input, "log1p"))


@tensor_method
def expm1(input) -> Tensor:
    """``exp(input) - 1``, accurate for small inputs."""
    return Expm1.apply(_float_input(input, "expm1"))


@tensor_method
def sqrt(input) -> Tensor:
    """The square root; nan for negative inputs."""
    return Sqrt.apply(_float_input(input, "sqrt"))


@tensor_method
def rsqrt(input) -> Tensor:
    """``1 / sqrt(input)``."""
    return Rsqrt.apply(_float_input(input, "rsqrt"))


@tensor_method
def sin(input) -> Tensor:
    """The sine (radians)."""
    return Sin.apply(_float_input(input, "sin"))


@tensor_method
def cos(input) -> Tensor:
    """The cosine (radians)."""
    return Cos.apply(_float_input(input, "cos"))


@tensor_method
def tanh(input) -> Tensor:
    """The hyperbolic tangent."""
    return Tanh.apply(_float_input(input, "tanh"))


@tensor_method
def sigmoid(input) -> Tensor:
    """``1 / (1 + exp(-input))``, computed without overflow."""
    return Sigmoid.apply(_float_input(input, "sigmoid"))


@tensor_method
def erf(input) -> Tensor:
    """The error function ``2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt``."""
    x = _float_input(input, "erf")
    if kernels.enabled() and _fusable(x):
        kernels.taken["erf"] += 1
        return ErfFused.apply(x)
    return Erf.apply(x)


def _sign_array(xp, x):
    if x.dtype.kind == "b":
        return x.copy()
    if x.dtype.kind in "iu":
        return xp.sign(x)
    # (x > 0) - (x < 0): 0 for nan, as PyTorch (NumPy's sign gives nan)
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)


@tensor_method
def sign(input) -> Tensor:
    """-1, 0 or 1 by the sign of each element (0 for nan); gradient zero."""
    check_tensor(input, "sign")
    return Step.apply(input, _sign_array)


def _rounding(op, input, fn):
    check_tensor(input, op)
    _no_bool(input, op)
    if input._data.dtype.kind in "iu":  # already whole numbers
        return Tensor._make(input._data.copy())
    return Step.apply(input, fn)


@tensor_method
def floor(input) -> Tensor:
    """The largest whole number <= each element; integer tensors are returned as a copy."""
    return _rounding("floor", input, lambda xp, x: xp.floor(x))


@tensor_method
def ceil(input) -> Tensor:
    """The smallest whole number >= each element."""
    return _rounding("ceil", input, lambda xp, x: xp.ceil(x))


@tensor_method
def round(input, *, decimals: int = 0) -> Tensor:
    """Round to the nearest whole number (or to ``decimals`` decimal places), halves to
    even as PyTorch: ``round(tensor([0.5, 1.5, 2.5]))`` is ``tensor([0., 2., 2.])``."""
    if isinstance(decimals, bool) or not isinstance(decimals, int):
        raise TypeError(f"round: decimals must be an int, received {decimals!r}")
    if decimals == 0:
        return _rounding("round", input, lambda xp, x: xp.rint(x))
    check_tensor(input, "round")
    if input._data.dtype.kind not in "fV":
        raise RuntimeError(
            f"round: decimals is only supported for floating-point tensors, received {input.dtype}"
        )
    # 10 ** |decimals| as an exact whole number, applied the same way as PyTorch
    scale = float(10 ** (decimals if decimals > 0 else -decimals))
    if decimals > 0:
        return Step.apply(input, _quiet(lambda xp, x: xp.rint(x * scale) / scale))
    return Step.apply(input, _quiet(lambda xp, x: xp.rint(x / scale) * scale))


def _special(op, input, fn, floats_only_value):
    check_tensor(input, op)
    x = input._data
    xp = get_array_module(x)
    if x.dtype.kind in "fV":
        return _result(getattr(xp, fn)(x))
    return Tensor._make(xp.full(x.shape, floats_only_value, dtype=bool))


@tensor_method
def isnan(input) -> Tensor:
    """True where ``input`` is nan."""
    return _special("isnan", input, "isnan", False)


@tensor_method
def isinf(input) -> Tensor:
    """True where ``input`` is +inf or -inf."""
    return _special("isinf", input, "isinf", False)


@tensor_method
def isfinite(input) -> Tensor:
    """True where ``input`` is neither nan nor infinite."""
    return _special("isfinite", input, "isfinite", True)


# ---------------------------------------------------------------- clamp, where, max/min
class ClampScalar(Function):
    """Clamp between Python numbers; the gradient passes where min <= x <= max."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = get_array_module(x)
        y = x
        if lo is not None:
            y = xp.maximum(y, lo)
        if hi is not None:
            y = xp.minimum(y, hi)
        if ctx.needs_input_grad[0]:
            if lo is None:
                mask = x <= hi
            else:
                mask = x >= lo
                if hi is not None:
                    mask &= x <= hi
            ctx.save_for_backward(mask)
        return y

    @staticmethod
    def backward(ctx, gy):
        (mask,) = ctx.saved_tensors
        return where(mask, gy, 0.0), None, None


class ClampTensor(Function):
    """Clamp between tensors (either may be None). The gradient goes to x where
    min <= x <= max, to min where x < min and to max where x > max; where min > max the
    result is max, and so is the gradient (PyTorch's rules)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = get_array_module(x)
        y = x
        if lo is not None:
            y = xp.maximum(y, lo)
        if hi is not None:
            y = xp.minimum(y, hi)
        need = ctx.needs_input_grad
        masks = [None, None, None]
        if lo is not None and hi is not None:
            if need[0]:
                masks[0] = (x >= lo) & (x <= hi)
            if need[1]:
                masks[1] = (x < lo) & (lo < hi)
            if need[2]:
                masks[2] = (x > hi) | (hi < lo)
        elif lo is not None:
            masks[0] = x >= lo if need[0] else None
            masks[1] = x < lo if need[1] else None
        else:
            masks[0] = x <= hi if need[0] else None
            masks[2] = x > hi if need[2] else None
        ctx.save_for_backward(*masks)
        return y

    @staticmethod
    def backward(ctx, gy):
        return tuple(None if m is None else where(m, gy, 0.0) for m in ctx.saved_tensors)


@tensor_method
def clamp(input, min=None, max=None) -> Tensor:
    """Limit each element to [min, max]; ``min`` and ``max`` are numbers or tensors
    (broadcast with ``input``) and either may be None. Where min > max the result is max.

    Example: ``ember.clamp(x, min=0)`` is ``relu(x)``; ``x.clamp(-1, 1)``.
    """
    check_tensor(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of min and max must be given (not None)")
    bounds = [b for b in (min, max) if b is not None]
    if all(is_number(b) for b in bounds):
        (x, *rest), _ = promote("clamp", input, *bounds)
        lo = rest.pop(0) if min is not None else None
        hi = rest.pop(0) if max is not None else None
        return ClampScalar.apply(x, lo, hi)
    (x, *rest), _ = _prepare("clamp", input, *bounds)
    lo = rest.pop(0) if min is not None else None
    hi = rest.pop(0) if max is not None else None
    return ClampTensor.apply(x, lo, hi)


@tensor_method
def clip(input, min=None, max=None) -> Tensor:
    """An alias of ``clamp``."""
    return clamp(input, min, max)


class Where(Function):
    @staticmethod
    def forward(ctx, c, a, b):
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            ctx.save_for_backward(c)
        return get_array_module(a).where(c, a, b)

    @staticmethod
    def backward(ctx, gy):
        (c,) = ctx.saved_tensors
        ga = where(c, gy, 0.0) if ctx.needs_input_grad[1] else None
        gb = where(c, 0.0, gy) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def where(condition, input=None, other=None) -> Tensor:
    """``input`` where ``condition`` is True, else ``other``; the three broadcast, and
    ``input``/``other`` may be tensors or numbers (promoted together). Gradients go to the
    chosen branch. ``where(condition)`` alone gives the indices of the True elements, as a
    tuple of int64 tensors (one per dimension).

    Example: ``ember.where(x > 0, x, 0.0)``
    """
    check_tensor(condition, "where", "condition")
    if input is None and other is None:
        xp = get_array_module(condition._data)
        return tuple(Tensor._make(i.astype(xp.int64)) for i in xp.nonzero(condition._data))
    if condition._data.dtype.kind != "b":
        raise RuntimeError(
            f"where: expected condition to be a bool tensor, received {condition.dtype}"
        )
    for name, v in (("input", input), ("other", other)):
        if not isinstance(v, Tensor) and not is_number(v):
            raise TypeError(
                f"where: expected {name} to be a Tensor or a Python number, "
                f"received {type(v).__name__}"
            )
    _check_shapes("where", (condition, input, other))
    dt = dtypes.result_type(input, other)
    branches = []
    for v in (input, other):
        if isinstance(v, Tensor):
            branches.append(v if v.dtype is dt else v.to(dt))
        else:
            branches.append(_scalar(v, dt, condition))
    return Where.apply(condition, *branches)


def _where_method(self, condition, other) -> Tensor:
    """``x.where(condition, y)`` is ``ember.where(condition, x, y)``."""
    return where(condition, self, other)


Tensor.where = _where_method


class Maximum(Function):
    """max/min of two tensors; on ties each gets half of the gradient (as in PyTorch)."""

    @staticmethod
    def forward(ctx, a, b, take_max):
        xp = get_array_module(a)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            a_loses = a < b if take_max else a > b
            b_loses = a > b if take_max else a < b
            ctx.save_for_backward(a == b, a_loses, b_loses)
        return xp.maximum(a, b) if take_max else xp.minimum(a, b)

    @staticmethod
    def backward(ctx, gy):
        tie, a_loses, b_loses = ctx.saved_tensors
        half = gy / 2
        ga = where(tie, half, where(a_loses, 0.0, gy)) if ctx.needs_input_grad[0] else None
        gb = where(tie, half, where(b_loses, 0.0, gy)) if ctx.needs_input_grad[1] else None
        return ga, gb, None


@tensor_method
def maximum(input, other) -> Tensor:
    """The elementwise maximum of two tensors (nan if either is nan)."""
    check_tensor(input, "maximum")
    check_tensor(other, "maximum", "other")
    (a, b), _ = _prepare("maximum", input, other)
    return Maximum.apply(a, b, True)


@tensor_method
def minimum(input, other) -> Tensor:
    """The elementwise minimum of two tensors (nan if either is nan)."""
    check_tensor(input, "minimum")
    check_tensor(other, "minimum", "other")
    (a, b), _ = _prepare("minimum", input, other)
    return Maximum.apply(a, b, False)


# ---------------------------------------------------------------- activations
class LeakyReluBackward(Function):
    """The gradient of relu / leaky_relu as an op of its own: like PyTorch's
    threshold_backward it reads its mask from x, so the gradient's own gradient exists
    (zero with respect to x), and double backward matches PyTorch's graph."""

    @staticmethod
    def forward(ctx, gy, x, slope):
        mask = x > 0
        ctx.save_for_backward(mask)
        ctx.slope = slope
        return get_array_module(gy).where(mask, gy, gy * slope if slope else 0)

    @staticmethod
    def backward(ctx, ggx):
        (mask,) = ctx.saved_tensors
        s = ctx.slope
        return where(mask, ggx, ggx * s if s else 0.0), None, None


class Relu(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        y = get_array_module(x).maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return LeakyReluBackward.apply(gy, y, 0)


class ReluFused(Relu):
    """relu whose gradient is one compiled loop (ReluBackward); Relu's forward."""

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return ReluBackward.apply(gy, y)


class ReluBackward(Function):
    """``gy`` where relu's output ``y > 0``, else 0, in one pass; as LeakyReluBackward, its
    gradient is itself at the same mask (and none with respect to y)."""

    @staticmethod
    def forward(ctx, gy, y):
        ctx.save_for_backward(y)
        return knn.relu_backward(gy, y)

    @staticmethod
    def backward(ctx, ggx):
        (y,) = ctx.saved_tensors
        return ReluBackward.apply(ggx, y), None


class LeakyRelu(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return get_array_module(x).where(x > 0, x, x * slope)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return LeakyReluBackward.apply(gy, x, ctx.slope), None


class Elu(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x, alpha):
        xp = get_array_module(x)
        positive = x > 0
        y = xp.where(positive, x, alpha * xp.expm1(x))
        ctx.save_for_backward(positive, x < 0, y)
        ctx.alpha = alpha
        return y

    @staticmethod
    def backward(ctx, gy):
        positive, negative, y = ctx.saved_tensors
        # d/dx alpha (e^x - 1) = y + alpha; at x = 0 PyTorch takes alpha, with no second
        # derivative, so it is a constant there
        slope = where(negative, y + ctx.alpha, ctx.alpha)
        return where(positive, gy, gy * slope), None


_SQRT1_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_PI = math.sqrt(2 / math.pi)
_GELU_C = 0.044715


class Gelu(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            xp = get_array_module(x)
            return 0.5 * x * (1 + xp.tanh(_SQRT_2_PI * (x + _GELU_C * x * x * x)))
        return 0.5 * x * (1 + _erf_array(x * _SQRT1_2))

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = tanh(_SQRT_2_PI * (x + _GELU_C * x * x * x))
            inner = _SQRT_2_PI * (1 + 3 * _GELU_C * x * x)
            return gy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner), None
        cdf = 0.5 * (1 + erf(x * _SQRT1_2))
        pdf = exp(-0.5 * x * x) * _INV_SQRT_2PI
        return gy * (cdf + x * pdf), None


class GeluFused(Function):
    """Exact GELU (approximate='none') by one compiled loop forward and one backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return knn.gelu(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return GeluBackward.apply(gy, x)


class GeluBackward(Function):
    """``gy * (Phi(x) + x * phi(x))``, the gradient of exact GELU, as an op of its own (as
    PyTorch's gelu_backward): one compiled loop forward, and a backward in ember's ops, so
    second (and higher) derivatives work."""

    @staticmethod
    def forward(ctx, gy, x):
        ctx.save_for_backward(gy, x)
        return knn.gelu_backward(gy, x)

    @staticmethod
    def backward(ctx, ggx):
        gy, x = ctx.saved_tensors
        g_gy = GeluBackward.apply(ggx, x) if ctx.needs_input_grad[0] else None
        g_x = None
        if ctx.needs_input_grad[1]:  # d/dx (Phi + x phi) = phi * (2 - x^2)
            g_x = ggx * gy * (exp(-0.5 * x * x) * _INV_SQRT_2PI) * (2 - x * x)
        return g_gy, g_x


class Silu(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * _sigmoid_array(get_array_module(x), x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        s = sigmoid(x)
        return gy * (s * (1 + x * (1 - s)))


class Softplus(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x, beta, threshold):
        xp = get_array_module(x)
        bx = x * beta
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        soft = xp.log1p(xp.exp(xp.minimum(bx, threshold))) / beta
        return xp.where(bx > threshold, x, soft)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        return where(bx > ctx.threshold, gy, gy * sigmoid(bx)), None, None


@tensor_method
def relu(input, inplace: bool = False) -> Tensor:
    """``max(input, 0)``; gradient 0 at 0. Integer tensors stay integer.
    Example: ``ember.relu(ember.tensor([-1., 2.]))`` is ``tensor([0., 2.])``."""
    check_tensor(input, "relu")
    _no_bool(input, "relu")
    if inplace:
        return input._inplace("relu_", relu)
    if kernels.enabled() and _fusable(input):
        kernels.taken["relu"] += 1
        return ReluFused.apply(input)
    return Relu.apply(input)


@tensor_method
def relu_(input) -> Tensor:
    """In-place relu."""
    return relu(input, inplace=True)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, ``negative_slope * input`` elsewhere (slope's gradient at 0)."""
    _float_only(input, "leaky_relu")
    if inplace:
        return input._inplace("leaky_relu_", leaky_relu, negative_slope)
    return LeakyRelu.apply(input, negative_slope)


def leaky_relu_(input, negative_slope: float = 0.01) -> Tensor:
    """In-place leaky_relu."""
    return leaky_relu(input, negative_slope, inplace=True)


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``input`` where positive, ``alpha * (exp(input) - 1)`` elsewhere."""
    _float_only(input, "elu")
    if inplace:
        return input._inplace("elu_", elu, alpha)
    return Elu.apply(input, alpha)


def elu_(input, alpha: float = 1.0) -> Tensor:
    """In-place elu."""
    return elu(input, alpha, inplace=True)


def gelu(input, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with Phi the standard normal CDF (``approximate='none'``), or its
    tanh approximation (``approximate='tanh'``). Example: ``F.gelu(x, approximate='tanh')``."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', received {approximate!r}")
    x = _float_only(input, "gelu")
    if approximate == "none" and kernels.enabled() and _fusable(x):
        kernels.taken["gelu"] += 1
        return GeluFused.apply(x)
    return Gelu.apply(x, approximate)


def silu(input, inplace: bool = False) -> Tensor:
    """``input * sigmoid(input)`` (also called swish)."""
    _float_only(input, "silu")
    if inplace:
        return input._inplace("silu_", silu)
    return Silu.apply(input)


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * input)) / beta``, and ``input`` itself where
    ``beta * input > threshold`` (for numerical stability)."""
    return Softplus.apply(_float_only(input, "softplus"), beta, threshold)


# ---------------------------------------------------------------- operators
def _reflected(fn):
    def method(self, other):
        return fn(other, self)

    method.__name__ = f"r{fn.__name__}"
    return method


def _comparison(fn):
    def method(self, other):
        if not isinstance(other, Tensor) and not is_number(other):
            return NotImplemented  # x == None is False, x < "a" a TypeError, as in Python
        return fn(self, other)

    method.__name__ = fn.__name__
    return method


def _operator(fn, op):
    """``x + y`` and friends: two Tensors of one floating dtype and shape go straight to the
    op (``_no_promotion``'s commonest case, without its call); anything else through ``fn``."""

    def method(self, other):
        if isinstance(other, Tensor):
            x, y = self._data, other._data
            if x.dtype is y.dtype and x.shape == y.shape and x.dtype.kind == "f":
                return op.apply(self, other)
        return fn(self, other)

    method.__name__ = fn.__name__
    return method


Tensor.__add__ = _operator(add, Add)
Tensor.__radd__ = add
Tensor.__sub__ = _operator(sub, Sub)
Tensor.__rsub__ = _reflected(sub)
Tensor.__mul__ = _operator(mul, Mul)
Tensor.__rmul__ = mul
Tensor.__truediv__ = _operator(div, Div)
Tensor.__rtruediv__ = _reflected(div)
Tensor.__floordiv__ = floor_divide
Tensor.__rfloordiv__ = _reflected(floor_divide)
Tensor.__mod__ = remainder
Tensor.__rmod__ = _reflected(remainder)
Tensor.__pow__ = pow
Tensor.__rpow__ = _reflected(pow)
Tensor.__neg__ = neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = abs
Tensor.__eq__ = _comparison(eq)
Tensor.__ne__ = _comparison(ne)
Tensor.__lt__ = _comparison(lt)
Tensor.__le__ = _comparison(le)
Tensor.__gt__ = _comparison(gt)
Tensor.__ge__ = _comparison(ge)
Tensor.__and__ = Tensor.__rand__ = bitwise_and
Tensor.__or__ = Tensor.__ror__ = bitwise_or
Tensor.__xor__ = Tensor.__rxor__ = bitwise_xor
Tensor.__invert__ = bitwise_not
# As torch.Tensor does: NumPy scalars and arrays on the left defer to Tensor's operators.
Tensor.__array_priority__ = 1000


# ---------------------------------------------------------------- in place
def _inplace_method(name, fn):
    def method(self, *args, **kwargs):
        return self._inplace(name, fn, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place ``{fn.__name__}``: writes the result into this tensor."
    return method


for _name, _fn in [
    ("add_", add), ("sub_", sub), ("mul_", mul), ("div_", div), ("pow_", pow),
    ("remainder_", remainder), ("floor_divide_", floor_divide), ("clamp_", clamp),
    ("clip_", clamp), ("neg_", neg), ("abs_", abs), ("exp_", exp), ("log_", log),
    ("log1p_", log1p), ("expm1_", expm1), ("sqrt_", sqrt), ("rsqrt_", rsqrt), ("sin_", sin),
    ("cos_", cos), ("tanh_", tanh), ("sigmoid_", sigmoid), ("erf_", erf), ("sign_", sign),
    ("floor_", floor), ("ceil_", ceil), ("round_", round), ("bitwise_and_", bitwise_and),
    ("bitwise_or_", bitwise_or), ("bitwise_xor_", bitwise_xor), ("bitwise_not_", bitwise_not),
]:  # fmt: skip
    setattr(Tensor, _name, _inplace_method(_name, _fn))
del _name, _fn

Tensor.__iadd__ = Tensor.add_
Tensor.__isub__ = Tensor.sub_
Tensor.__imul__ = Tensor.mul_
Tensor.__itruediv__ = Tensor.div_
Tensor.__ifloordiv__ = Tensor.floor_divide_
Tensor.__imod__ = Tensor.remainder_
Tensor.__ipow__ = Tensor.pow_
Tensor.__iand__ = Tensor.bitwise_and_
Tensor.__ior__ = Tensor.bitwise_or_
Tensor.__ixor__ = Tensor.bitwise_xor_


class Fill(Function):
    """Every element set to ``value`` (a number or a 0-d tensor, which gets the sum of the
    gradient); the old values get none."""

    @staticmethod
    def forward(ctx, x, value):
        y = get_array_module(x).empty_like(x)
        y[...] = value  # a number or a 0-d array alike, cast to x's dtype
        return y

    @staticmethod
    def backward(ctx, gy):
        gx = _zeros_like(gy) if ctx.needs_input_grad[0] else None
        return gx, (gy if ctx.needs_input_grad[1] else None)


class Copy(Function):
    """``src`` broadcast to ``x``'s shape and cast to its dtype; the gradient goes to src."""

    @staticmethod
    @_quiet
    def forward(ctx, x, src):
        return get_array_module(x).broadcast_to(src, x.shape).astype(x.dtype)

    @staticmethod
    def backward(ctx, gy):
        gx = _zeros_like(gy) if ctx.needs_input_grad[0] else None
        return gx, (gy if ctx.needs_input_grad[1] else None)


def _fill(self, value):
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"fill_: value must be a number or a 0-d tensor, received a tensor of shape "
                f"{tuple(value.shape)}"
            )
        if value.device != self.device:
            value = value.to(self.device)
    elif not is_number(value):
        raise TypeError(
            f"fill_: expected a number or a 0-d tensor, received {type(value).__name__}"
        )
    return Fill.apply(self, value)


def fill_(self, value) -> Tensor:
    """Set every element to ``value`` (a number, cast to this tensor's dtype, or a 0-d tensor).
    Works on a leaf that requires grad only under ``no_grad()``."""
    return self._inplace("fill_", _fill, value)


def zero_(self) -> Tensor:
    """Set every element to zero; ``with ember.no_grad(): p.grad.zero_()``."""
    return self._inplace("zero_", _fill, 0)


def _copy(self, src):
    if is_number(src):
        return Fill.apply(self, src)
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_: expected src to be a Tensor, received {type(src).__name__}")
    shape, out = src._data.shape, self._data.shape
    if len(shape) > len(out) or broadcast_shape("copy_", out, shape) != out:
        raise RuntimeError(
            f"copy_: cannot broadcast src of shape {tuple(shape)} to the destination's shape "
            f"{tuple(out)}"
        )
    if src.device != self.device:
        src = src.to(self.device)
    return Copy.apply(self, src)


def copy_(self, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` into this tensor, broadcasting it and casting it to this tensor's dtype
    (and device); the gradient flows back to ``src``."""
    return self._inplace("copy_", _copy, src)


Tensor.fill_ = fill_
Tensor.zero_ = zero_
Tensor.copy_ = copy_


# The activations that ember.nn.functional re-exports, by name.
ACTIVATIONS: dict = {
    "relu": relu, "relu_": relu_, "leaky_relu": leaky_relu, "leaky_relu_": leaky_relu_,
    "elu": elu, "elu_": elu_, "gelu": gelu, "silu": silu, "softplus": softplus,
    "sigmoid": sigmoid, "tanh": tanh,
}  # fmt: skip
