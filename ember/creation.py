"""Functions that create tensors: tensor, zeros, ones, arange, randn … and their *_like forms."""

from __future__ import annotations

import numbers

import numpy as np

from ember import backend, dtypes
from ember.random import _rng
from ember.tensor import Tensor


def _flatten_tensors(data):
    """Replace Tensors inside nested lists by their CPU arrays."""
    if isinstance(data, Tensor):
        return backend.to_device(data._data, backend.CPU)
    if isinstance(data, (list, tuple)):
        return [_flatten_tensors(d) for d in data]
    return data


def _infer_dtype(a: np.ndarray, data) -> dtypes.dtype:
    kind = a.dtype.kind
    if kind == "f":
        # Python floats take the default dtype; NumPy arrays keep theirs.
        return dtypes.from_numpy_dtype(a.dtype) if isinstance(data, np.ndarray) else dtypes.get_default_dtype()
    if kind == "b":
        return dtypes.bool_
    if kind in "iu":
        if isinstance(data, np.ndarray) or isinstance(data, np.generic):
            return dtypes.from_numpy_dtype(a.dtype)
        return dtypes.int64
    if kind == "V":
        return dtypes.bfloat16
    raise TypeError(
        f"tensor: cannot make a tensor from data of NumPy dtype {a.dtype}; expected numbers, "
        "booleans, nested lists of them, or a NumPy array of a supported dtype"
    )


