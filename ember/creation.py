"""Functions that create tensors: tensor, zeros, ones, arange, randn … and their *_like forms."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ember import backend, dtypes
from ember.random import _rng
from ember.tensor import Tensor

# The largest finite value of each floating dtype (ml_dtypes may be absent for bfloat16).
_FLOAT_MAX = {
    "float16": 65504.0,
    "bfloat16": 3.3895313892515355e38,
    "float32": 3.4028234663852886e38,
}


# ---------------------------------------------------------------- from data
def _flatten_tensors(data):
    """Replace Tensors inside nested lists by their CPU arrays (copying only the lists on
    the way to a Tensor)."""
    if isinstance(data, Tensor):
        return backend.to_device(data._data, backend.CPU)
    if isinstance(data, (list, tuple)):
        if not any(issubclass(t, (list, tuple, Tensor)) for t in set(map(type, data))):
            return data
        return [_flatten_tensors(d) for d in data]
    return data


def _join(a, b):
    return b if a is None else a if b is None else dtypes.promote_types(a, b)


def _infer_dtype(data):
    """PyTorch's dtype for nested data: the promotion of its elements' dtypes, where Python
    floats count as the default dtype, ints as int64 and bools as bool, and NumPy scalars,
    arrays and tensors bring their own. None for an empty list (the caller's default)."""
    if isinstance(data, (list, tuple)):
        d = None
        for t in set(map(type, data)):  # one pass in C; a list of floats needs no more
            if t is float:
                d = _join(d, dtypes.get_default_dtype())
            elif t is int:
                d = _join(d, dtypes.int64)
            elif t is bool:
                d = _join(d, dtypes.bool_)
            else:
                for v in data:
                    if type(v) is t:
                        d = _join(d, _infer_dtype(v))
        return d
    if isinstance(data, Tensor):
        return data.dtype
    if isinstance(data, (np.ndarray, np.generic)):
        if data.dtype.kind == "O":
            raise TypeError("tensor: cannot make a tensor from a NumPy array of Python objects")
        try:
            return dtypes.from_numpy_dtype(data.dtype)
        except TypeError as e:
            raise TypeError(f"tensor: {e}") from None
    if isinstance(data, bool):
        return dtypes.bool_
    if isinstance(data, numbers.Integral):
        return dtypes.int64
    if isinstance(data, numbers.Real):
        return dtypes.get_default_dtype()
    raise TypeError(
        f"tensor: expected numbers, booleans, tensors, NumPy arrays or nested lists of them, "
        f"received {type(data).__name__}"
    )


def _check_python_values(a: np.ndarray, d: dtypes.dtype, op: str) -> None:
    """Python numbers (not arrays, which are cast) must fit an integer dtype, as in PyTorch."""
    if d.category != dtypes._INT or a.size == 0 or a.dtype.kind not in "iuf":
        return
    info = np.iinfo(d.np)
    lo, hi = a.min(), a.max()
    if a.dtype.kind == "f" and not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"{op}: a non-finite value cannot be converted to {d}")
    if lo < info.min or hi > info.max:
        bad = lo if lo < info.min else hi
        raise RuntimeError(f"{op}: the value {bad} cannot be converted to {d} without overflow")


