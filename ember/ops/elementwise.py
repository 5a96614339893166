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
    "abs", "absolute", "acos", "acosh", "add", "allclose", "arccos", "arccosh", "arcsin", "arcsinh",
    "arctan", "arctan2", "arctanh", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and",
    "bitwise_not", "bitwise_or", "bitwise_xor", "ceil", "clamp", "clip", "clone", "copysign", "cos",
    "cosh", "deg2rad", "digamma", "div", "eq", "equal", "erf", "erfinv", "exp", "exp2", "expm1",
    "fix", "float_power", "floor", "floor_divide", "fmod", "frac", "ge", "gt", "heaviside", "hypot",
    "isclose", "isfinite", "isinf", "isnan", "le", "lerp", "lgamma", "log", "log1p", "log2",
    "log10", "logaddexp", "logaddexp2", "logical_and", "logical_not", "logical_or", "logical_xor",
    "logit", "lt", "maximum", "minimum", "mul", "nan_to_num", "ne", "neg", "negative", "positive",
    "pow", "rad2deg", "reciprocal", "relu", "relu_", "remainder", "round", "rsqrt", "sgn",
    "sigmoid", "sign", "signbit", "sin", "sinh", "sqrt", "square", "sub", "tan", "tanh",
    "true_divide", "trunc", "where", "xlogy",
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
    y[big] = 1 - _erfc_fraction(xp, xp.minimum(a[big], 10.0))  # erf(10) == 1; caps inf
    y = xp.where(xp.isnan(a), a, y)
    return xp.copysign(y.reshape(x.shape), x).astype(x.dtype)


def _erfc_fraction(xp, c):
    """erfc(c) for float64 c >= 2.5, by the continued fraction of ``_erf_array``."""
    t = c
    for k in range(_ERFC_FRACTION_TERMS, 0, -1):
        t = c + (k / 2) / t
    return xp.exp(-c * c) / (math.sqrt(math.pi) * t)


def _erfc_array(x):
    """erfc(x) = 1 - erf(x) for float64 x >= 0: beyond 2.5, where 1 - erf would lose the
    relative precision, from the continued fraction itself."""
    xp = get_array_module(x)
    return xp.where(x < _ERF_CUT, 1 - _erf_array(x), _erfc_fraction(xp, xp.maximum(x, _ERF_CUT)))


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
    return Exp._one(_float_input(input, "exp"))


@tensor_method
def log(input) -> Tensor:
    """The natural logarithm; -inf at 0 and nan below."""
    return Log._one(_float_input(input, "log"))


@tensor_method
def log1p(input) -> Tensor:
    """``log(1 + input)``, accurate for small inputs."""
    return Log1p._one(_float_input(input, "log1p"))


@tensor_method
def expm1(input) -> Tensor:
    """``exp(input) - 1``, accurate for small inputs."""
    return Expm1._one(_float_input(input, "expm1"))


@tensor_method
def sqrt(input) -> Tensor:
    """The square root; nan for negative inputs."""
    return Sqrt._one(_float_input(input, "sqrt"))


@tensor_method
def rsqrt(input) -> Tensor:
    """``1 / sqrt(input)``."""
    return Rsqrt._one(_float_input(input, "rsqrt"))


@tensor_method
def sin(input) -> Tensor:
    """The sine (radians)."""
    return Sin._one(_float_input(input, "sin"))


@tensor_method
def cos(input) -> Tensor:
    """The cosine (radians)."""
    return Cos._one(_float_input(input, "cos"))


@tensor_method
def tanh(input) -> Tensor:
    """The hyperbolic tangent."""
    return Tanh._one(_float_input(input, "tanh"))


@tensor_method
def sigmoid(input) -> Tensor:
    """``1 / (1 + exp(-input))``, computed without overflow."""
    return Sigmoid._one(_float_input(input, "sigmoid"))


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


# ---------------------------------------------------------------- more math
_LN2 = math.log(2)
_LN10 = math.log(10)
_DEG_TO_RAD = math.pi / 180
_RAD_TO_DEG = 180 / math.pi


