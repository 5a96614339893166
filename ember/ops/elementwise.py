"""Elementwise ops: arithmetic, comparisons, math functions and activations."""

from __future__ import annotations

from ember import backend, dtypes
from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.ops._util import promote, tensor_method
from ember.tensor import Tensor

__all__ = ["clone", "add", "sub", "mul", "div", "neg", "pow", "exp", "log"]


# ---------------------------------------------------------------- casts and copies
class ToDtype(Function):
    @staticmethod
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
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, gy):
        return gy, gy


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, gy):
        return gy, -gy


class Mul(Function):
    @staticmethod
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
    def forward(ctx, a, b):
        y = a / b
        ctx.save_for_backward(b, y if ctx.needs_input_grad[1] else None)
        return y

    @staticmethod
    def backward(ctx, gy):
        b, y = ctx.saved_tensors
        ga = gy / b if ctx.needs_input_grad[0] else None
        gb = -gy * y / b if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, gy):
        return -gy


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        xp = get_array_module(a if not isinstance(a, (int, float)) else b)
        y = xp.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        a, b, y = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = gy * b * a ** (b - 1)
        if ctx.needs_input_grad[1]:
            gb = gy * y * log(a)
        return ga, gb


class PowScalar(Function):
    """x ** c for a Python number c (no gradient for c, no log needed)."""

    @staticmethod
    def forward(ctx, x, c):
        ctx.save_for_backward(x)
        ctx.c = c
        return x**c

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        c = ctx.c
        if c == 0:
            return gy * 0
        return gy * (c * x ** (c - 1)) if c != 1 else gy


def _arith(cls, op, a, b):
    (a, b), _ = promote(op, a, b)
    if not isinstance(a, Tensor):
        a = _scalar_like(a, b)
    return cls.apply(a, b)


def _scalar_like(v, t: Tensor) -> Tensor:
    xp = get_array_module(t._data)
    return Tensor._make(xp.asarray(v, dtype=t._data.dtype))


@tensor_method
def add(input, other, *, alpha=1) -> Tensor:
    """input + alpha * other, with broadcasting and type promotion."""
    if alpha != 1:
        other = other * alpha
    return _arith(Add, "add", input, other)


@tensor_method
def sub(input, other, *, alpha=1) -> Tensor:
    """input - alpha * other."""
    if alpha != 1:
        other = other * alpha
    return _arith(Sub, "sub", input, other)


@tensor_method
def mul(input, other) -> Tensor:
    """input * other."""
    return _arith(Mul, "mul", input, other)


@tensor_method
def div(input, other, *, rounding_mode=None) -> Tensor:
    """input / other; integer inputs give a floating-point result."""
    (a, b), dt = promote("div", input, other)
    if not dt.is_floating_point:
        (a, b), dt = promote("div", a, b, dtype=dtypes.get_default_dtype())
    if not isinstance(a, Tensor):
        a = _scalar_like(a, b)
    return Div.apply(a, b)


@tensor_method
def neg(input) -> Tensor:
    return Neg.apply(input)


@tensor_method
def pow(input, exponent) -> Tensor:
    """input ** exponent, elementwise."""
    if isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        (x, c), _ = promote("pow", input, exponent)
        return PowScalar.apply(x, c)
    return _arith(Pow, "pow", input, exponent)


# ---------------------------------------------------------------- math
def _float_input(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, received {type(x).__name__}")
    if x._data.dtype.kind not in "fV":
        return x.to(dtypes.get_default_dtype())
    return x


class Exp(Function):
    @staticmethod
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
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / x


@tensor_method
def exp(input) -> Tensor:
    return Exp.apply(_float_input(input, "exp"))


@tensor_method
def log(input) -> Tensor:
    return Log.apply(_float_input(input, "log"))


# ---------------------------------------------------------------- operators
def _rsub(self, other):
    return sub(other, self)


def _rdiv(self, other):
    return div(other, self)


def _rpow(self, other):
    return _arith(Pow, "pow", other, self)


Tensor.__add__ = Tensor.__radd__ = add
Tensor.__sub__ = sub
Tensor.__rsub__ = _rsub
Tensor.__mul__ = Tensor.__rmul__ = mul
Tensor.__truediv__ = div
Tensor.__rtruediv__ = _rdiv
Tensor.__neg__ = neg
Tensor.__pow__ = pow
Tensor.__rpow__ = _rpow


def _iop(name, fn):
    def method(self, other, **kwargs):
        return self._inplace(name, fn, other, **kwargs)

    method.__name__ = name
    return method


Tensor.add_ = Tensor.__iadd__ = _iop("add_", add)
Tensor.sub_ = Tensor.__isub__ = _iop("sub_", sub)
Tensor.mul_ = Tensor.__imul__ = _iop("mul_", mul)
Tensor.div_ = Tensor.__itruediv__ = _iop("div_", div)
Tensor.pow_ = Tensor.__ipow__ = _iop("pow_", pow)


# The activations that ember.nn.functional re-exports, by name.
ACTIVATIONS: dict = {}