def _to_array(data, dtype=None, device=None, copy=True):
    device = backend.as_device(device)
    d = dtypes.as_dtype(dtype) if dtype is not None else None
    if isinstance(data, Tensor):
        arr = data._data
        if d is not None and arr.dtype != d.np:
            arr = arr.astype(d.np)
        elif copy:
            arr = arr.copy()
        return backend.to_device(arr, device)
    if backend.is_array(data) and not isinstance(data, np.ndarray):  # a CuPy array
        arr = data.astype(d.np) if d is not None else data.copy()
        return backend.to_device(arr, device)
    if isinstance(data, (str, bytes)) or data is None:
        raise TypeError(
            f"tensor: expected numbers or nested lists of numbers, received {type(data).__name__}"
        )
    inferred = _infer_dtype(data)
    if d is None:
        d = inferred if inferred is not None else dtypes.get_default_dtype()
    if isinstance(data, np.ndarray):
        a = data.astype(d.np, copy=copy)  # NumPy arrays are cast, never checked (PyTorch too)
        return backend.to_device(a, device)
    try:
        a = np.array(_flatten_tensors(data))
    except ValueError as e:
        raise ValueError(f"tensor: the nested lists have uneven lengths ({e})") from None
    except OverflowError:
        raise RuntimeError(f"tensor: a value is too large for {d}") from None
    if a.dtype == object:  # ints beyond 64 bits
        raise RuntimeError(f"tensor: a value is too large for {d}")
    _check_python_values(a, d, "tensor")
    with np.errstate(over="ignore"):  # floats beyond the dtype's range become inf, as in torch
        a = a.astype(d.np, copy=False)
    return backend.to_device(a, device)


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, a NumPy array …).

    Python floats become the default dtype (float32), ints int64, bools bool; NumPy arrays
    and scalars keep their dtype, and mixed lists take the promotion of their elements.
    Example: ``ember.tensor([[1., 2.], [3., 4.]], requires_grad=True)``
    """
    t = Tensor._make(_to_array(data, dtype, device))
    if requires_grad:
        t.requires_grad = True
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but without a copy when ``data`` is already a tensor or a NumPy array
    of the right dtype and device (the result then shares its memory)."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (dtype or device) else data
    if (
        isinstance(data, np.ndarray)
        and backend.as_device(device).type == "cpu"
        and (dtype is None or dtypes.as_dtype(dtype).np == data.dtype)
    ):
        return from_numpy(data)
    return Tensor._make(_to_array(data, dtype, device, copy=False))


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array: a change to one shows in the other.

    Example: ``a = np.zeros(3); t = ember.from_numpy(a); a[0] = 1  # t[0] is 1 too``
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, received {type(ndarray).__name__}")
    try:
        dtypes.from_numpy_dtype(ndarray.dtype)
    except TypeError as e:
        raise TypeError(f"from_numpy: {e}") from None
    return Tensor._make(ndarray)


def from_dlpack(ext_tensor) -> Tensor:
    """A tensor sharing memory with any DLPack producer (NumPy, CuPy, PyTorch, JAX …).

    Example: ``ember.from_dlpack(torch.arange(3))`` (no copy: the two share memory)."""
    if not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack: {type(ext_tensor).__name__} does not implement __dlpack__")
    try:
        arr = backend.from_dlpack(ext_tensor)
    except (BufferError, RuntimeError, TypeError) as e:
        raise RuntimeError(
            f"from_dlpack: cannot import this {type(ext_tensor).__name__} ({e}); NumPy's "
            "DLPack import supports bool, integer and float16/32/64 data (convert bfloat16 "
            "to float32 first) and needs a tensor that does not require grad"
        ) from None
    try:
        dtypes.from_numpy_dtype(arr.dtype)
    except TypeError as e:
        raise TypeError(f"from_dlpack: {e}") from None
    return Tensor._make(arr)


# ---------------------------------------------------------------- filled tensors
def _shape(size, op):
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = tuple(size[0])
    out = []
    for n in size:
        if isinstance(n, Tensor):
            n = n.__index__()
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{op}: sizes must be ints, received {tuple(size)!r}")
        if n < 0:
            raise ValueError(f"{op}: sizes must be non-negative, received {tuple(size)}")
        out.append(int(n))
    return tuple(out)


def _sizes(size, op):
    """The shape from ``zeros(2, 3)`` or ``zeros((2, 3))``; ``zeros()`` is an error, as in
    PyTorch (``zeros(())`` makes a 0-d tensor)."""
    if not size:
        raise TypeError(f"{op}: missing the size, e.g. {op}(2, 3) or {op}((2, 3))")
    return _shape(size, op)


def _float_dtype(dtype):
    return dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()


def _make(arr_fn, device, requires_grad):
    device = backend.as_device(device)
    xp = backend.array_module(device)
    with backend.use_device(device):
        arr = arr_fn(xp)
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad = True
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros: ``ember.zeros(2, 3)`` or ``ember.zeros((2, 3))``."""
    shape, d = _sizes(size, "zeros"), _float_dtype(dtype)
    return _make(lambda xp: xp.zeros(shape, d.np), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ones: ``ember.ones(2, 3)`` or ``ember.ones((2, 3))``."""
    shape, d = _sizes(size, "ones"), _float_dtype(dtype)
    return _make(lambda xp: xp.ones(shape, d.np), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor: ``ember.empty(2, 3)``."""
    shape, d = _sizes(size, "empty"), _float_dtype(dtype)
    return _make(lambda xp: xp.empty(shape, d.np), device, requires_grad)


def _check_fits(value, d: dtypes.dtype, op: str) -> None:
    """PyTorch refuses a fill value its dtype cannot hold (c10's overflow rule: unsigned
    types accept negatives down to -max, which wrap)."""
    if d is dtypes.bool_:
        return
    if d.category == dtypes._INT:
        info = np.iinfo(d.np)
        if isinstance(value, float):
            ok = math.isfinite(value) and info.min <= value <= info.max
        elif info.min == 0:
            ok = -info.max <= value <= info.max
        else:
            ok = info.min <= value <= info.max
    else:
        ok = (
            d.name not in _FLOAT_MAX
            or (isinstance(value, float) and not math.isfinite(value))
            or abs(value) <= _FLOAT_MAX[d.name]
        )
    if not ok:
        raise RuntimeError(
            f"{op}: fill_value {value!r} cannot be converted to {d} without overflow"
        )


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor filled with ``fill_value``; without ``dtype`` the value decides it (float ->
    the default dtype, int -> int64, bool -> bool). Example: ``ember.full((2, 3), 0.5)``"""
    return _full("full", size, fill_value, dtype, device, requires_grad)


def _full(op, size, fill_value, dtype, device, requires_grad) -> Tensor:
    shape = _shape((size,) if isinstance(size, numbers.Integral) else tuple(size), op)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    if not isinstance(fill_value, (bool, int, float)):
        raise TypeError(f"{op}: fill_value must be a number, received {type(fill_value).__name__}")
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes._scalar_dtype(fill_value)
    _check_fits(fill_value, d, op)
    # np.asarray(...).astype wraps negative ints into unsigned types as PyTorch does
    value = np.asarray(fill_value).astype(d.np) if d.category == dtypes._INT else fill_value
    return _make(lambda xp: xp.full(shape, value, d.np), device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A 2-D ``n`` x ``m`` tensor (``m`` defaults to ``n``) with ones on the diagonal."""
    n, m = _shape((n, n if m is None else m), "eye")
    d = _float_dtype(dtype)
    return _make(lambda xp: xp.eye(n, m, dtype=d.np), device, requires_grad)


def _number(v, op, what):
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{op}: {what} must be a number, received {type(v).__name__}")
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"{op}: {what} must be finite, received {v}")
    return v


