"""Small helpers shared by the op families."""

from __future__ import annotations

import numbers

from ember import dtypes
from ember.tensor import Tensor


def tensor_method(fn=None, *, name: str | None = None):
    """Also make the decorated function a Tensor method: ``@tensor_method def exp(input)``
    gives ``ember.exp(x)`` and ``x.exp()``."""

    def attach(f):
        setattr(Tensor, name or f.__name__, f)
        return f

    return attach(fn) if fn is not None else attach


def check_tensor(x, op: str, arg: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected {arg} to be a Tensor, received {type(x).__name__}")
    return x


def is_number(x) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, Tensor)


def promote(op: str, *operands, dtype=None):
    """Cast tensor operands to their common result type (PyTorch's promotion); Python
    numbers stay as they are (NumPy treats them as weakly typed, as PyTorch does).
    Returns the operands and the result dtype."""
    if not any(isinstance(x, Tensor) for x in operands):
        raise TypeError(
            f"{op}: expected at least one Tensor, received {[type(x).__name__ for x in operands]}"
        )
    for x in operands:
        if not isinstance(x, Tensor) and not is_number(x):
            raise TypeError(
                f"{op}: expected Tensors or Python numbers, received {type(x).__name__}"
            )
    dt = dtypes.result_type(*operands) if dtype is None else dtype
    out = tuple(x.to(dt) if isinstance(x, Tensor) and x.dtype is not dt else x for x in operands)
    return out, dt
