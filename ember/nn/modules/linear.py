"""ember.nn layers: Identity and Linear."""

from __future__ import annotations

import math

import numpy as np

from ember import creation
from ember.nn import functional as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.modules._utils import check_like, check_tensor_input, non_negative_int, shape_of
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["Identity", "Linear"]


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
        w, b = self._parameters.get("weight"), self._parameters.get("bias")
        if w is None:  # (weight set as a plain attribute, not a parameter)
            w, b = self.weight, self.bias
        d = getattr(input, "_data", None)
        if not (  # the common case, checked lean: a NumPy batch of the weight's dtype
            type(input) is Tensor
            and type(d) is np.ndarray
            and type(w._data) is np.ndarray
            and d.dtype is w._data.dtype
            and d.ndim >= 1
            and d.shape[-1] == self.in_features
        ):
            check_tensor_input(input)
            if input.ndim == 0 or input.shape[-1] != self.in_features:
                raise RuntimeError(
                    f"expected input with last dimension {self.in_features} (in_features), "
                    f"received shape {shape_of(input)}"
                )
            check_like(input, w)
        return F.linear(input, w, b)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
