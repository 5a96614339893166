"""Weight initialisers, as ``torch.nn.init``.

Each fills a tensor in place (without recording it for autograd, so a Parameter can be
initialised), draws from ember's default generator unless a ``generator`` is given, and
returns the tensor::

    w = nn.Parameter(ember.empty(128, 784))
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ember import backend
from ember.autograd.grad_mode import no_grad
from ember.random import _rng
from ember.tensor import Tensor

__all__ = [
    "calculate_gain", "constant_", "dirac_", "eye_", "kaiming_normal_", "kaiming_uniform_",
    "normal_", "ones_", "orthogonal_", "sparse_", "trunc_normal_", "uniform_", "xavier_normal_",
    "xavier_uniform_", "zeros_",
]  # fmt: skip

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")  # fmt: skip


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + negative_slope**2)) for leaky_relu (``param`` is the
    slope, 0.01 by default), 3/4 for selu.

    Example: ``nn.init.calculate_gain("leaky_relu", 0.2)``
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope must be a number, received {param!r}")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        # PyTorch's empirical value; self-normalising networks should use "linear" instead
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
        f"{', '.join(_LINEAR)}, tanh, relu, leaky_relu, selu"
    )


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple:
    """(fan_in, fan_out) of a weight (out, in, *kernel): in * prod(kernel), out * prod(kernel)."""
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, "
            f"received shape {tuple(tensor.shape)}"
        )
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported, expected 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# ---------------------------------------------------------------- writing
def _check(tensor, op: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor, received {type(tensor).__name__}")
    return tensor


def _set(tensor: Tensor, values) -> Tensor:
    """Write NumPy ``values`` (of the tensor's shape) into it, outside autograd."""
    arr = backend.to_device(np.asarray(values).astype(tensor._data.dtype), tensor.device)
    with no_grad():
        tensor._data[...] = arr
        tensor._vc[0] += 1
    return tensor


def _empty(tensor: Tensor, op: str) -> bool:
    if tensor.numel() == 0:
        warnings.warn(f"{op}: initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


# ---------------------------------------------------------------- plain distributions
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with values drawn from U(a, b)."""
    _check(tensor, "uniform_")
    return _set(tensor, _rng(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with values drawn from N(mean, std**2)."""
    _check(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, received {std}")
    return _set(tensor, _rng(generator).normal(mean, std, tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:  # fmt: skip
    """Fill with values drawn from N(mean, std**2) restricted to [a, b] (``a`` and ``b`` are
    absolute bounds, not multiples of ``std``)."""
    _check(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, received a={a}, b={b}")
    if std < 0:
        raise ValueError(f"trunc_normal_: std must be non-negative, received {std}")
    if std == 0:
        if not a <= mean <= b:
            raise ValueError(f"trunc_normal_: with std=0, mean={mean} must lie in [{a}, {b}]")
        return constant_(tensor, mean)
    p = 0.5 * (
        math.erf((b - mean) / (std * math.sqrt(2))) - math.erf((a - mean) / (std * math.sqrt(2)))
    )
    if p < 1e-4:
        raise ValueError(
            f"trunc_normal_: [{a}, {b}] holds only a fraction {p:.3g} of N({mean}, {std}**2), "
            "too little to sample by rejection; move the bounds closer to the mean"
        )
    rng = _rng(generator)
    n = tensor.numel()
    out = np.empty(n)
    filled = 0
    # rejection: each round draws enough that it usually fills the rest at once
    while filled < n:
        draw = rng.normal(mean, std, int((n - filled) / p * 1.05) + 16)
        kept = draw[(draw >= a) & (draw <= b)][: n - filled]
        out[filled : filled + kept.size] = kept
        filled += kept.size
    out = out.reshape(tensor.shape)
    return _set(tensor, out)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    _check(tensor, "constant_")
    with no_grad():
        tensor._data[...] = val
        tensor._vc[0] += 1
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the diagonal, rectangular allowed)."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(
            f"eye_: only tensors with 2 dimensions are supported, received shape "
            f"{tuple(tensor.shape)}"
        )
    return _set(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta, so the convolution
    keeps as many input channels as it can (in each of ``groups`` groups)."""
    _check(tensor, "dirac_")
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(
            f"dirac_: only tensors with 3, 4, or 5 dimensions are supported, received shape "
            f"{tuple(tensor.shape)}"
        )
    out_total = tensor.shape[0]
    if not isinstance(groups, int) or groups <= 0 or out_total % groups:
        raise ValueError(
            f"dirac_: dim 0 (size {out_total}) must be divisible by groups, received {groups!r}"
        )
    per_group = out_total // groups
    n = min(per_group, tensor.shape[1])
    values = np.zeros(tensor.shape)
    d = np.arange(n)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        values[(g * per_group + d, d) + centre] = 1
    return _set(tensor, values)


# ---------------------------------------------------------------- scaled by the fans
def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    _check(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:  # fmt: skip
    """He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan), where fan is fan_in or
    fan_out (``mode``) and gain is ``calculate_gain(nonlinearity, a)``. Linear and Conv
    layers use ``a=math.sqrt(5)``, which gives bound = 1 / sqrt(fan_in)."""
    _check(tensor, "kaiming_uniform_")
    if _empty(tensor, "kaiming_uniform_"):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:  # fmt: skip
    """He normal: N(0, std**2) with std = gain / sqrt(fan)."""
    _check(tensor, "kaiming_normal_")
    if _empty(tensor, "kaiming_normal_"):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times ``gain``: the tensor seen as
    (size(0), numel / size(0)) has orthonormal rows or columns, whichever are fewer."""
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(
            f"orthogonal_: only tensors with 2 or more dimensions are supported, received shape "
            f"{tuple(tensor.shape)}"
        )
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    a = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        a = a.T
    q, r = np.linalg.qr(a)
    # the signs of R's diagonal make the factorisation unique, so q is uniformly distributed
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _set(tensor, gain * q.reshape(tensor.shape))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """Fill a 2-D tensor with N(0, std**2) values and zero a fraction ``sparsity`` of each
    column (at random rows)."""
    _check(tensor, "sparse_")
    if tensor.ndim != 2:
        raise ValueError(
            f"sparse_: only tensors with 2 dimensions are supported, received shape "
            f"{tuple(tensor.shape)}"
        )
    rows, cols = tensor.shape
    rng = _rng(generator)
    values = rng.normal(0.0, std, (rows, cols))
    n_zeros = math.ceil(sparsity * rows)
    order = np.argsort(rng.random((rows, cols)), axis=0)[:n_zeros]
    values[order, np.arange(cols)] = 0
    return _set(tensor, values)