def arange(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (excluded) by ``step``; int arguments give int64,
    any float one the default dtype. Example: ``ember.arange(5)``, ``ember.arange(1, 0, -0.25)``
    """
    if end is None:
        start, end = 0, start
    start, end, step = (
        _number(v, "arange", w) for v, w in ((start, "start"), (end, "end"), (step, "step"))
    )
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(
            f"arange: the range from {start} to {end} is empty for step {step}; "
            "upper bound and lower bound are inconsistent with the step sign"
        )
    all_int = all(isinstance(v, int) for v in (start, end, step))
    if dtype is None:
        d = dtypes.int64 if all_int else dtypes.get_default_dtype()
    else:
        d = dtypes.as_dtype(dtype)
    if d is dtypes.bool_:
        raise TypeError("arange: not supported for dtype ember.bool")
    n = math.ceil((end - start) / step)

    def build(xp):
        if all_int:  # exact, even beyond 2**53
            return xp.arange(start, end, step, dtype=np.int64).astype(d.np, copy=False)
        return (start + xp.arange(n, dtype=np.float64) * step).astype(d.np)

    return _make(build, device, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included.

    Example: ``ember.linspace(0, 1, 5)`` is ``tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])``
    """
    start, end = _number(start, "linspace", "start"), _number(end, "linspace", "end")
    steps = _steps(steps, "linspace")
    d = _float_dtype(dtype)
    return _make(lambda xp: xp.linspace(start, end, steps).astype(d.np), device, requires_grad)


def _steps(steps, op) -> int:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise TypeError(f"{op}: steps must be an int, received {type(steps).__name__}")
    if steps < 0:
        raise ValueError(f"{op}: steps must be non-negative, received {steps}")
    return int(steps)


def logspace(
    start, end, steps: int, base: float = 10.0, *, dtype=None, device=None, requires_grad=False
) -> Tensor:
    """``steps`` values from ``base ** start`` to ``base ** end``, both included, evenly spaced
    on a logarithmic scale.

    For an integer dtype, ``start`` and ``end`` are first truncated to integers, and so are
    the powers, as in PyTorch. Example: ``ember.logspace(0, 2, 3)`` is
    ``tensor([  1.,  10., 100.])``
    """
    start, end = _number(start, "logspace", "start"), _number(end, "logspace", "end")
    steps, base = _steps(steps, "logspace"), _number(base, "logspace", "base")
    d = _float_dtype(dtype)
    if d is dtypes.bool_:
        raise TypeError("logspace: not supported for dtype ember.bool")
    if d.category == dtypes._INT:
        start, end = int(start), int(end)

    def build(xp):
        i = xp.arange(steps, dtype=np.float64)
        step = (end - start) / (steps - 1) if steps > 1 else 0.0
        # PyTorch counts the second half down from end, so that the last value is base ** end
        exponent = xp.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i))
        if steps == 1:
            exponent[0] = start
        with np.errstate(over="ignore", invalid="ignore"):
            return xp.power(float(base), exponent).astype(d.np)

    return _make(build, device, requires_grad)


