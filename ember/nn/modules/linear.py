"""ember.nn layers: Identity and Linear."""

from __future__ import annotations

import math

import numpy as np

from ember import creation, kernels
from ember.amp import state as _amp
from ember.nn import functional as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.modules._utils import check_like, check_tensor_input, non_negative_int, shape_of
from ember.nn.parameter import Parameter
from ember.ops.nn import Linear as LinearOp
from ember.tensor import Tensor

__all__ = ["Identity", "Linear"]

_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Identity(Module):
    """Returns its input unchanged; its arguments are ignored (so it can stand in for any
    layer)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """``y = x @ weight.T + bias``.

    in_features, out_features: sizes of the last dim of the input and of the output.
    weight: (out_features, in_features), bias: (out_features,), both drawn from
    U(-1/sqrt(in_features), 1/sqrt(in_features)) as in PyTorch.
    Input (*, in_features) -> output (*, out_features).

    Example::

        fc = nn.Linear(784, 10)
        logits = fc(ember.randn(32, 784))  # (32, 10)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:  # fmt: skip
        super().__init__()
        self.in_features = non_negative_int(in_features, "in_features")
        self.out_features = non_negative_int(out_features, "out_features")
        self.weight = Parameter(
            creation.empty((out_features, in_features), dtype=dtype, device=device)
        )
        if bias:
            self.bias = Parameter(creation.empty((out_features,), dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_ with a=sqrt(5) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        p = self._parameters
        w, b = p.get("weight"), p.get("bias")
        d = getattr(input, "_data", None)
        if (  # the common case, checked lean: straight to the fused op
            type(input) is Tensor
            and w is not None
            and type(d) is np.ndarray
            and d.ndim >= 1
            and d.shape[-1] == self.in_features
            and d.dtype is w._data.dtype
            and d.dtype in _FUSED_DTYPES
            and type(w._data) is np.ndarray
            and w.ndim == 2
            and (b is None or b._data.dtype is d.dtype)
            and kernels.enabled()
            and not _amp.on
        ):
            kernels.taken["linear"] += 1
            return LinearOp.apply(input, w, b)
        check_tensor_input(input)
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise RuntimeError(
                f"expected input with last dimension {self.in_features} (in_features), "
                f"received shape {shape_of(input)}"
            )
        check_like(input, self.weight)
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