class Tan(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        y = get_array_module(x).tan(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * (1 + y * y)


class Sinh(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).sinh(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * cosh(x)


class Cosh(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).cosh(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * sinh(x)


class Asin(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).arcsin(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * rsqrt(1 - x * x)


class Acos(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).arccos(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * -rsqrt(1 - x * x)


class Atan(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).arctan(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / (x * x + 1)


class Asinh(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).arcsinh(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * rsqrt(x * x + 1)


class Acosh(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).arccosh(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * rsqrt(x * x - 1)


class Atanh(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).arctanh(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / (1 - x * x)


class Reciprocal(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        y = get_array_module(x).reciprocal(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return -gy * (y * y)


class Log2(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log2(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / (x * _LN2)


class Log10(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log10(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / (x * _LN10)


class Exp2(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        y = get_array_module(x).exp2(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * y * _LN2


class Logit(Function):
    """``log(z / (1 - z))`` with z = x, or x clamped to [eps, 1 - eps] when eps is given
    (None or >= 0)."""

    @staticmethod
    @_quiet
    def forward(ctx, x, eps):
        xp = get_array_module(x)
        ctx.save_for_backward(x)
        ctx.eps = eps
        if eps is not None:
            lo, hi = xp.asarray([eps, 1 - eps]).astype(x.dtype)
            # as PyTorch: below lo gives lo, else above hi gives hi (so hi where lo > hi)
            x = xp.where(x < lo, lo, xp.where(x > hi, hi, x))
        return xp.log(x / (1 - x))

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        eps = ctx.eps
        gx = gy / (x * (1 - x))
        if eps is None:  # outside [0, 1] logit is nan, and so is its gradient
            return where((x < 0) | (x > 1), math.nan, gx), None
        return where((x < eps) | (x > 1 - eps), 0.0, gx), None  # the clamped part is flat


def _largest(dt) -> float:
    """The largest finite number of a floating NumPy dtype (bfloat16's from ml_dtypes)."""
    if dt.kind == "V":
        return float(dtypes._ml_dtypes.finfo(dt).max)
    return float(np.finfo(dt).max)


class NanToNum(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x, nan, posinf, neginf):
        xp = get_array_module(x)
        finite = xp.isfinite(x)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(finite)
        big = _largest(x.dtype)
        posinf = big if posinf is None else posinf
        neginf = -big if neginf is None else neginf
        # cast as PyTorch does: a replacement too large for the dtype becomes inf
        fills = xp.asarray([nan, posinf, neginf], dtype=xp.float64).astype(x.dtype)
        y = xp.where(xp.isnan(x), fills[0], x)
        y = xp.where(x == xp.inf, fills[1], y)
        return xp.where(x == -xp.inf, fills[2], y)

    @staticmethod
    def backward(ctx, gy):
        (finite,) = ctx.saved_tensors
        return where(finite, gy, 0.0), None, None, None


@tensor_method
def square(input) -> Tensor:
    """``input * input``; integer tensors stay integer and bool ones become int64 (as
    ``input ** 2``). Example: ``ember.square(ember.tensor([-2, 3]))`` is ``tensor([4, 9])``."""
    check_tensor(input, "square")
    return pow(input, 2)


@tensor_method
def tan(input) -> Tensor:
    """The tangent (radians); integer inputs give the default float dtype."""
    return Tan._one(_float_input(input, "tan"))


@tensor_method
def sinh(input) -> Tensor:
    """The hyperbolic sine."""
    return Sinh._one(_float_input(input, "sinh"))


@tensor_method
def cosh(input) -> Tensor:
    """The hyperbolic cosine."""
    return Cosh._one(_float_input(input, "cosh"))


@tensor_method
def asin(input) -> Tensor:
    """The inverse sine, in [-pi/2, pi/2]; nan outside [-1, 1]."""
    return Asin._one(_float_input(input, "asin"))


@tensor_method
def acos(input) -> Tensor:
    """The inverse cosine, in [0, pi]; nan outside [-1, 1]."""
    return Acos._one(_float_input(input, "acos"))


@tensor_method
def atan(input) -> Tensor:
    """The inverse tangent, in (-pi/2, pi/2)."""
    return Atan._one(_float_input(input, "atan"))


@tensor_method
def asinh(input) -> Tensor:
    """The inverse hyperbolic sine."""
    return Asinh._one(_float_input(input, "asinh"))


@tensor_method
def acosh(input) -> Tensor:
    """The inverse hyperbolic cosine; nan below 1."""
    return Acosh._one(_float_input(input, "acosh"))


@tensor_method
def atanh(input) -> Tensor:
    """The inverse hyperbolic tangent; +-inf at +-1 and nan outside [-1, 1]."""
    return Atanh._one(_float_input(input, "atanh"))


@tensor_method
def arcsin(input) -> Tensor:
    """An alias of ``asin``."""
    return Asin._one(_float_input(input, "arcsin"))


@tensor_method
def arccos(input) -> Tensor:
    """An alias of ``acos``."""
    return Acos._one(_float_input(input, "arccos"))


@tensor_method
def arctan(input) -> Tensor:
    """An alias of ``atan``."""
    return Atan._one(_float_input(input, "arctan"))


@tensor_method
def arcsinh(input) -> Tensor:
    """An alias of ``asinh``."""
    return Asinh._one(_float_input(input, "arcsinh"))


@tensor_method
def arccosh(input) -> Tensor:
    """An alias of ``acosh``."""
    return Acosh._one(_float_input(input, "arccosh"))


@tensor_method
def arctanh(input) -> Tensor:
    """An alias of ``atanh``."""
    return Atanh._one(_float_input(input, "arctanh"))


@tensor_method
def reciprocal(input) -> Tensor:
    """``1 / input``; integer inputs give the default float dtype (inf at 0)."""
    return Reciprocal._one(_float_input(input, "reciprocal"))


@tensor_method
def log2(input) -> Tensor:
    """The base-2 logarithm; -inf at 0 and nan below."""
    return Log2._one(_float_input(input, "log2"))


@tensor_method
def log10(input) -> Tensor:
    """The base-10 logarithm; -inf at 0 and nan below."""
    return Log10._one(_float_input(input, "log10"))


@tensor_method
def exp2(input) -> Tensor:
    """``2 ** input``; integer inputs give the default float dtype."""
    return Exp2._one(_float_input(input, "exp2"))


@tensor_method
def trunc(input) -> Tensor:
    """Round toward zero (drop the fractional part); integer tensors are returned as a copy.
    Its gradient is zero. Example: ``ember.trunc(ember.tensor([-1.7, 1.7]))`` is
    ``tensor([-1., 1.])``."""
    return _rounding("trunc", input, lambda xp, x: xp.trunc(x))


@tensor_method
def fix(input) -> Tensor:
    """An alias of ``trunc``."""
    return _rounding("fix", input, lambda xp, x: xp.trunc(x))


@tensor_method
def frac(input) -> Tensor:
    """The fractional part ``input - trunc(input)``, with the sign of ``input`` (nan for
    infinities); floating-point tensors only. Its gradient is 1."""
    x = _float_only(input, "frac")
    return x - trunc(x)


@tensor_method
def deg2rad(input) -> Tensor:
    """Degrees to radians, ``input * pi / 180``; integer inputs give the default float dtype."""
    return mul(_float_input(input, "deg2rad"), _DEG_TO_RAD)


@tensor_method
def rad2deg(input) -> Tensor:
    """Radians to degrees, ``input * 180 / pi``; integer inputs give the default float dtype."""
    return mul(_float_input(input, "rad2deg"), _RAD_TO_DEG)


@tensor_method
def logit(input, eps: float | None = None) -> Tensor:
    """``log(p / (1 - p))``, the inverse of ``sigmoid``, with p = ``input`` clamped to
    [eps, 1 - eps] when ``eps`` is given (there the gradient is 0); without eps (or with a
    negative one), nan outside [0, 1].
    Example: ``ember.logit(ember.tensor([0.0, 0.5]), eps=1e-6)``."""
    x = _float_input(input, "logit")
    if eps is not None and (not is_number(eps) or isinstance(eps, bool)):
        raise TypeError(f"logit: expected eps to be a float or None, received {eps!r}")
    # a negative eps clamps nothing, and is None (as in PyTorch's gradient)
    return Logit.apply(x, None if eps is None or eps < 0 else float(eps))


@tensor_method
def nan_to_num(input, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:  # fmt: skip
    """``input`` with nan replaced by ``nan``, +inf by ``posinf`` and -inf by ``neginf``
    (by default the largest and the lowest finite number of the dtype). Integer and bool
    tensors are returned as a copy. The gradient passes at finite elements only.

    Example: ``ember.nan_to_num(x, nan=0.0, posinf=1e4)``.
    """
    check_tensor(input, "nan_to_num")
    for name, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if v is not None and (not is_number(v) or isinstance(v, bool)):
            raise TypeError(f"nan_to_num: expected {name} to be a float or None, received {v!r}")
    if input._data.dtype.kind not in "fV":
        return Tensor._make(input._data.copy())
    return NanToNum.apply(input, 0.0 if nan is None else float(nan),
                          None if posinf is None else float(posinf),
                          None if neginf is None else float(neginf))  # fmt: skip


@tensor_method
def sgn(input) -> Tensor:
    """The sign of each element, -1, 0 or 1 (``sign`` for real tensors); gradient zero."""
    check_tensor(input, "sgn")
    return Step.apply(input, _sign_array)


@tensor_method
def signbit(input) -> Tensor:
    """True where the sign bit is set: negative numbers, -0.0, -inf and negative nans (a bool
    tensor, no gradient)."""
    check_tensor(input, "signbit")
    x = input._data
    if x.dtype.kind in "fV":
        return _result(get_array_module(x).signbit(x))
    return _result(x < 0)  # integers have no -0; False throughout for bool and uint8


@tensor_method
def positive(input) -> Tensor:
    """``input`` itself (``+input``); bool tensors are rejected, as in PyTorch."""
    check_tensor(input, "positive")
    _no_bool(input, "positive", "the + operator on a bool tensor is not supported")
    return input


@tensor_method
def negative(input) -> Tensor:
    """An alias of ``neg``: ``-input``."""
    check_tensor(input, "negative")
    _no_bool(
        input, "negative", "negation of a bool tensor is not supported; use ~ or logical_not()"
    )
    return Neg.apply(input)


@tensor_method
def absolute(input) -> Tensor:
    """An alias of ``abs``: ``|input|``."""
    check_tensor(input, "absolute")
    _no_bool(input, "absolute")
    return Abs.apply(input)


# ---------------------------------------------------------------- special functions
# Bernoulli numbers B_2, B_4, ..., B_20: the asymptotic (Stirling) series of lgamma, digamma
# and the polygamma functions.
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
              43867 / 798, -174611 / 330)  # fmt: skip
_EULER_GAMMA = 0.57721566490153286061


def _zeta_values(n):
    """zeta(k) for k = 2 .. n, by Euler-Maclaurin summation (to float64 precision)."""
    values = []
    big = 10
    for k in range(2, n + 1):
        total = math.fsum(j**-k for j in range(1, big)) + big ** (1 - k) / (k - 1) + big**-k / 2
        rising = k  # k (k + 1) ... (k + 2m - 2)
        for m, b in enumerate(_BERNOULLI[:8], start=1):
            total += b / math.factorial(2 * m) * rising * big ** (-k - 2 * m + 1)
            rising *= (k + 2 * m - 1) * (k + 2 * m)
        values.append(total)
    return values


# lgamma(1 + z) = -gamma z + sum_k (-1)^k zeta(k) / k z^k, for |z| < 1: lgamma near its
# zeros at 1 and 2, where a sum of larger terms would lose the relative precision
_LGAMMA_SERIES = [(-1) ** k * z / k for k, z in enumerate(_zeta_values(24), start=2)]
_LGAMMA_NEAR = 0.2  # the series within 0.2 of 1 and 2 (0.2^24 / 24 < 1e-18)
_STIRLING_FROM = 8.0  # the asymptotic series from 8 on (its next term is below 1e-16 there)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_LOG_PI = math.log(math.pi)


def _lgamma_series(xp, z):
    total = xp.zeros_like(z)
    for c in reversed(_LGAMMA_SERIES):
        total = (total + c) * z
    return (total - _EULER_GAMMA) * z


def _lgamma_positive(xp, x):
    """lgamma of float64 x > 0 (any value, +inf included)."""
    # shift x up to STIRLING_FROM: lgamma(x) = lgamma(x + n) - log(x (x + 1) ... (x + n - 1))
    n = int(_STIRLING_FROM)
    product = xp.ones_like(x)
    for k in range(n):
        product *= xp.where(x + k < _STIRLING_FROM, x + k, 1.0)
    s = xp.where(x < _STIRLING_FROM, x + xp.ceil(_STIRLING_FROM - x), x)
    inv, inv2 = 1 / s, 1 / (s * s)
    tail = xp.zeros_like(s)
    for m in range(len(_BERNOULLI[:8]), 0, -1):
        tail = tail * inv2 + _BERNOULLI[m - 1] / (2 * m * (2 * m - 1))
    y = (s - 0.5) * xp.log(s) - s + _HALF_LOG_2PI + tail * inv - xp.log(product)
    z1, z2 = x - 1, x - 2
    y = xp.where(xp.abs(z1) < _LGAMMA_NEAR, _lgamma_series(xp, z1), y)
    near2 = xp.abs(z2) < _LGAMMA_NEAR  # lgamma(2 + z) = log(1 + z) + lgamma(1 + z)
    y = xp.where(near2, xp.log1p(z2) + _lgamma_series(xp, z2), y)
    return xp.where(x == xp.inf, xp.inf, y)  # not inf - inf


def _sin_pi(xp, x):
    """sin(pi x), exact at whole numbers: pi x itself is rounded, x - trunc(x) is exact."""
    r = x - xp.trunc(x)
    odd = xp.fmod(xp.trunc(x), 2) != 0
    s = xp.sin(math.pi * r)
    return xp.where(odd, -s, s)


def _lgamma_array(x):
    """log|Gamma(x)|, vectorised, in float64 whatever the input's dtype (the result has the
    input's dtype): inf at 0, at the negative integers and at +-inf. Below 0 by the
    reflection lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x)."""
    xp = get_array_module(x)
    a = x.astype(xp.float64)
    neg = a < 0
    pos = _lgamma_positive(xp, xp.where(neg, 1 - a, a))
    # log(pi) - log|sin(pi x)|, not log(pi / |sin(pi x)|), which overflows next to -0
    reflected = _LOG_PI - xp.log(xp.abs(_sin_pi(xp, a))) - pos
    y = xp.where(neg, reflected, pos)
    y = xp.where((a <= 0) & (a == xp.trunc(a)), xp.inf, y)  # poles, and -inf
    return y.astype(x.dtype)


_PSI_10 = 2.25175258906672110764  # digamma(10)
# digamma(x) ~ log(x) - 1/(2x) - sum_k B_2k / (2k x^2k), for x >= 10
_DIGAMMA_TAIL = [b / (2 * k) for k, b in enumerate(_BERNOULLI[:7], start=1)]


def _digamma_array(x):
    """The digamma function Gamma'(x) / Gamma(x), in float64 whatever the input's dtype, by
    PyTorch's method (and so with its values): below 0 the reflection
    digamma(x) = digamma(1 - x) - pi / tan(pi x); then digamma(x) = digamma(x + 1) - 1 / x up
    to 10, and the asymptotic series from there. -inf at +0, +inf at -0, nan at the
    negative integers and -inf."""
    xp = get_array_module(x)
    a = x.astype(xp.float64)
    neg = a < 0
    s = xp.where(neg, 1 - a, a)
    y = xp.zeros_like(s)
    for _ in range(10):  # s >= 10 after at most 10 steps (nan stays nan)
        low = s < 10
        y -= xp.where(low, 1 / s, 0.0)
        s = xp.where(low, s + 1, s)
    inv2 = 1 / (s * s)
    tail = xp.zeros_like(s)
    for c in reversed(_DIGAMMA_TAIL):
        tail = (tail + c) * inv2
    tail = xp.where(s < 1e17, tail, 0.0)
    y += xp.where(s == 10, _PSI_10, xp.log(s) - 0.5 / s - tail)
    r = a - xp.trunc(a)  # tan(pi x) from the fractional part, which is exact
    y = xp.where(neg, y - math.pi / xp.tan(math.pi * r), y)
    y = xp.where(neg & (a == xp.trunc(a)), xp.nan, y)
    y = xp.where(a == 0, xp.copysign(xp.inf, -a), y)
    return y.astype(x.dtype)


def _cot_derivative_polynomials(n):
    """Coefficients (highest power first) of P_0 .. P_n, where the k-th derivative of
    cot(pi x) is pi^k P_k(cot(pi x)): P_0(c) = c, P_(k+1)(c) = -(1 + c^2) P_k'(c)."""
    polys = [np.array([1.0, 0.0])]
    for _ in range(n):
        polys.append(-np.polymul([1.0, 0.0, 1.0], np.polyder(polys[-1])))
    return polys


_POLYGAMMA_FROM = 12.0


def _polygamma_array(n, x):
    """The n-th derivative of digamma (n >= 1), in float64 whatever the input's dtype:
    psi_n(x) = (-1)^(n+1) n! sum_k 1 / (x + k)^(n+1). Up to 12 by that sum's first terms,
    from there the asymptotic series; below 1/2 by the reflection
    psi_n(x) = (-1)^n psi_n(1 - x) - pi^(n+1) P_n(cot(pi x)). +-inf at the poles."""
    xp = get_array_module(x)
    a = x.astype(xp.float64)
    low = a < 0.5
    s = xp.where(low, 1 - a, a)
    y = xp.zeros_like(s)
    for _ in range(int(_POLYGAMMA_FROM)):
        near = s < _POLYGAMMA_FROM
        y += xp.where(near, s ** -(n + 1), 0.0)
        s = xp.where(near, s + 1, s)
    # sum_k 1 / (s + k)^(n+1)
    #   ~ 1 / (n s^n) + 1 / (2 s^(n+1)) + sum_j B_2j (2j + n - 1)! / ((2j)! n!) / s^(2j+n)
    inv, inv2 = 1 / s, 1 / (s * s)
    tail = xp.zeros_like(s)
    for j in range(len(_BERNOULLI[:8]), 0, -1):
        c = _BERNOULLI[j - 1] * math.factorial(2 * j + n - 1)
        tail = (tail + c / (math.factorial(2 * j) * math.factorial(n))) * inv2
    y += inv**n * (1 / n + 0.5 * inv + tail)
    y *= (-1) ** (n + 1) * math.factorial(n)
    c = 1 / xp.tan(math.pi * (a - xp.trunc(a)))  # cot(pi x) from the exact fractional part
    p = xp.zeros_like(c)
    for k in _cot_derivative_polynomials(n)[n]:
        p = p * c + k
    y = xp.where(low, (-1) ** n * y - math.pi ** (n + 1) * p, y)
    # the poles: psi_n(x) ~ (-1)^(n+1) n! / x^(n+1) near 0, from the side of 0's sign
    pole = (a <= 0) & (a == xp.trunc(a))
    at_pole = xp.inf if n % 2 else xp.where(a == 0, -xp.copysign(xp.inf, a), xp.nan)
    return xp.where(pole, at_pole, y).astype(x.dtype)


# erfinv's first guess (G. L. Pavlis's rational approximations, as in PyTorch's erfinv),
# which three Newton steps on erf (or, in the tails, on erfc) bring to float64 precision
_ERFINV_A = (0.886226899, -1.645349621, 0.914624893, -0.140543331)
_ERFINV_B = (-2.118377725, 1.442710462, -0.329097515, 0.012229801)
_ERFINV_C = (-1.970840454, -1.624906493, 3.429567803, 1.641345311)
_ERFINV_D = (3.543889200, 1.637067800)


def _erfinv_array(y):
    """The inverse of erf on [-1, 1]: +-inf at +-1, nan outside; in float64 whatever the
    input's dtype (the result has the input's dtype). Beyond |y| = 0.5 the Newton steps
    solve erfc(x) = 1 - |y| (exact there), which keeps the precision up to |y| = 1 - 1e-16."""
    xp = get_array_module(y)
    t = xp.abs(y.astype(xp.float64))
    z = t * t
    a, b = _ERFINV_A, _ERFINV_B
    central = t * (((a[3] * z + a[2]) * z + a[1]) * z + a[0])
    central /= (((b[3] * z + b[2]) * z + b[1]) * z + b[0]) * z + 1
    w = xp.sqrt(-xp.log((1 - xp.minimum(t, 1.0)) / 2))
    c, d = _ERFINV_C, _ERFINV_D
    tail = (((c[3] * w + c[2]) * w + c[1]) * w + c[0]) / ((d[1] * w + d[0]) * w + 1)
    x = xp.where(t <= 0.7, central, tail)
    x = xp.where(t < 1, x, 0.0)  # no Newton steps from inf or nan
    upper = t > 0.5
    for _ in range(3):
        residual = xp.where(upper, (1 - t) - _erfc_array(x), _erf_array(x) - t)
        x = x - residual / ((2 / math.sqrt(math.pi)) * xp.exp(-x * x))
    x = xp.where(t == 1, xp.inf, xp.where(t > 1, xp.nan, x))  # and nan stays nan
    return xp.copysign(x, y).astype(y.dtype)


class Lgamma(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _lgamma_array(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * digamma(x)


class Digamma(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _digamma_array(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * Polygamma.apply(x, 1)


class Polygamma(Function):
    """The n-th derivative of digamma (n >= 1): digamma's gradient, and that gradient's."""

    @staticmethod
    @_quiet
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        return _polygamma_array(n, x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * Polygamma.apply(x, ctx.n + 1), None


class Erfinv(Function):
    @staticmethod
    @_quiet
    def forward(ctx, x):
        y = _erfinv_array(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * ((math.sqrt(math.pi) / 2) * exp(y * y))


@tensor_method
def lgamma(input) -> Tensor:
    """``log(|Gamma(input)|)``: inf at 0, at the negative integers and at +-inf; integer
    inputs give the default float dtype. Its gradient is ``digamma``.
    Example: ``ember.lgamma(ember.tensor([0.5, 3.0]))`` is ``tensor([0.5724, 0.6931])``."""
    return Lgamma._one(_float_input(input, "lgamma"))


@tensor_method
def digamma(input) -> Tensor:
    """``Gamma'(input) / Gamma(input)``, the derivative of ``lgamma``: -inf at +0, +inf at
    -0, nan at the negative integers."""
    return Digamma._one(_float_input(input, "digamma"))


@tensor_method
def erfinv(input) -> Tensor:
    """The inverse of ``erf``: ``erf(erfinv(y)) == y`` on (-1, 1), +-inf at +-1 and nan
    outside [-1, 1]. Example: ``ember.erfinv(ember.tensor([0.0, 0.5]))`` is
    ``tensor([0.0000, 0.4769])``."""
    return Erfinv._one(_float_input(input, "erfinv"))


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


# ---------------------------------------------------------------- more binary math
def _prepare_float(op, *operands):
    """``_prepare`` for ops that compute in floating point: integer and bool operands give
    the default float dtype (as ``div`` does)."""
    _check_types(op, operands)
    dt = dtypes.result_type(*operands)
    if not dt.is_floating_point:
        dt = dtypes.get_default_dtype()
    return _prepare(op, *operands, dtype=dt)


def _prepare_tensors(op, input, other, floating_only=False):
    """Operands of an op that takes two tensors (no Python numbers), promoted together."""
    check_tensor(input, op)
    check_tensor(other, op, "other")
    if floating_only:
        dt = dtypes.result_type(input, other)
        if not dt.is_floating_point:
            raise TypeError(
                f"{op}: expected floating-point tensors, received {input.dtype} and {other.dtype}"
            )
        return _prepare(op, input, other)
    return _prepare_float(op, input, other)


class Atan2(Function):
    @staticmethod
    @_quiet
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return get_array_module(a).arctan2(a, b)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        d = a * a + b * b
        r = where(d == 0, 0.0, reciprocal(d))  # PyTorch's 0 at the origin
        ga = gy * b * r if ctx.needs_input_grad[0] else None
        gb = gy * -a * r if ctx.needs_input_grad[1] else None
        return ga, gb


class Hypot(Function):
    @staticmethod
    @_quiet
    def forward(ctx, a, b):
        y = get_array_module(a).hypot(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        a, b, y = ctx.saved_tensors
        ga = gy * a / y if ctx.needs_input_grad[0] else None
        gb = gy * b / y if ctx.needs_input_grad[1] else None
        return ga, gb


class LogAddExp(Function):
    """``log(exp(a) + exp(b))``, or in base 2, without overflow."""

    @staticmethod
    @_quiet
    def forward(ctx, a, b, base2):
        xp = get_array_module(a)
        ctx.save_for_backward(a, b)
        ctx.base2 = base2
        return xp.logaddexp2(a, b) if base2 else xp.logaddexp(a, b)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        power = exp2 if ctx.base2 else exp
        ga = gy / (1 + power(b - a)) if ctx.needs_input_grad[0] else None
        gb = gy / (1 + power(a - b)) if ctx.needs_input_grad[1] else None
        return ga, gb, None


class Xlogy(Function):
    """``a * log(b)``, 0 where a is 0 (even where b is 0 or inf), nan where b is nan."""

    @staticmethod
    @_quiet
    def forward(ctx, a, b):
        xp = get_array_module(a)
        ctx.save_for_backward(a, b)
        y = xp.where(a == 0, xp.zeros((), a.dtype), a * xp.log(b))
        return xp.where(xp.isnan(b), b, y)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        ga = None
        if ctx.needs_input_grad[0]:  # log(b), but 0 where a = 0 and log(b) is -inf or nan
            ga = where((a == 0) & (b <= 0), 0.0, xlogy(gy, b))
        gb = gy * a / b if ctx.needs_input_grad[1] else None
        return ga, gb


class Copysign(Function):
    @staticmethod
    @_quiet
    def forward(ctx, a, b):
        y = get_array_module(a).copysign(a, b)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        ga = gb = None
        if ctx.needs_input_grad[0]:
            a, y = ctx.saved_tensors
            ga = gy * where(a == 0, 0.0, y / a)  # +-1, and 0 at 0 (as PyTorch)
        if ctx.needs_input_grad[1]:
            gb = _zeros_like(gy)
        return ga, gb


class Fmod(Function):
    """The remainder of truncated division (C's fmod): it has the sign of ``a``."""

    @staticmethod
    @_quiet
    def forward(ctx, a, b):
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        return get_array_module(a).fmod(a, b)

    @staticmethod
    def backward(ctx, gy):
        gb = None
        if ctx.needs_input_grad[1]:
            a, b = ctx.saved_tensors
            gb = -gy * div(a, b, rounding_mode="trunc")
        return gy, gb


class Lerp(Function):
    """``a + w * (b - a)``; ``w`` is a tensor or a Python number. As PyTorch, computed from
    the nearer end (``b - (b - a) * (1 - w)`` where |w| >= 0.5), so that w = 1 gives b."""

    @staticmethod
    @_quiet
    def forward(ctx, a, b, w):
        xp = get_array_module(a)
        need_w = ctx.needs_input_grad[2]
        ctx.save_for_backward(a if need_w else None, b if need_w else None, w)
        if not isinstance(w, xp.ndarray):
            return a + w * (b - a) if -0.5 < w < 0.5 else b - (b - a) * (1 - w)
        return xp.where((w > -0.5) & (w < 0.5), a + w * (b - a), b - (b - a) * (1 - w))

    @staticmethod
    def backward(ctx, gy):
        a, b, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        ga = gy * (1 - w) if need[0] else None
        gb = gy * w if need[1] else None
        gw = gy * (b - a) if need[2] else None
        return ga, gb, gw


class Heaviside(Function):
    """0 where x < 0, 1 where x > 0 and ``values`` where x is 0 (0 where x is nan, as
    PyTorch). A step function of x, whose gradient is zero; ``values`` gets the gradient
    where x is 0. (PyTorch has no derivative for heaviside, and raises instead.)"""

    @staticmethod
    def forward(ctx, x, v):
        xp = get_array_module(x)
        zero = x == 0
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(zero)
        return xp.where(zero, v, x > 0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        gx = _zeros_like(gy) if ctx.needs_input_grad[0] else None
        gv = None
        if ctx.needs_input_grad[1]:
            (zero,) = ctx.saved_tensors
            gv = where(zero, gy, 0.0)
        return gx, gv


@tensor_method
def atan2(input, other) -> Tensor:
    """The angle of the point (other, input), ``atan(input / other)`` in the right quadrant,
    in [-pi, pi]; two tensors, broadcast and promoted (integers give the default float
    dtype). Example: ``ember.atan2(y, x)``."""
    (a, b), _ = _prepare_tensors("atan2", input, other)
    return Atan2.apply(a, b)


@tensor_method
def arctan2(input, other) -> Tensor:
    """An alias of ``atan2``."""
    (a, b), _ = _prepare_tensors("arctan2", input, other)
    return Atan2.apply(a, b)


@tensor_method
def hypot(input, other) -> Tensor:
    """``sqrt(input**2 + other**2)`` without overflow; two floating-point tensors."""
    (a, b), _ = _prepare_tensors("hypot", input, other, floating_only=True)
    return Hypot.apply(a, b)


@tensor_method
def logaddexp(input, other) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow; two floating-point tensors."""
    (a, b), _ = _prepare_tensors("logaddexp", input, other, floating_only=True)
    return LogAddExp.apply(a, b, False)


@tensor_method
def logaddexp2(input, other) -> Tensor:
    """``log2(2**input + 2**other)`` without overflow; two floating-point tensors."""
    (a, b), _ = _prepare_tensors("logaddexp2", input, other, floating_only=True)
    return LogAddExp.apply(a, b, True)


@tensor_method
def xlogy(input, other) -> Tensor:
    """``input * log(other)``, but 0 where ``input`` is 0 (``0 * log(0)`` is 0) unless
    ``other`` is nan. Either may be a Python number; integers give the default float dtype.
    Example: ``ember.xlogy(p, p)`` is ``p * log(p)``, 0 where p is 0."""
    (a, b), _ = _prepare_float("xlogy", input, other)
    return Xlogy.apply(a, b)


@tensor_method
def copysign(input, other) -> Tensor:
    """``|input|`` with the sign of ``other`` (a tensor or a number; -0.0 counts as
    negative); integers give the default float dtype. ``other`` gets no gradient."""
    check_tensor(input, "copysign")
    (a, b), _ = _prepare_float("copysign", input, other)
    return Copysign.apply(a, b)


@tensor_method
def fmod(input, other) -> Tensor:
    """The remainder of ``input / other`` rounded toward zero (C's fmod): it has the sign of
    ``input``, where ``remainder``'s has the sign of ``other``. ``other`` may be a number.
    Example: ``ember.fmod(ember.tensor([-3, 3]), 2)`` is ``tensor([-1, 1])``."""
    check_tensor(input, "fmod")
    (a, b), dt = _prepare("fmod", input, other)
    if dt is dtypes.bool_:
        raise RuntimeError("fmod: not supported for bool tensors")
    _check_int_divisor("fmod", b._data)
    return Fmod.apply(a, b)


@tensor_method
def lerp(input, end, weight) -> Tensor:
    """Linear interpolation ``input + weight * (end - input)``; ``input`` and ``end`` are
    floating-point tensors of one dtype, ``weight`` a number or a tensor (of that dtype, or
    0-d); all three broadcast. Example: ``ember.lerp(a, b, 0.25)``."""
    _float_only(input, "lerp")
    check_tensor(end, "lerp", "end")
    if end.dtype is not input.dtype:
        raise RuntimeError(
            f"lerp: expected end to have the input's dtype {input.dtype}, received {end.dtype}"
        )
    if isinstance(weight, Tensor):
        if weight.dtype is not input.dtype:
            if weight.ndim:
                raise RuntimeError(
                    f"lerp: expected weight to have the input's dtype {input.dtype} (or to be "
                    f"0-d), received {weight.dtype}"
                )
            weight = weight.to(input.dtype)
    elif not is_number(weight):
        raise TypeError(
            f"lerp: expected weight to be a Tensor or a Python number, received "
            f"{type(weight).__name__}"
        )
    else:
        weight = float(weight)
    _check_shapes("lerp", (input, end, weight))
    return Lerp.apply(input, end, weight)


@tensor_method
def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` in double precision: the result is float64 whatever the dtypes
    (the gradient comes back in each input's dtype). Either may be a Python number."""
    _check_types("float_power", (input, exponent))
    _check_shapes("float_power", (input, exponent))
    a, b = (x.to(dtypes.float64) if isinstance(x, Tensor) else x for x in (input, exponent))
    return pow(a, b)


def float_power_(self, exponent) -> Tensor:
    """In-place ``float_power``: only a float64 tensor can hold its result."""
    if self.dtype is not dtypes.float64:
        raise RuntimeError(
            f"float_power_: the result has dtype ember.float64, which cannot be written in place "
            f"into a tensor of dtype {self.dtype}; use float_power() or a float64 tensor"
        )
    return self._inplace("float_power_", float_power, exponent)


Tensor.float_power_ = float_power_


@tensor_method
def heaviside(input, values) -> Tensor:
    """The Heaviside step function: 0 where ``input < 0``, 1 where ``input > 0`` and
    ``values`` (a tensor of the same dtype, broadcast) where it is 0."""
    check_tensor(input, "heaviside")
    check_tensor(values, "heaviside", "values")
    if values.dtype is not input.dtype:
        raise RuntimeError(
            f"heaviside: expected values to have the input's dtype {input.dtype}, received "
            f"{values.dtype}"
        )
    _check_shapes("heaviside", (input, values))
    return Heaviside.apply(input, values)


def _isclose(op, input, other, rtol, atol, equal_nan):
    check_tensor(input, op)
    check_tensor(other, op, "other")
    if other.dtype is not input.dtype:
        raise RuntimeError(
            f"{op}: expected other to have the input's dtype {input.dtype}, received {other.dtype}"
        )
    for name, v in (("rtol", rtol), ("atol", atol)):
        if not is_number(v) or isinstance(v, bool):
            raise TypeError(f"{op}: expected {name} to be a number, received {v!r}")
        if v < 0:
            raise ValueError(f"{op}: {name} must be greater than or equal to 0, received {v}")
    (a, b), _, xp = _raw_operands(op, input, other)
    return _close(xp, a, b, float(rtol), float(atol), equal_nan)


@_quiet  # inf - inf
def _close(xp, a, b, rtol, atol, equal_nan):
    close = a == b
    if a.dtype.kind in "fV":
        if equal_nan:
            close |= xp.isnan(a) & xp.isnan(b)
    else:  # as PyTorch: integers (and bools) are compared in the default float dtype
        ft = dtypes.get_default_dtype().np
        a, b = a.astype(ft), b.astype(ft)
    if rtol == 0 and atol == 0:
        return close
    allowed = atol + xp.abs(rtol * b)
    actual = xp.abs(a - b)
    return close | (xp.isfinite(actual) & (actual <= allowed))


@tensor_method
def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:  # fmt: skip
    """True where ``|input - other| <= atol + rtol * |other|``, elementwise (a bool tensor);
    equal infinities are close, nans only with ``equal_nan=True``. The two tensors have one
    dtype and broadcast. Example: ``ember.isclose(x, y, rtol=1e-3)``."""
    return _result(_isclose("isclose", input, other, rtol, atol, equal_nan))


@tensor_method
def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:  # fmt: skip
    """Whether ``isclose`` holds for every element, as a Python bool."""
    return bool(_isclose("allclose", input, other, rtol, atol, equal_nan).all())


@tensor_method
def equal(input, other) -> bool:
    """Whether the two tensors have the same shape and the same values (after type
    promotion; nan equals nothing), as a Python bool."""
    check_tensor(input, "equal")
    check_tensor(other, "equal", "other")
    if input._data.shape != other._data.shape:
        return False
    (a, b), _, _ = _raw_operands("equal", input, other)
    return bool((a == b).all())


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
    """relu in one compiled loop (ember.kernels.nn.relu), and its gradient in another
    (ReluBackward); Relu is the reference."""

    @staticmethod
    def forward(ctx, x):
        y = knn.relu(x)
        ctx.save_for_backward(y)
        return y

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
    """``x + y`` and friends: two Tensors of one floating dtype, shape and device go straight
    to the op (``_no_promotion``'s commonest case, without its call; ``Function._pair``);
    anything else through ``fn``."""
    pair = op._pair

    def method(self, other):
        if isinstance(other, Tensor):
            x, y = self._data, other._data
            if (
                x.dtype is y.dtype
                and x.shape == y.shape
                and x.dtype.kind == "f"
                and type(x) is type(y)
            ):
                return pair(self, other)
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
    ("square_", square), ("tan_", tan), ("sinh_", sinh), ("cosh_", cosh), ("asin_", asin),
    ("acos_", acos), ("atan_", atan), ("asinh_", asinh), ("acosh_", acosh), ("atanh_", atanh),
    ("arcsin_", arcsin), ("arccos_", arccos), ("arctan_", arctan), ("arcsinh_", arcsinh),
    ("arccosh_", arccosh), ("arctanh_", arctanh), ("atan2_", atan2), ("arctan2_", arctan2),
    ("reciprocal_", reciprocal), ("log2_", log2), ("log10_", log10), ("exp2_", exp2),
    ("trunc_", trunc), ("fix_", fix), ("frac_", frac), ("fmod_", fmod), ("lerp_", lerp),
    ("xlogy_", xlogy), ("hypot_", hypot), ("copysign_", copysign), ("deg2rad_", deg2rad),
    ("rad2deg_", rad2deg), ("logit_", logit), ("nan_to_num_", nan_to_num), ("sgn_", sgn),
    ("negative_", negative), ("absolute_", absolute), ("heaviside_", heaviside),
    ("lgamma_", lgamma), ("digamma_", digamma), ("erfinv_", erfinv),
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