# ---------------------------------------------------------------- random
def _random(op, size, generator, dtype, device, requires_grad, draw):
    shape = _sizes(size, op)
    d = _float_dtype(dtype)
    if not d.is_floating_point:
        raise TypeError(f"{op}: expected a floating-point dtype, received {d}")
    device = backend.as_device(device)
    if device.type != "cpu":
        backend.array_module(device)  # fail before drawing, leaving the generator unchanged
    arr = np.asarray(draw(_rng(generator), shape)).astype(d.np, copy=False)  # 0-d: an array
    t = Tensor._make(backend.to_device(arr, device))
    if requires_grad:
        t.requires_grad = True
    return t


# Bits of precision of each floating dtype: uniform numbers are drawn on its grid of steps
# 2**-bits, since rounding a float64 draw to a coarser type could give exactly 1.0.
_MANTISSA = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}


def _uniform(d):
    scale = 2.0 ** _MANTISSA.get(d.name, 53)  # a non-float dtype is refused by _random
    return lambda g, s: np.floor(g.random(s) * scale) / scale


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform random numbers in [0, 1): ``ember.rand(2, 3)``."""
    d = _float_dtype(dtype)
    return _random("rand", size, generator, d, device, requires_grad, _uniform(d))


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal random numbers (mean 0, standard deviation 1): ``ember.randn(2, 3)``."""
    return _random(
        "randn", size, generator, dtype, device, requires_grad, lambda g, s: g.standard_normal(s)
    )


def _int_arg(v, op, what):
    if isinstance(v, Tensor):
        v = v.__index__()
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{op}: {what} must be an int, received {type(v).__name__}")
    return int(v)