def _to_array(data, dtype=None, device=None, copy=True):
    device = backend.as_device(device)
    if isinstance(data, Tensor):
        arr = data._data
        if dtype is not None:
            arr = arr.astype(dtypes.as_dtype(dtype).np)
        elif copy:
            arr = arr.copy()
        return backend.to_device(arr, device)
    if backend.is_array(data) and not isinstance(data, np.ndarray):  # a CuPy array
        arr = data.astype(dtypes.as_dtype(dtype).np) if dtype is not None else data.copy()
        return backend.to_device(arr, device)
    if isinstance(data, str) or data is None:
        raise TypeError(f"tensor: expected numbers or nested lists of numbers, received {type(data).__name__}")
    src = _flatten_tensors(data)
    try:
        a = np.array(src)
    except ValueError as e:
        raise ValueError(f"tensor: the nested lists have uneven lengths ({e})") from None
    if a.dtype == object:
        raise TypeError("tensor: expected numbers or nested lists of numbers of equal lengths")
    d = dtypes.as_dtype(dtype) if dtype is not None else _infer_dtype(a, data)
    a = a.astype(d.np, copy=False) if a.dtype != d.np else (a.copy() if a is src or copy and a is data else a)
    return backend.to_device(a, device)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, a NumPy array …).

    Python floats become the default dtype (float32), ints int64, bools bool; NumPy arrays
    keep their dtype. Example: ``ember.tensor([[1., 2.], [3., 4.]], requires_grad=True)``
    """
    t = Tensor._make(_to_array(data, dtype, device))
    if requires_grad:
        t.requires_grad = True
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but without a copy when ``data`` is already a tensor or array of the
    right dtype and device."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (dtype or device) else data
    if isinstance(data, np.ndarray) and dtype is None and backend.as_device(device).type == "cpu":
        return from_numpy(data)
    return Tensor._make(_to_array(data, dtype, device, copy=False))


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with NumPy array ``a``: a change to one shows in the other."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, received {type(a).__name__}")
    dtypes.from_numpy_dtype(a.dtype)
    return Tensor._make(a)


def from_dlpack(obj) -> Tensor:
    """A tensor sharing memory with any DLPack producer (NumPy, CuPy, PyTorch, JAX …)."""
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack: {type(obj).__name__} does not implement __dlpack__")
    arr = backend.from_dlpack(obj)
    dtypes.from_numpy_dtype(arr.dtype)
    return Tensor._make(arr)


def _shape(size, op):
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = tuple(size[0])
    out = []
    for n in size:
        if isinstance(n, Tensor):
            n = int(n)
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"{op}: sizes must be non-negative integers, received {tuple(size)}")
        out.append(int(n))
    return tuple(out)


def _float_dtype(dtype, op):
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    return d


def _make(arr_fn, dtype, device, requires_grad):
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
    shape, d = _shape(size, "zeros"), _float_dtype(dtype, "zeros")
    return _make(lambda xp: xp.zeros(shape, d.np), d, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ones."""
    shape, d = _shape(size, "ones"), _float_dtype(dtype, "ones")
    return _make(lambda xp: xp.ones(shape, d.np), d, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor."""
    shape, d = _shape(size, "empty"), _float_dtype(dtype, "empty")
    return _make(lambda xp: xp.empty(shape, d.np), d, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype follows the value when not given."""
    shape = _shape((size,) if isinstance(size, int) else tuple(size), "full")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes._scalar_dtype(fill_value)
    return _make(lambda xp: xp.full(shape, fill_value, d.np), d, device, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A 2-D tensor with ones on the diagonal."""
    n, m = _shape((n, n if m is None else m), "eye")
    d = _float_dtype(dtype, "eye")
    return _make(lambda xp: xp.eye(n, m, dtype=d.np), d, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (excluded) by ``step``; ints give int64, floats the
    default dtype."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise ValueError("arange: step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise ValueError(
            f"arange: the range from {vals[0]} to {vals[1]} is empty for step {vals[2]}; "
            "upper bound and lower bound are inconsistent with the step sign"
        )
    if dtype is None:
        d = dtypes.get_default_dtype() if any(isinstance(v, float) for v in vals) else dtypes.int64
    else:
        d = dtypes.as_dtype(dtype)
    n = int(np.ceil((vals[1] - vals[0]) / vals[2]))
    return _make(
        lambda xp: (vals[0] + xp.arange(n, dtype=np.float64) * vals[2]).astype(d.np)
        if d.is_floating_point else xp.arange(vals[0], vals[1], vals[2]).astype(d.np),
        d, device, requires_grad,
    )  # fmt: skip


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included)."""
    (steps,) = _shape((steps,), "linspace")
    d = _float_dtype(dtype, "linspace")
    return _make(lambda xp: xp.linspace(start, end, steps).astype(d.np), d, device, requires_grad)


def _random(op, size, dtype, device, requires_grad, draw):
    shape = _shape(size, op)
    d = _float_dtype(dtype, op)
    if not d.is_floating_point:
        raise TypeError(f"{op}: expected a floating-point dtype, received {d}")
    arr = draw(shape).astype(d.np, copy=False)
    device = backend.as_device(device)
    t = Tensor._make(backend.to_device(arr, device))
    if requires_grad:
        t.requires_grad = True
    return t


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform random numbers in [0, 1)."""
    rng = _rng(generator)
    return _random("rand", size, dtype, device, requires_grad, lambda s: rng.random(s))


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal random numbers."""
    rng = _rng(generator)
    return _random("randn", size, dtype, device, requires_grad, lambda s: rng.standard_normal(s))


def randint(low, high=None, size=None, generator=None, dtype=None, device=None) -> Tensor:
    """Random integers in [low, high): ``ember.randint(10, (3,))`` or ``randint(2, 10, (3,))``."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint: expected randint(low=0, high, size)")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: expected low < high, received low={low}, high={high}")
    shape = _shape(tuple(size), "randint")
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    arr = _rng(generator).integers(low, high, shape).astype(d.np)
    return Tensor._make(backend.to_device(arr, backend.as_device(device)))


def randperm(n: int, generator=None, dtype=None, device=None) -> Tensor:
    """A random permutation of 0 … n-1."""
    (n,) = _shape((n,), "randperm")
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    arr = _rng(generator).permutation(n).astype(d.np)
    return Tensor._make(backend.to_device(arr, backend.as_device(device)))


def _like(fn, x, dtype, device, requires_grad, *args):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn.__name__}_like: expected a Tensor, received {type(x).__name__}")
    return fn(*args, x.shape, dtype=dtype or x.dtype, device=device or x.device,
              requires_grad=requires_grad)  # fmt: skip


def zeros_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(zeros, input, dtype, device, requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(ones, input, dtype, device, requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(empty, input, dtype, device, requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"full_like: expected a Tensor, received {type(input).__name__}")
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)  # fmt: skip


def rand_like(input, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    return rand(input.shape, generator=generator, dtype=dtype or input.dtype,
                device=device or input.device, requires_grad=requires_grad)  # fmt: skip


def randn_like(input, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    return randn(input.shape, generator=generator, dtype=dtype or input.dtype,
                 device=device or input.device, requires_grad=requires_grad)  # fmt: skip


def randint_like(input, low, high=None, dtype=None, device=None) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype, device=device or input.device)
