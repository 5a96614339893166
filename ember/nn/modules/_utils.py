"""Helpers shared by the layers: argument tuples and the checks of a layer's input.

The messages name no layer: ``Module.__call__`` prefixes them with the layer's path and
configuration (``features.1 (Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1))): ...``).
"""

from __future__ import annotations

import numbers

from ember.amp import state as _amp
from ember.tensor import Tensor


def ntuple(value, n: int, name: str) -> tuple:
    """An int, or a sequence of ``n`` ints, as a tuple of ``n`` ints (PyTorch's ``_pair``)."""
    vals = tuple(value) if isinstance(value, (list, tuple)) else (value,) * n
    if len(vals) != n or not all(is_int(v) for v in vals):
        raise TypeError(f"expected {name} to be an int or a tuple of {n} ints, received {value!r}")
    return tuple(int(v) for v in vals)


def is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def positive_int(value, name: str) -> int:
    """``value`` if it is an int > 0, else the error Keras would give."""
    if not is_int(value) or value <= 0:
        raise ValueError(f"expected a positive integer, received {name}={value!r}")
    return int(value)


def non_negative_int(value, name: str) -> int:
    if not is_int(value) or value < 0:
        raise ValueError(f"expected a non-negative integer, received {name}={value!r}")
    return int(value)


def shape_of(x: Tensor) -> tuple:
    return tuple(x.shape)


def check_tensor_input(x, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"expected {name} to be a Tensor, received {type(x).__name__}")
    return x


def check_like(x: Tensor, like: Tensor | None) -> None:
    """``x`` must be floating, of the dtype and on the device of the layer's ``like`` (its
    weight), since the layer's math does not convert either."""
    if not x.is_floating_point():
        want = f" of dtype {like.dtype.name}" if like is not None else ""
        raise RuntimeError(
            f"expected a floating-point input{want}, received {x.dtype.name} with shape "
            f"{shape_of(x)}; convert it with .float()"
        )
    if like is None:
        return
    # under autocast, the ops cast their operands themselves (ember.amp)
    if x.dtype is not like.dtype and not _amp.on:
        raise RuntimeError(
            f"expected input of dtype {like.dtype.name} (the dtype of the layer's parameters), "
            f"received {x.dtype.name}; convert the input with .to({like.dtype.name}) or the "
            f"layer with .to(ember.{x.dtype.name})"
        )
    if x.device != like.device:
        raise RuntimeError(
            f"expected input on {like.device} (the device of the layer's parameters), received "
            f"an input on {x.device}; move one of them with .to()"
        )


def check_channels(x: Tensor, channels: int, name: str, batched_ndim: int) -> None:
    """Dim 1 of a batched input (dim 0 of an unbatched one, ``batched_ndim - 1`` dims) must
    hold ``channels``."""
    dim = 1 if x.ndim == batched_ndim else 0
    if x.shape[dim] != channels:
        raise RuntimeError(
            f"expected input with {channels} channels ({name}) in dim {dim}, received shape "
            f"{shape_of(x)}"
        )