def _int_range(d: dtypes.dtype):
    if d is dtypes.bool_:
        return 0, 1
    if d.category == dtypes._INT:
        info = np.iinfo(d.np)
        return int(info.min), int(info.max)
    return -(2**63), 2**63 - 1  # drawn as int64, then converted


def randint(
    low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False
) -> Tensor:
    """Random integers in [low, high): ``ember.randint(10, (3,))``, ``ember.randint(2, 10, (3,))``.

    The dtype is int64 unless given."""
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: missing the size, e.g. randint(10, (3,)) or randint(2, 10, (3,))")
    if high is None:
        low, high = 0, low
    low, high = _int_arg(low, "randint", "low"), _int_arg(high, "randint", "high")
    if high <= low:
        raise ValueError(f"randint: expected low < high, received low={low}, high={high}")
    shape = _shape(tuple(size) if isinstance(size, (tuple, list)) else (size,), "randint")
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    lo, hi = _int_range(d)
    if low < lo or high - 1 > hi:
        raise ValueError(
            f"randint: the range [{low}, {high}) does not fit dtype {d}, which holds [{lo}, {hi}]"
        )
    device = backend.as_device(device)
    if device.type != "cpu":
        backend.array_module(device)
    arr = _rng(generator).integers(low, high, shape, dtype=np.int64).astype(d.np)
    t = Tensor._make(backend.to_device(arr, device))
    if requires_grad:
        t.requires_grad = True
    return t


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A random permutation of 0 … n-1: ``ember.randperm(5)``."""
    n = _int_arg(n, "randperm", "n")
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, received {n}")
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    if d is dtypes.bool_:
        raise TypeError("randperm: not supported for dtype ember.bool")
    if d.category == dtypes._INT and n - 1 > np.iinfo(d.np).max:
        raise ValueError(f"randperm: n={n} is too large for dtype {d}")
    if d is dtypes.float16 and n > 2049:
        raise ValueError(f"randperm: n={n} is too large for dtype {d} (at most 2049)")
    device = backend.as_device(device)
    if device.type != "cpu":
        backend.array_module(device)
    arr = _rng(generator).permutation(n).astype(d.np)
    t = Tensor._make(backend.to_device(arr, device))
    if requires_grad:
        t.requires_grad = True
    return t


# ---------------------------------------------------------------- *_like
def _check_like(input, op):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, received {type(input).__name__}")
    return input


def zeros_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros with the shape (and, unless given, the dtype and device) of ``input``."""
    x = _check_like(input, "zeros_like")
    return zeros(x.shape, dtype=dtype or x.dtype, device=device or x.device,
                 requires_grad=requires_grad)  # fmt: skip


def ones_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones with the shape (and, unless given, the dtype and device) of ``input``."""
    x = _check_like(input, "ones_like")
    return ones(x.shape, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)  # fmt: skip


def empty_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor with the shape (dtype, device) of ``input``."""
    x = _check_like(input, "empty_like")
    return empty(x.shape, dtype=dtype or x.dtype, device=device or x.device,
                 requires_grad=requires_grad)  # fmt: skip


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``fill_value`` with the shape (and, unless given, the dtype and device) of ``input``."""
    x = _check_like(input, "full_like")
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)  # fmt: skip


def rand_like(input, *, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Uniform random numbers in [0, 1) with the shape (dtype, device) of ``input``."""
    x = _check_like(input, "rand_like")
    d = dtypes.as_dtype(dtype or x.dtype)
    return _random(
        "rand_like", (x.shape,), generator, d, device or x.device, requires_grad, _uniform(d)
    )


def randn_like(input, *, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Standard normal random numbers with the shape (dtype, device) of ``input``."""
    x = _check_like(input, "randn_like")
    return _random(
        "randn_like", (x.shape,), generator, dtype or x.dtype, device or x.device,
        requires_grad, lambda g, s: g.standard_normal(s),
    )  # fmt: skip


def randint_like(
    input, low=0, high=None, *, dtype=None, device=None, requires_grad=False, generator=None
) -> Tensor:
    """Random integers in [low, high) with the shape (dtype, device) of ``input``:
    ``ember.randint_like(x, 10)`` or ``ember.randint_like(x, 2, 10)``."""
    x = _check_like(input, "randint_like")
    if high is None:
        low, high = 0, low
    return randint(low, high, x.shape, generator=generator, dtype=dtype or x.dtype,
                   device=device or x.device, requires_grad=requires_grad)  # fmt: skip


# ---------------------------------------------------------------- Tensor.new_*
# Tensors like this one: its dtype and device unless others are given, the shape given.
def _new_args(self, dtype, device):
    return (self.dtype if dtype is None else dtype), (self.device if device is None else device)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of shape ``size``, with this tensor's dtype and device unless given:
    ``x.new_zeros(2, 3)`` or ``x.new_zeros((2, 3))``."""
    shape, (d, dev) = _sizes(size, "new_zeros"), _new_args(self, dtype, device)
    return zeros(shape, dtype=d, device=dev, requires_grad=requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones of shape ``size``, with this tensor's dtype and device unless given."""
    shape, (d, dev) = _sizes(size, "new_ones"), _new_args(self, dtype, device)
    return ones(shape, dtype=d, device=dev, requires_grad=requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor of shape ``size``, with this tensor's dtype and device unless
    given."""
    shape, (d, dev) = _sizes(size, "new_empty"), _new_args(self, dtype, device)
    return empty(shape, dtype=d, device=dev, requires_grad=requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``fill_value`` in shape ``size``, with this tensor's dtype (whatever the value's type)
    and device unless given: ``x.new_full((2, 3), 0.5)``."""
    d, dev = _new_args(self, dtype, device)
    return _full("new_full", size, fill_value, d, dev, requires_grad)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A copy of ``data`` as a new leaf, with this tensor's dtype (not one inferred from the
    data) and device unless given: ``x.new_tensor([1, 2])``."""
    d, dev = _new_args(self, dtype, device)
    return tensor(data, dtype=d, device=dev, requires_grad=requires_grad)


Tensor.new_zeros = new_zeros
Tensor.new_ones = new_ones
Tensor.new_empty = new_empty
Tensor.new_full = new_full
Tensor.new_tensor = new_tensor


# ---------------------------------------------------------------- in-place random fills
def _fill_random(self, op, draw, generator, floating=True) -> Tensor:
    """Write ``draw(rng, shape)`` (NumPy values, drawn on the CPU from ``generator`` or the
    default generator) into this tensor in place. Under autograd the old values get a zero
    gradient, as in PyTorch."""
    if floating and not self.is_floating_point():
        raise TypeError(f"{op}: expected a tensor of floating-point dtype, received {self.dtype}")
    rng = _rng(generator)
    from ember.ops.elementwise import Fill  # the ops import this module

    def fill(x):
        # drawn here, after _inplace's checks, so that a refused call draws nothing
        arr = np.asarray(draw(rng, x.shape)).astype(x._data.dtype)
        return Fill.apply(x, backend.to_device(arr, x.device))

    return self._inplace(op, fill)


def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with numbers drawn from the normal distribution N(mean, std**2), in place.

    Example: ``ember.empty(3, 4).normal_(0.0, 0.02)``"""
    mean, std = _number(mean, "normal_", "mean"), _number(std, "normal_", "std")
    if std < 0:
        raise ValueError(f"normal_: expected std >= 0, received std={std}")
    return _fill_random(self, "normal_", lambda g, s: g.normal(mean, std, s), generator)


def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator=None) -> Tensor:
    """Fill with numbers drawn uniformly from [from_, to), in place (PyTorch's ``from``
    argument, a Python keyword, is spelt ``from_``). Example: ``ember.empty(3).uniform_(-1, 1)``
    """
    lo, hi = _number(from_, "uniform_", "from"), _number(to, "uniform_", "to")
    if lo > hi:
        raise ValueError(f"uniform_: expected from <= to, received from={lo}, to={hi}")
    scale = 2.0 ** _MANTISSA.get(self.dtype.name, 53)  # a non-float dtype is refused later

    def draw(g, s):  # on the dtype's grid of steps, as rand (see _uniform)
        return lo + (hi - lo) * (np.floor(g.random(s) * scale) / scale)

    return _fill_random(self, "uniform_", draw, generator)


def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill with numbers whose logarithm is normal with ``mean`` and ``std``, in place."""
    mean, std = _number(mean, "log_normal_", "mean"), _number(std, "log_normal_", "std")
    if std <= 0:
        raise ValueError(f"log_normal_: expected std > 0, received std={std}")
    return _fill_random(self, "log_normal_", lambda g, s: g.lognormal(mean, std, s), generator)


def exponential_(self, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with numbers drawn from the exponential distribution of rate ``lambd`` (mean
    1 / lambd), in place."""
    lambd = _number(lambd, "exponential_", "lambd")
    if lambd <= 0:
        raise ValueError(f"exponential_: expected lambd > 0, received lambd={lambd}")
    return _fill_random(self, "exponential_", lambda g, s: g.exponential(1.0 / lambd, s), generator)


def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    """Fill with 1 (probability ``p``) or 0, in place; ``p`` is a number or a tensor of
    probabilities that broadcasts to this tensor's shape. Any dtype.

    Example: ``keep = ember.empty(4, dtype=ember.bool).bernoulli_(0.9)``"""
    if isinstance(p, Tensor) and p.ndim:
        probs = backend.to_device(p.detach()._data, backend.CPU).astype(np.float64)
        try:
            probs = np.broadcast_to(probs, self.shape)
        except ValueError:
            raise RuntimeError(
                f"bernoulli_: p of shape {tuple(p.shape)} does not broadcast to the tensor's "
                f"shape {tuple(self.shape)}"
            ) from None
        bad = probs[(probs < 0) | (probs > 1) | np.isnan(probs)]
        if bad.size:
            raise ValueError(f"bernoulli_: expected p in [0, 1], received p={bad[0]}")
    else:
        probs = _number(p, "bernoulli_", "p")
        if not 0 <= probs <= 1:
            raise ValueError(f"bernoulli_: expected p in [0, 1], received p={probs}")
    return _fill_random(
        self, "bernoulli_", lambda g, s: g.random(s) < probs, generator, floating=False
    )


def random_(self, from_=None, to=None, *, generator=None) -> Tensor:
    """Fill with integers drawn uniformly, in place: ``random_(from_, to)`` from [from_, to),
    ``random_(to)`` from [0, to), and ``random_()`` from 0 up to the dtype's largest integer
    (2 ** mantissa bits for floating dtypes, so that every value is exact). Any dtype."""
    if to is None and from_ is not None:  # random_(to)
        from_, to = 0, from_
    lo = 0 if from_ is None else _int_arg(from_, "random_", "from")
    d = self.dtype
    if d.is_floating_point:
        dmin, dmax = -(2**63), 2**63 - 1  # drawn as int64, then converted
        top = 2 ** _MANTISSA[d.name]
    else:
        dmin, dmax = _int_range(d)
        top = dmax
    if to is None:
        hi = top
    else:
        hi = _int_arg(to, "random_", "to") - 1
        if hi < lo:
            raise ValueError(f"random_: expected from < to, received from={lo}, to={hi + 1}")
    if lo < dmin or hi > dmax:
        raise ValueError(
            f"random_: the range [{lo}, {hi}] does not fit dtype {d}, which holds [{dmin}, {dmax}]"
        )
    return _fill_random(
        self, "random_",
        lambda g, s: g.integers(lo, hi, s, dtype=np.int64, endpoint=True), generator,
        floating=False,
    )  # fmt: skip


Tensor.normal_ = normal_
Tensor.uniform_ = uniform_
Tensor.log_normal_ = log_normal_
Tensor.exponential_ = exponential_
Tensor.bernoulli_ = bernoulli_
Tensor.random_ = random_
